"""Grouping face vectors into identities: average-linkage agglomerative clustering with cannot-link constraints.

Pure numpy over L2-normalised vectors; it knows no person, camera or threshold of its own: the caller says which
cluster-to-cluster similarity is enough (`accept`, a decision) and which pairs may never end up together (two faces
of one photo, an operator's "not this one"), and may start from clusters already fixed (an operator's merge).

Average linkage (the mean similarity of every pair across two clusters) resists the chaining of single linkage,
where one ambiguous face bridges two people. It is computed with the nearest-neighbour chain, O(n²) time and
memory: average linkage is reducible (a merged cluster is never closer to a third than the closer of its parts),
so the chain finds the same merges as the textbook O(n³) loop, and a cluster whose nearest neighbour is not
accepted can be retired for good. Cannot-link pairs get a similarity far below any threshold; averaging keeps a
merged cluster far from everything either part could not join, so constraints propagate through merges.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

FORBIDDEN = -1.0e6  # a cannot-link pair's similarity: far below any threshold, even averaged with n others
STATUS_QUO = 1.0e-4  # added to pairs already together (`current`): breaks ties in favour of what is, changes no real choice


def average_linkage(vectors: np.ndarray, accept: Callable[[float], bool], *, cannot_link: Iterable[tuple[int, int]] = (),
                    initial: Iterable[Iterable[int]] = (), current=None) -> list[list[int]]:
    """Clusters of row indices of `vectors` (n × d, L2-normalised): two clusters merge while their average
    similarity is accepted. `cannot_link`: index pairs never in one cluster. `initial`: groups of indices that start
    merged (they may still grow). `current`: a label per row (None: none), the clusters as they are now; pairs
    sharing a label get a tiny bonus, so that equal choices (the same face twice) keep the present grouping.
    Returns every cluster (singletons too), each sorted, largest first."""
    n = len(vectors)
    if n == 0:
        return []
    x = np.asarray(vectors, dtype=np.float32)
    sim = x @ x.T
    if current is not None:
        labels = np.array([-1 if label is None else label for label in current], dtype=np.int64)
        together = (labels[:, None] == labels[None, :]) & (labels[:, None] >= 0)
        sim[together] += STATUS_QUO
    for i, j in cannot_link:
        if i != j:
            sim[i, j] = sim[j, i] = FORBIDDEN
    np.fill_diagonal(sim, -np.inf)
    sizes = np.ones(n, dtype=np.float64)
    members: dict[int, list[int]] = {i: [i] for i in range(n)}
    alive = np.ones(n, dtype=bool)

    def merge(a: int, b: int) -> None:
        row = (sizes[a] * sim[a].astype(np.float64) + sizes[b] * sim[b].astype(np.float64)) / (sizes[a] + sizes[b])
        sim[a, :] = row
        sim[:, a] = row
        sim[a, a] = -np.inf
        sim[b, :] = -np.inf
        sim[:, b] = -np.inf
        sizes[a] += sizes[b]
        members[a].extend(members.pop(b))
        alive[b] = False

    for group in initial:
        group = list(group)
        for other in group[1:]:
            if alive[other] and alive[group[0]] and other != group[0]:
                merge(group[0], other)

    finished: list[list[int]] = []
    chain: list[int] = []
    remaining = int(alive.sum())
    while remaining > 0:
        if not chain:
            chain.append(int(np.flatnonzero(alive)[0]))
        a = chain[-1]
        b = int(np.argmax(sim[a]))
        best = float(sim[a, b])
        if not np.isfinite(best) or not accept(best):
            # Nothing will come closer to `a` (reducibility): it is final. Only the chain's first link can get here,
            # since each later link was pushed as an accepted nearest neighbour of the one before it.
            chain.pop()
            finished.append(sorted(members.pop(a)))
            alive[a] = False
            sim[a, :] = -np.inf
            sim[:, a] = -np.inf
            remaining -= 1
            chain.clear()
            continue
        if len(chain) > 1 and (b == chain[-2] or sim[a, chain[-2]] >= best):
            previous = chain[-2]
            del chain[-2:]
            merge(previous, a)
            remaining -= 1
            continue
        chain.append(b)
    finished.sort(key=lambda c: (-len(c), c[0]))
    return finished


def blocks(vectors: np.ndarray, threshold: float, *, together: Iterable[Iterable[int]] = (),
           max_elements: int = 1 << 26) -> list[list[int]]:
    """Row indices of `vectors` (n × d, L2-normalised) in blocks that average linkage at `threshold` can never
    join: the connected components of the graph whose edges are the pairs with similarity ≥ `threshold` (and the
    groups in `together`, which start merged). Two clusters merge only if their *mean* similarity is accepted, so
    some pair across them reaches the threshold: every cluster lies inside one block, and clustering each block
    alone gives what clustering all of them at once would, in memory quadratic in the largest block instead of in n.

    The similarities are computed a slab of rows at a time (each slab at most `max_elements` floats, 256 MB by
    default) against the rows after it, so n² is computed once and never held. Blocks are sorted, largest first."""
    x = np.asarray(vectors, dtype=np.float32)
    n = len(x)
    parent = np.arange(n)

    def roots(indices: np.ndarray) -> np.ndarray:
        found = parent[indices]
        while True:  # pointer jumping: every root is its own parent
            up = parent[found]
            if np.array_equal(up, found):
                return found
            found = up

    def join(indices) -> None:
        """Put every index given in one component (the smallest root becomes the others' parent)."""
        tops = np.unique(roots(np.asarray(indices, dtype=np.int64)))
        if len(tops) > 1:
            parent[tops] = tops[0]

    for group in together:
        join(list(group))
    step = max(1, min(n, max_elements // max(1, n)))
    for start in range(0, n, step):
        stop = min(n, start + step)
        # This slab against itself and every later row; the pairs that reach the threshold are few (a face's own
        # person's other faces), so they are listed once and joined row by row.
        rows, cols = np.nonzero((x[start:stop] @ x[start:].T) >= threshold)
        rows, cols = rows + start, cols + start
        later = cols > rows
        rows, cols = rows[later], cols[later]
        if len(rows):
            cuts = np.flatnonzero(np.diff(rows)) + 1  # np.nonzero lists them row by row
            for row, others in zip(rows[np.r_[0, cuts]].tolist(), np.split(cols, cuts)):
                join(np.concatenate(([row], others)))
    labels = roots(np.arange(n))
    found: dict[int, list[int]] = {}
    for i, label in enumerate(labels.tolist()):
        found.setdefault(label, []).append(i)
    return sorted(found.values(), key=lambda block: (-len(block), block[0]))

"""The periodic re-clustering of unknown sightings: merges groups that arrived apart, splits those that drifted
together, and keeps group ids stable.

Every sighting of nobody enrolled (of the active model; the most recent SWEEP_MAX_SIGHTINGS) is clustered afresh
with average linkage (recognition.clustering), merging while the decision "same unknown" at the 1:1 policy accepts
the mean similarity of two clusters (enrollment.unknowns.same_unknown_policy). Average linkage needs the similarity
matrix of what it clusters (n² floats), so the sightings are first cut into blocks no cluster can span
(clustering.blocks: the pairs that reach the threshold, connected) and each block is clustered alone, which gives
the same clusters in memory quadratic in the largest block. A block larger than SWEEP_MAX_BLOCK (one person seen
thousands of times, or a threshold so low that everything connects) has its most recent SWEEP_MAX_BLOCK sightings
re-clustered and its older ones left in the groups they have. Constraints:
- two faces of one photo, or of two tracks seen at once by one camera, never share a cluster;
- an operator's "not this group" (SightingExclusion pairs) keeps the two sightings apart;
- sightings an operator placed (a merge: `pinned`) start together and stay together; two groups of pinned sightings
  never merge with each other.

Stable ids: each new cluster takes the id of the previous group it overlaps most (largest overlap first, each old id
used once); the rest get new ids, and old groups left without a sighting are deleted. Runs under a transaction-level
advisory lock, so two sweeps (two nodes) never interleave.
"""
from __future__ import annotations

import time
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass

import numpy as np
from django.db import connection, transaction

from recognition import clustering

from . import decision
from .identification import current_embedding_model
from .models import Sighting, SightingExclusion, UnknownGroup
from .unknowns import same_unknown_policy

SWEEP_MAX_SIGHTINGS = 100_000  # read at once: their vectors at the model's width (128 floats: 51 MB) and ids
SWEEP_MAX_BLOCK = 8000  # clustered at once: the similarity matrix is n² float32, 8,000 sightings take 256 MB
LOCK_KEY = 0x5EE9_0001


@dataclass
class SweepResult:
    sightings: int = 0
    groups_before: int = 0
    groups_after: int = 0
    ids_kept: int = 0
    groups_created: int = 0
    groups_removed: int = 0
    sightings_moved: int = 0
    blocks: int = 0  # clustered apart (no cluster can span two)
    largest_block: int = 0
    sightings_left: int = 0  # of blocks above SWEEP_MAX_BLOCK: their older sightings, left in their groups
    seconds: float = 0.0

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Row:
    id: object
    frame_key: str
    camera_id: object
    seen_at: object
    until: object
    group_id: int | None
    pinned: bool


def cannot_link_pairs(rows: list[Row], apart: list[tuple]) -> list[tuple[int, int]]:
    """Index pairs that may never share a cluster: same photo, simultaneous tracks of one camera, different pinned
    groups, an operator's exclusions (`apart`: pairs of sighting ids)."""
    pairs: list[tuple[int, int]] = []
    by_frame: dict[str, list[int]] = defaultdict(list)
    by_camera: dict[object, list[int]] = defaultdict(list)
    pinned: dict[int, list[int]] = defaultdict(list)
    for i, row in enumerate(rows):
        if row.frame_key:
            by_frame[row.frame_key].append(i)
        if row.camera_id:
            by_camera[row.camera_id].append(i)
        if row.pinned and row.group_id is not None:
            pinned[row.group_id].append(i)
    for same in by_frame.values():
        pairs.extend((a, b) for k, a in enumerate(same) for b in same[k + 1:])
    for indices in by_camera.values():
        indices.sort(key=lambda i: rows[i].seen_at)
        for k, a in enumerate(indices):
            for b in indices[k + 1:]:
                if rows[b].seen_at > rows[a].until:
                    break
                pairs.append((a, b))
    groups = list(pinned.values())
    for k, first in enumerate(groups):
        for second in groups[k + 1:]:
            pairs.extend((a, b) for a in first for b in second)
    index = {row.id: i for i, row in enumerate(rows)}
    pairs.extend((index[a], index[b]) for a, b in apart if a in index and b in index)
    return pairs


def sweep(*, embedding_model: str | None = None) -> SweepResult:
    """Re-cluster the unknown sightings of `embedding_model` (default: the active one) and rewrite their groups."""
    started = time.perf_counter()
    model = embedding_model or current_embedding_model()
    result = SweepResult()
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_KEY])
        fields = ("id", "embedding", "frame_key", "camera_id", "seen_at", "until", "unknown_group_id", "pinned")
        raw = list(Sighting.objects.filter(person__isnull=True, embedding_model=model).order_by("-seen_at")
                   .values_list(*fields)[:SWEEP_MAX_SIGHTINGS])
        result.sightings = len(raw)
        if not raw:
            return result
        rows = [Row(r[0], *r[2:]) for r in raw]
        vectors = _model_width(np.asarray([r[1] for r in raw], dtype=np.float32))
        del raw
        unknown = {"person__isnull": True, "embedding_model": model}  # rows outside the ones read are ignored below
        apart = list(SightingExclusion.objects.filter(other__isnull=False, **{f"sighting__{k}": v for k, v in unknown.items()})
                     .values_list("sighting_id", "other_id"))
        pinned: dict[int, list[int]] = defaultdict(list)
        for i, row in enumerate(rows):
            if row.pinned and row.group_id is not None:
                pinned[row.group_id].append(i)
        policy = same_unknown_policy(model, 1)
        clusters = _cluster_in_blocks(vectors, rows, policy, cannot_link_pairs(rows, apart), list(pinned.values()), result)
        before = {row.group_id for row in rows if row.group_id is not None}
        result.groups_before = len(before)
        assigned = stable_ids(clusters, rows)
        changed = []
        for cluster, group_id in zip(clusters, assigned):
            for i in cluster:
                if rows[i].group_id != group_id:
                    changed.append(Sighting(id=rows[i].id, unknown_group_id=group_id))
        Sighting.objects.bulk_update(changed, ["unknown_group"], batch_size=1000)
        result.sightings_moved = len(changed)
        kept = set(assigned) & before
        result.ids_kept = len(kept)
        result.groups_created = len(set(assigned) - before)
        result.groups_after = len(set(assigned))
        result.groups_removed, _ = UnknownGroup.objects.filter(pk__in=before - kept, sightings__isnull=True).delete()
    result.seconds = round(time.perf_counter() - started, 3)
    return result


def _model_width(vectors: np.ndarray) -> np.ndarray:
    """The stored vectors without the zero padding to 512 (a 128-d model's): the same similarities, a quarter of
    the memory and of the arithmetic."""
    used = np.flatnonzero(np.any(vectors != 0, axis=0))
    return np.ascontiguousarray(vectors[:, : int(used[-1]) + 1]) if len(used) else vectors


def _cluster_in_blocks(vectors: np.ndarray, rows: list[Row], policy, cannot_link: list[tuple[int, int]],
                       pinned: list[list[int]], result: SweepResult) -> list[list[int]]:
    """Average linkage block by block (clustering.blocks); clusters as indices of `rows`, which are newest first."""
    accept = lambda score: decision.decide(score, policy).named  # noqa: E731
    # A pair already together gets STATUS_QUO added to its similarity, so an edge is what reaches the threshold with it.
    found = clustering.blocks(vectors, policy.threshold - clustering.STATUS_QUO, together=pinned)
    result.blocks = len(found)
    result.largest_block = max(len(block) for block in found)
    where = {}
    for b, block in enumerate(found):
        block.sort()  # newest first, as the rows are
        if len(block) > SWEEP_MAX_BLOCK:
            result.sightings_left += len(block) - SWEEP_MAX_BLOCK
            del block[SWEEP_MAX_BLOCK:]
        for local, i in enumerate(block):
            where[i] = (b, local)
    links: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for i, j in cannot_link:
        if i in where and j in where and where[i][0] == where[j][0]:
            links[where[i][0]].append((where[i][1], where[j][1]))
    starts: dict[int, list[list[int]]] = defaultdict(list)
    for group in pinned:
        kept = [where[i] for i in group if i in where]
        if kept:
            starts[kept[0][0]].append([local for _, local in kept])
    clusters: list[list[int]] = []
    for b, block in enumerate(found):
        if len(block) == 1:
            clusters.append(block)
            continue
        local = clustering.average_linkage(vectors[block], accept, cannot_link=links[b], initial=starts[b],
                                           current=[rows[i].group_id for i in block])
        clusters.extend([block[k] for k in cluster] for cluster in local)
    return clusters


def stable_ids(clusters: list[list[int]], rows: list[Row]) -> list[int]:
    """A group id per cluster: the id of the previous group it overlaps most, each old id used once (the largest
    overlap first; on a tie the older group); new groups for the rest."""
    overlaps = Counter()
    for c, cluster in enumerate(clusters):
        for i in cluster:
            if rows[i].group_id is not None:
                overlaps[(c, rows[i].group_id)] += 1
    chosen: dict[int, int] = {}
    used: set[int] = set()
    for (c, group_id), _ in sorted(overlaps.items(), key=lambda item: (-item[1], item[0][1], item[0][0])):
        if c not in chosen and group_id not in used:
            chosen[c] = group_id
            used.add(group_id)
    missing = [c for c in range(len(clusters)) if c not in chosen]
    if missing:
        created = UnknownGroup.objects.bulk_create([UnknownGroup() for _ in missing])
        chosen.update({c: group.pk for c, group in zip(missing, created)})
    return [chosen[c] for c in range(len(clusters))]

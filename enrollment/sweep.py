"""The periodic re-clustering of unknown sightings: merges groups that arrived apart, splits those that drifted
together, and keeps group ids stable.

Every sighting of nobody enrolled (of the active model; the most recent SWEEP_MAX_SIGHTINGS) is clustered afresh
with average linkage (recognition.clustering), merging while the decision "same unknown" at the 1:1 policy accepts
the mean similarity of two clusters (enrollment.unknowns.same_unknown_policy). Constraints:
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

SWEEP_MAX_SIGHTINGS = 8000  # the similarity matrix is n² float32: 8,000 sightings take 256 MB
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
        vectors = np.asarray([r[1] for r in raw], dtype=np.float32)
        ids = [row.id for row in rows]
        apart = list(SightingExclusion.objects.filter(other__isnull=False, sighting_id__in=ids).values_list("sighting_id", "other_id"))
        pinned: dict[int, list[int]] = defaultdict(list)
        for i, row in enumerate(rows):
            if row.pinned and row.group_id is not None:
                pinned[row.group_id].append(i)
        policy = same_unknown_policy(model, 1)
        clusters = clustering.average_linkage(
            vectors, lambda score: decision.decide(score, policy).named,
            cannot_link=cannot_link_pairs(rows, apart), initial=pinned.values(), current=[row.group_id for row in rows],
        )
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

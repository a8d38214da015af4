"""Unknown groups: the sightings of somebody nobody enrolled, gathered into persistent identities (`U-000123`).

"The same unknown" is a decision like every other (enrollment.decision): the operating point is the calibrated
1:1 policy of the active embedder at FACEAPP_UNKNOWN_PRESET (default `strict`: one comparison of two strangers'
faces in a thousand would pass), not a threshold of our own. A group is scored on the mean similarity of the new
face to its members (average linkage, as the sweep does, enrollment.sweep), and the policy is taken at the number
of groups compared: each candidate group is one more chance of a false merge.

A new sighting (`assign`) joins the best-scoring group that the decision accepts, or opens a new group. Never a
group holding a face of the same photo (`frame_key`) or of a track on the same camera at the same time, and never
a group an operator said it is not part of (SightingExclusion).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from django.conf import settings
from django.contrib.postgres.aggregates import ArrayAgg
from django.db.models import Count, Max, Min, Q, QuerySet

from . import decision, vectors
from .models import Sighting, SightingExclusion, UnknownGroup

CANDIDATE_ROWS = 64  # nearest grouped sightings looked at for a new one
CANDIDATE_GROUPS = 8  # of which the groups scored
MEMBERS_SCORED = 50  # a group is scored on its best-quality members, at most this many
BEST_SHOTS = 4


def same_unknown_policy(embedding_model: str, groups_compared: int = 1) -> decision.Policy:
    """The decision "same unknown", at FACEAPP_UNKNOWN_PRESET for `groups_compared` candidates (1:1 calibration)."""
    return decision.policy(embedding_model=embedding_model, gallery_size=max(1, groups_compared),
                           preset=settings.FACEAPP_UNKNOWN_PRESET, normalise=False)


def conflict(a, b) -> bool:
    """Two sightings (objects or rows with frame_key, camera_id, seen_at, until) that cannot be one identity:
    faces of one photo, or of two tracks seen at the same time by one camera."""
    if a.frame_key and a.frame_key == b.frame_key:
        return True
    return bool(a.camera_id and a.camera_id == b.camera_id and a.seen_at <= b.until and b.seen_at <= a.until)


@dataclass(frozen=True)
class Member:
    id: object
    embedding: np.ndarray
    frame_key: str
    camera_id: object
    seen_at: object
    until: object


def members_of(group_id, limit: int = MEMBERS_SCORED) -> list[Member]:
    rows = (Sighting.objects.filter(unknown_group_id=group_id).order_by("-quality")
            .values_list("id", "embedding", "frame_key", "camera_id", "seen_at", "until")[:limit])
    return [Member(r[0], np.asarray(r[1], dtype=np.float32), *r[2:]) for r in rows]


def assign(sighting: Sighting) -> UnknownGroup:
    """Put a sighting of nobody enrolled into its unknown group (a new one when none is accepted)."""
    excluded = excluded_groups(sighting.pk)
    vector = np.asarray(sighting.embedding, dtype=np.float32)
    grouped = Sighting.objects.filter(unknown_group__isnull=False, person__isnull=True).exclude(pk=sighting.pk)
    rows = vectors.nearest_rows(grouped, vector, embedding_model=sighting.embedding_model, fields=("unknown_group_id",),
                                limit=CANDIDATE_ROWS, ef_search=settings.FACEAPP_HNSW_EF_SEARCH)
    candidates: list = []
    for group_id, _ in rows:
        if group_id not in candidates and group_id not in excluded:
            candidates.append(group_id)
    candidates = candidates[:CANDIDATE_GROUPS]
    policy = same_unknown_policy(sighting.embedding_model, len(candidates))
    best = None
    for group_id in candidates:
        members = members_of(group_id)
        if not members or any(conflict(sighting, m) for m in members):
            continue
        score = float(np.mean([m.embedding @ vector for m in members]))
        if best is None or score > best[0]:
            best = (score, group_id)
    group = None
    if best is not None and decision.decide(best[0], policy).named:
        group = UnknownGroup.objects.filter(pk=best[1]).first()
    if group is None:
        group = UnknownGroup.objects.create()
    sighting.unknown_group = group
    sighting.save(update_fields=["unknown_group"])
    UnknownGroup.objects.filter(pk=group.pk).update(updated_at=group.updated_at)
    return group


def apart_from(sighting_id) -> set:
    """The sightings an operator said are not the same identity as this one (either way round)."""
    pairs = SightingExclusion.objects.filter(other__isnull=False)
    return (set(pairs.filter(sighting_id=sighting_id).values_list("other_id", flat=True))
            | set(pairs.filter(other_id=sighting_id).values_list("sighting_id", flat=True)))


def excluded_groups(sighting_id) -> set:
    others = apart_from(sighting_id)
    if not others:
        return set()
    return set(Sighting.objects.filter(pk__in=others, unknown_group__isnull=False).values_list("unknown_group_id", flat=True))


# --- Reading groups ----------------------------------------------------------------------------


def listed_groups(*, camera=None, since=None, until=None, min_sightings: int | None = None) -> QuerySet:
    """Unknown groups with at least `min_sightings` (default FACEAPP_UNKNOWN_MIN_SIGHTINGS), annotated with their
    count, first and last seen and cameras; most recently seen first."""
    minimum = settings.FACEAPP_UNKNOWN_MIN_SIGHTINGS if min_sightings is None else min_sightings
    queryset = summarised(UnknownGroup.objects.all()).filter(sightings_count__gte=minimum)
    if camera is not None:
        queryset = queryset.filter(sightings__camera_id=camera).distinct()
    if since is not None:
        queryset = queryset.filter(last_seen__gte=since)
    if until is not None:
        queryset = queryset.filter(first_seen__lte=until)
    return queryset.order_by("-last_seen", "-id")


def summarised(queryset: QuerySet) -> QuerySet:
    return queryset.annotate(
        sightings_count=Count("sightings", distinct=True), first_seen=Min("sightings__seen_at"),
        last_seen=Max("sightings__until"),
        camera_names=ArrayAgg("sightings__camera_name", distinct=True, default=[], filter=~Q(sightings__camera_name="")),
    )


def get_group(group_id) -> UnknownGroup:
    """The group (annotated as `summarised`), or UnknownGroupNotFound (404)."""
    from recognition.exceptions import NotFound

    group = summarised(UnknownGroup.objects.filter(pk=group_id)).first() if group_id is not None else None
    if group is None:
        raise NotFound(f"Unknown group {group_id} not found.")
    return group


def best_shots(group_id, limit: int = BEST_SHOTS) -> list[Sighting]:
    return list(Sighting.objects.filter(unknown_group_id=group_id).order_by("-quality", "-seen_at")[:limit])

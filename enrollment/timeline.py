"""A timeline: every sighting of one identity (an enrolled person or an unknown group), newest first, optionally of one
camera and within a time range (and by estimated attributes). The API (`GET /api/v1/people/<id>/sightings`,
`.../unknown-groups/U-…/sightings`) and the operator UI's timeline page read it here.
"""
from __future__ import annotations

import datetime as dt

from django.db.models import QuerySet

from . import estimates
from .models import Person, Sighting, UnknownGroup


def sightings_of(*, person: Person | None = None, group: UnknownGroup | None = None, camera=None,
                 since: dt.datetime | None = None, until: dt.datetime | None = None, **attribute_filters) -> QuerySet:
    """The identity's sightings (exactly one of `person`, `group`), newest first; `since`/`until` bound when each was
    seen (inclusive), `camera` is a camera's id."""
    if (person is None) == (group is None):
        raise ValueError("A timeline is of one person or of one unknown group.")
    sightings = Sighting.objects.filter(**({"person": person} if person is not None else {"unknown_group": group}))
    if camera:
        sightings = sightings.filter(camera_id=camera)
    if since:
        sightings = sightings.filter(seen_at__gte=since)
    if until:
        sightings = sightings.filter(seen_at__lte=until)
    sightings = estimates.filtered(sightings, **attribute_filters)
    return sightings.select_related("person").order_by("-seen_at", "-created_at")


def cameras_of(*, person: Person | None = None, group: UnknownGroup | None = None) -> list[tuple[str, str]]:
    """The cameras the identity was seen on, as (camera id, its name when last seen there), by name: the choices of
    the timeline's camera filter. One row per camera (PostgreSQL's DISTINCT ON)."""
    rows = (sightings_of(person=person, group=group).exclude(camera_id=None).order_by("camera_id", "-seen_at")
            .distinct("camera_id").values_list("camera_id", "camera_name"))
    return sorted(((str(camera_id), name) for camera_id, name in rows), key=lambda item: (item[1].lower(), item[0]))

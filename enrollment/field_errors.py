"""Recognition errors observed in the field: what operators corrected, counted over the kept sightings
(`manage.py evaluate --corrections`).

- **Observed false accepts**: recognised sightings an operator marked "not this person" (the person it was named
  as), including camera tracks corrected while still open (their sighting was never named: the runner obeyed).
- **Observed misses**: sightings kept as unknown that an operator later gave to a person enrolled *before* the face
  was seen (adding an unknown group to an existing person). A group enrolled as a new person is not a miss: nobody
  could have named it.

Corrections that were undone do not count. Sightings erased since (retention, erasure) leave the counts with them,
so that each share is over the same sightings. The counts are lower bounds: they are what operators noticed.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from faceapp.audit.models import Action, AuditEntry

from .models import Person, Sighting


@dataclass
class PlaceFigures:
    place: str  # a camera's name, "API key <name>" or "API"
    recognised: int = 0
    false_accepts: int = 0
    unknown: int = 0
    misses: int = 0

    @property
    def false_accept_share(self) -> float | None:
        return self.false_accepts / self.recognised if self.recognised else None

    @property
    def miss_share(self) -> float | None:
        return self.misses / self.unknown if self.unknown else None


@dataclass
class FieldErrors:
    places: list[PlaceFigures]
    total: PlaceFigures
    groups_given_to_people: int = 0  # unknown groups added to a person enrolled before some of their sightings
    groups_enrolled: int = 0  # unknown groups enrolled as new people (not misses)
    since: dt.datetime | None = None
    notes: list[str] = field(default_factory=list)


def _live(entries, undone: set[int]) -> list[AuditEntry]:
    return [e for e in entries if e.pk not in undone]


def field_errors(*, since: dt.datetime | None = None) -> FieldErrors:
    """The observed errors over the sightings kept now (seen since `since`, when given)."""
    sightings = Sighting.objects.all() if since is None else Sighting.objects.filter(seen_at__gte=since)
    undone = set()
    for undoes, also in AuditEntry.objects.filter(action=Action.UNDO).values_list("details__undoes", "details__also_undoes"):
        undone |= {undoes, also} - {None}  # (also: a sighting's part of a camera event's correction)
    not_person = _live(AuditEntry.objects.filter(action=Action.SIGHTING_NOT_PERSON, details__was_theirs=True), undone)
    rejected_ids = {e.target_id for e in not_person}
    open_tracks = _live(AuditEntry.objects.filter(action=Action.EVENT_NOT_PERSON, details__was_theirs=True,
                                                  details__track_open=True), undone)
    open_event_ids = {e.target_id for e in open_tracks}

    given = _live(AuditEntry.objects.filter(action=Action.GROUP_ADD_TO_PERSON), undone)
    enrolled_since = {str(p): c for p, c in Person.objects.filter(pk__in={e.details.get("person_id") for e in given})
                      .values_list("pk", "created_at")}
    missed_ids, groups_with_misses = set(), 0
    for entry in given:
        created = enrolled_since.get(entry.details.get("person_id"))
        ids = entry.details.get("sighting_ids", [])
        if created is None or not ids:
            continue
        missed = set(str(i) for i in sightings.filter(pk__in=ids, seen_at__gte=created).values_list("pk", flat=True))
        missed_ids |= missed
        groups_with_misses += bool(missed)

    by_place: dict[str, PlaceFigures] = {}
    rows = sightings.values_list("pk", "camera_name", "api_key_name", "verdict", "event_id")
    for pk, camera_name, api_key_name, verdict, event_id in rows.iterator(chunk_size=5000):
        place = camera_name or (f"API key {api_key_name}" if api_key_name else "API")
        figures = by_place.setdefault(place, PlaceFigures(place))
        if verdict == "named" or str(event_id) in open_event_ids:
            figures.recognised += 1
            figures.false_accepts += str(pk) in rejected_ids or str(event_id) in open_event_ids
        else:
            figures.unknown += 1
            figures.misses += str(pk) in missed_ids
    total = PlaceFigures("all sources")
    for figures in by_place.values():
        for name in ("recognised", "false_accepts", "unknown", "misses"):
            setattr(total, name, getattr(total, name) + getattr(figures, name))
    enrolments = AuditEntry.objects.filter(action=Action.GROUP_ENROL)
    enrolled = _live(enrolments if since is None else enrolments.filter(at__gte=since), undone)
    return FieldErrors(places=sorted(by_place.values(), key=lambda f: f.place), total=total, since=since,
                       groups_given_to_people=groups_with_misses, groups_enrolled=len(enrolled))

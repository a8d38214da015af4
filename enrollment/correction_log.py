"""The recent corrections and edits that can still be undone, for the pages that offer *Undo* beside them: a person's
(edits of them, groups given to them, sightings and groups said not to be them), an unknown group's (merges, faces
that left it or joined it, "not this person"), a camera event's (videostreams). Read from the audit log; an entry
already undone, of an action that cannot be undone (an erasure), or recorded before undoing it was possible is left
out. Each entry comes with `summary`, a line saying what it did, for the page.
"""
from __future__ import annotations

from django.db.models import Q

from faceapp.audit.models import Action, AuditEntry

from .identity_undo import EDITS
from .models import Person
from .undo import HANDLERS

LIMIT = 10
# What an entry must hold for its undo (entries recorded before undo existed lack it).
NEEDS = {Action.PERSON_MERGE: "person", Action.GROUP_MERGE: "merged_sightings", Action.SIGHTING_NOT_GROUP: "apart_from",
         Action.GROUP_ENROL: "sighting_ids", Action.GROUP_ADD_TO_PERSON: "sighting_ids", Action.GROUP_NOT_PERSON: "excluded"}
GIVEN_TO_PERSON = (Action.GROUP_ENROL, Action.GROUP_ADD_TO_PERSON, Action.SIGHTING_NOT_PERSON, Action.GROUP_NOT_PERSON)


def of_person(person_id, limit: int = LIMIT) -> list[AuditEntry]:
    """The edits that touched the person (kept, split from, moved to or from) and the corrections that gave them an
    unknown group or said a sighting or group is not them, newest first."""
    pid = str(person_id)
    edits = Q(action__in=EDITS) & (Q(target_type="person", target_id=pid) | Q(details__from_person=pid)
                                   | Q(details__to_person=pid) | Q(details__new_person=pid))
    corrections = Q(action__in=GIVEN_TO_PERSON, details__person_id=pid)
    return _undoable(AuditEntry.objects.filter(edits | corrections), limit)


def of_group(label: str, limit: int = LIMIT) -> list[AuditEntry]:
    """The corrections of an unknown group (`U-000123`): merges into it, "not this person", faces that left it or
    joined it ("not this group"), newest first."""
    own = Q(action__in=(Action.GROUP_MERGE, Action.GROUP_NOT_PERSON), target_type="unknown_group", target_id=label)
    faces = Q(action=Action.SIGHTING_NOT_GROUP) & (Q(details__unknown_group=label) | Q(details__joined=label))
    return _undoable(AuditEntry.objects.filter(own | faces), limit)


def of_target(target_type: str, target_id, actions, limit: int = LIMIT) -> list[AuditEntry]:
    """The undoable corrections of one object (a camera event: videostreams.corrections), newest first."""
    return _undoable(AuditEntry.objects.filter(target_type=target_type, target_id=str(target_id), action__in=actions), limit)


def _undoable(entries, limit: int) -> list[AuditEntry]:
    # A sighting's part of a camera event's correction is undone with the event (videostreams), not on its own.
    entries = list(entries.filter(action__in=list(HANDLERS))
                   .exclude(action=Action.SIGHTING_NOT_PERSON, details__has_key="event_id").order_by("-id")[: limit * 2])
    undone = set(AuditEntry.objects.filter(action=Action.UNDO, details__undoes__in=[e.pk for e in entries])
                 .values_list("details__undoes", flat=True))
    kept = [e for e in entries if e.pk not in undone and _recorded_for_undo(e)][:limit]
    names = {str(pk): name for pk, name in Person.objects.filter(
        pk__in={e.details["person_id"] for e in kept if e.details.get("person_id")}).values_list("id", "name")}
    for entry in kept:
        entry.summary = summary(entry, names)
    return kept


def _recorded_for_undo(entry: AuditEntry) -> bool:
    needed = NEEDS.get(entry.action)
    return needed is None or needed in entry.details


def summary(entry: AuditEntry, names: dict[str, str]) -> str:
    """What the entry did, in a line: its action and what it concerned."""
    d, action = entry.details, entry.action
    who = names.get(d.get("person_id", ""), "a deleted person")
    detail = {
        Action.PERSON_MERGE: d.get("merged_name", ""),
        Action.GROUP_MERGE: f"{d.get('merged', '')} into {entry.target_id}",
        Action.SIGHTING_NOT_GROUP: f"a face left {d.get('unknown_group', '')} for {d.get('joined', '')}",
        Action.SIGHTING_NOT_PERSON: f"a sighting is not {who}",
        Action.GROUP_NOT_PERSON: f"{entry.target_id} is not {who}",
        Action.GROUP_ENROL: f"{entry.target_id} became {who}",
        Action.GROUP_ADD_TO_PERSON: f"{entry.target_id} added to {who}",
        Action.EVENT_NOT_PERSON: f"not {who}",
    }.get(action, "")
    label = Action(action).label if action in Action.values else action
    return f"{label} ({detail})" if detail else label

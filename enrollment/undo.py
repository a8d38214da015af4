"""Undoing an operator's correction, from its audit entry (which records what the correction changed).

Undoable (nothing was erased): merging two unknown groups, "not this group", "not this person" on a sighting,
enrolling an unknown group as a person or adding it to one (the faces it gave are deleted, its sightings go back to
a group with the old id; a person made from the group is deleted when nothing else is theirs), and the edits of
enrolled people: merge, split, move (enrollment.identity_undo). Not undoable: erasing (the data is gone). An undo that
can no longer be done whole is refused (NotUndoable), never done in part. Each undo is audited and refers to the entry it undid; an
entry is undone at most once.
"""
from __future__ import annotations

from django.db import transaction

from faceapp.audit.log import Actor, record
from faceapp.audit.models import Action, AuditEntry
from recognition.exceptions import Conflict, NotFound

from . import identity_undo
from .identity_undo import NotUndoable, undoable_edits_of_person  # noqa: F401 (part of this module's interface)
from .models import Face, Person, Sighting, SightingExclusion, UnknownGroup


def undo(entry_id, *, actor: Actor | None = None) -> AuditEntry:
    """Undo the correction of audit entry `entry_id`; returns the undo's own entry."""
    entry = AuditEntry.objects.filter(pk=entry_id).first()
    if entry is None:
        raise NotFound(f"No audit entry {entry_id}.")
    handler = HANDLERS.get(entry.action)
    if handler is None:
        raise NotUndoable(f"A '{entry.get_action_display()}' cannot be undone.")
    with transaction.atomic():
        if AuditEntry.objects.select_for_update().filter(action=Action.UNDO, details__undoes=entry.pk).exists():
            raise Conflict("This correction was undone already.")
        summary = handler(entry.details, entry)
        return record(actor, Action.UNDO, target_type=entry.target_type, target_id=entry.target_id, undoes=entry.pk,
                      undone=entry.action, **summary)


def _group_with_id(group_id: int) -> UnknownGroup:
    group, _ = UnknownGroup.objects.get_or_create(pk=group_id)
    return group


def _undo_merge(details: dict, entry) -> dict:
    if "merged_sightings" not in details:
        raise NotUndoable("This merge was recorded without what undoing it needs.")
    merged = _group_with_id(details["merged_id"])
    moved = Sighting.objects.filter(pk__in=details["merged_sightings"], unknown_group_id=details["group_id"]).update(
        unknown_group=merged)
    both = Sighting.objects.filter(unknown_group_id__in=[details["group_id"], merged.pk])
    both.exclude(pk__in=details["pinned_before"]).update(pinned=False)
    return {"restored": merged.label, "sightings": moved}


def _undo_not_group(details: dict, entry) -> dict:
    if "apart_from" not in details:
        raise NotUndoable("This correction was recorded without what undoing it needs.")
    sighting = Sighting.objects.filter(pk=entry.target_id).first()
    if sighting is None:
        raise NotFound("The sighting is gone (retention or erasure).")
    SightingExclusion.objects.filter(sighting=sighting, other_id__in=details["apart_from"]).delete()
    if UnknownGroup.objects.filter(pk=details["group_id"]).exists() and sighting.person_id is None:
        sighting.unknown_group_id = details["group_id"]
        sighting.save(update_fields=["unknown_group"])
    return {"unknown_group": details["unknown_group"]}


def _undo_not_person(details: dict, entry) -> dict:
    sighting = Sighting.objects.filter(pk=entry.target_id).first()
    person = Person.objects.filter(pk=details["person_id"]).first()
    if sighting is None or person is None:
        raise NotFound("The sighting or the person is gone.")
    SightingExclusion.objects.filter(sighting=sighting, person=person).delete()
    if details.get("was_theirs") and sighting.person_id is None:
        sighting.person = person
        sighting.unknown_group = None
        sighting.save(update_fields=["person", "unknown_group"])
    return {"person_id": str(person.id)}


def _undo_group_to_person(details: dict, entry) -> dict:
    if "sighting_ids" not in details:
        raise NotUndoable("This correction was recorded without what undoing it needs.")
    group = _group_with_id(unknowns_label_id(entry.target_id))
    back = Sighting.objects.filter(pk__in=details["sighting_ids"], person_id=details["person_id"]).update(
        person=None, unknown_group=group)
    removed = 0
    for face in Face.objects.filter(pk__in=details["face_ids"]):
        face.delete()  # (files on commit: enrollment.signals)
        removed += 1
    person_deleted = False
    if entry.action == Action.GROUP_ENROL:
        person = Person.objects.filter(pk=details["person_id"]).first()
        if person is not None and not person.faces.exists() and not person.sightings.exists():
            person.delete()
            person_deleted = True
    return {"restored": group.label, "sightings": back, "faces_deleted": removed, "person_deleted": person_deleted}


def unknowns_label_id(label: str) -> int:
    from .models import parse_label

    number = parse_label(label)
    if number is None:
        raise NotUndoable(f"Not an unknown group: {label}.")
    return number


HANDLERS = {
    Action.GROUP_MERGE: _undo_merge,
    Action.SIGHTING_NOT_GROUP: _undo_not_group,
    Action.SIGHTING_NOT_PERSON: _undo_not_person,
    Action.GROUP_ENROL: _undo_group_to_person,
    Action.GROUP_ADD_TO_PERSON: _undo_group_to_person,
    **identity_undo.HANDLERS,
}


def register(action: str, handler) -> None:
    """An app above this one (videostreams) offers the undo of its own corrections: handler(details, entry) -> summary,
    raising NotUndoable when it can no longer be done whole."""
    HANDLERS[action] = handler

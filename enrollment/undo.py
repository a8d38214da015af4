"""Undoing an operator's correction, from its audit entry (which records what the correction changed).

Undoable (nothing was erased): merging two unknown groups, "not this group", "not this person" on a sighting or on a
group (the exclusions it added are forgotten), enrolling an unknown group as a person or adding it to one (the faces
it gave are deleted, its sightings go back to a group with the old id; a person made from the group is deleted when
nothing else is theirs), and the edits of enrolled people: merge, split, move (enrollment.identity_undo). Not
undoable: erasing (the data is gone). An undo that can no longer be done whole (what the correction moved was
corrected or moved since) is refused (NotUndoable) with the reason, never done in part. Each undo is audited and
refers to the entry it undid; an entry is undone at most once. The pages that offer *Undo* list the entries through
enrollment.correction_log.
"""
from __future__ import annotations

from django.db import transaction

from faceapp.audit.log import Actor, record
from faceapp.audit.models import Action, AuditEntry
from recognition.exceptions import Conflict, NotFound

from . import identity_undo
from .identity_undo import NotUndoable  # noqa: F401 (part of this module's interface)
from .models import Face, Person, Sighting, SightingExclusion, UnknownGroup, label_of


class NoSuchEntry(NotFound):
    """The audit entry named does not exist (as against something it changed being gone since)."""


def undo(entry_id, *, actor: Actor | None = None) -> AuditEntry:
    """Undo the correction of audit entry `entry_id`; returns the undo's own entry."""
    entry = AuditEntry.objects.filter(pk=entry_id).first()
    if entry is None:
        raise NoSuchEntry(f"No audit entry {entry_id}.")
    handler = HANDLERS.get(entry.action)
    if handler is None:
        raise NotUndoable(f"A '{entry.get_action_display()}' cannot be undone.")
    with transaction.atomic():
        if AuditEntry.objects.select_for_update().filter(action=Action.UNDO, details__undoes=entry.pk).exists():
            raise Conflict("This correction was undone already.")
        summary = handler(entry.details, entry)
        return record(actor, Action.UNDO, target_type=entry.target_type, target_id=entry.target_id, undoes=entry.pk,
                      undone=entry.action, **summary)


def drop_if_empty(group_id) -> None:
    """The unknown group a corrected face had joined goes when the undo takes its only face back (as the retention
    job would delete it), so that the undo leaves the groups as they were."""
    if group_id is not None:
        UnknownGroup.objects.filter(pk=group_id, sightings__isnull=True).delete()


def _group_with_id(group_id: int) -> UnknownGroup:
    group, _ = UnknownGroup.objects.get_or_create(pk=group_id)
    return group


def _undo_merge(details: dict, entry) -> dict:
    if "merged_sightings" not in details:
        raise NotUndoable("This merge was recorded without what undoing it needs.")
    kept = label_of(details["group_id"])
    if Sighting.objects.filter(pk__in=details["merged_sightings"]).exclude(unknown_group_id=details["group_id"]).exists():
        raise NotUndoable(f"Some faces this merge put in {kept} were corrected or moved since (they are no longer in "
                          f"{kept}): it cannot be undone whole.")
    merged = _group_with_id(details["merged_id"])
    moved = Sighting.objects.filter(pk__in=details["merged_sightings"], unknown_group_id=details["group_id"]).update(
        unknown_group=merged)
    both = Sighting.objects.filter(unknown_group_id__in=[details["group_id"], merged.pk])
    both.exclude(pk__in=details["pinned_before"]).update(pinned=False)
    return {"restored": merged.label, "sightings": moved}


def _undo_not_group(details: dict, entry) -> dict:
    if "apart_from" not in details:
        raise NotUndoable("This correction was recorded without what undoing it needs.")
    sighting = Sighting.objects.select_related("person").filter(pk=entry.target_id).first()
    if sighting is None:
        raise NotFound("The sighting is gone (retention or erasure).")
    if sighting.person_id is not None:
        raise NotUndoable(f"The face is {sighting.person.name}'s since: it cannot go back to {details['unknown_group']}.")
    if not UnknownGroup.objects.filter(pk=details["group_id"]).exists():
        raise NotUndoable(f"{details['unknown_group']} is gone since (enrolled, merged or erased): the face cannot go back to it.")
    SightingExclusion.objects.filter(sighting=sighting, other_id__in=details["apart_from"]).delete()
    joined = sighting.unknown_group_id
    sighting.unknown_group_id = details["group_id"]
    sighting.save(update_fields=["unknown_group"])
    drop_if_empty(joined)
    return {"unknown_group": details["unknown_group"]}


def _undo_not_person(details: dict, entry) -> dict:
    if details.get("event_id"):
        raise NotUndoable(f"This was part of \"not this person\" on camera event {details['event_id']}: undo that correction.")
    sighting = Sighting.objects.select_related("person").filter(pk=entry.target_id).first()
    person = Person.objects.filter(pk=details["person_id"]).first()
    if sighting is None or person is None:
        raise NotFound("The sighting or the person is gone.")
    if details.get("was_theirs") and sighting.person_id not in (None, person.id):
        raise NotUndoable(f"The sighting is {sighting.person.name}'s since: it cannot be named {person.name} again.")
    SightingExclusion.objects.filter(sighting=sighting, person=person).delete()
    named = bool(details.get("was_theirs") and sighting.person_id is None)
    if named:
        joined = sighting.unknown_group_id
        sighting.person = person
        sighting.unknown_group = None
        sighting.save(update_fields=["person", "unknown_group"])
        drop_if_empty(joined)
    return {"person_id": str(person.id), "named_again": named}


def _undo_group_not_person(details: dict, entry) -> dict:
    if "excluded" not in details:
        raise NotUndoable("This correction was recorded without what undoing it needs.")
    person = Person.objects.filter(pk=details["person_id"]).first()
    if person is None:
        raise NotUndoable("The person is gone since (and with them what this correction said).")
    forgotten, _ = SightingExclusion.objects.filter(sighting_id__in=details["excluded"], person=person).delete()
    return {"person_id": str(person.id), "forgotten": forgotten}


def _undo_group_to_person(details: dict, entry) -> dict:
    if "sighting_ids" not in details:
        raise NotUndoable("This correction was recorded without what undoing it needs.")
    person = Person.objects.filter(pk=details["person_id"]).first()
    if person is None:
        raise NotUndoable("The person the group was given to is gone since (deleted or merged): it cannot be undone.")
    if Sighting.objects.filter(pk__in=details["sighting_ids"]).exclude(person=person).exists():
        raise NotUndoable(f"Some sightings the group gave {person.name} were corrected since (they are no longer "
                          f"{person.name}'s): it cannot be undone whole.")
    if Face.objects.filter(pk__in=details["face_ids"]).exclude(person=person).exists():
        raise NotUndoable(f"Some faces the group gave {person.name} were moved to somebody else since: it cannot be undone whole.")
    group = _group_with_id(unknowns_label_id(entry.target_id))
    back = Sighting.objects.filter(pk__in=details["sighting_ids"], person=person).update(person=None, unknown_group=group)
    removed = 0
    for face in Face.objects.filter(pk__in=details["face_ids"], person=person):
        face.delete()  # (files on commit: enrollment.signals)
        removed += 1
    person_deleted = False
    if entry.action == Action.GROUP_ENROL and not person.faces.exists() and not person.sightings.exists():
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
    Action.GROUP_NOT_PERSON: _undo_group_not_person,
    **identity_undo.HANDLERS,
}


def register(action: str, handler) -> None:
    """An app above this one (videostreams) offers the undo of its own corrections: handler(details, entry) -> summary,
    raising NotUndoable when it can no longer be done whole."""
    HANDLERS[action] = handler

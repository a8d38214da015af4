"""Undoing edits of enrolled people (enrollment.identity_edits), from their audit entries; used by enrollment.undo.

- a move: the face goes back to the person it came from;
- a split: the faces go back; the split-off person is deleted when nothing else is theirs;
- a merge: the merged-away person comes back (same id and details) with their faces, sightings, "not this person"
  exclusions, watchlists and camera events (videostreams moves those back through `person_unmerged`).

All or nothing: when what the edit moved has changed since (a face deleted or moved on, a sighting corrected, the
person gone, their e-mail taken), the undo is refused with NotUndoable and nothing changes.
"""
from __future__ import annotations

import datetime as dt

from faceapp.audit.models import Action, AuditEntry
from recognition.exceptions import FaceAppError

from .identity_edits import PERSON_FIELDS, gallery_changed, person_unmerged
from .models import Face, Person, Sighting, SightingExclusion, Watchlist

EDITS = (Action.PERSON_MERGE, Action.PERSON_SPLIT, Action.FACE_MOVE)


class NotUndoable(FaceAppError):
    error_code = "not_undoable"


def _person(person_id, what: str) -> Person:
    person = Person.objects.filter(pk=person_id).first()
    if person is None:
        raise NotUndoable(f"The {what} ({person_id}) is gone since: this edit cannot be undone.")
    return person


def _faces_still_of(face_ids: list, person: Person):
    faces = Face.objects.filter(pk__in=face_ids)
    if faces.filter(person=person).count() != len(set(face_ids)):
        raise NotUndoable(f"Some faces this edit moved were deleted or moved again since (they are no longer {person.name}'s).")
    return faces


def _holds_nothing(person: Person) -> bool:
    """No face, sighting, exclusion or any other row points at the person (camera events included, generically)."""
    if SightingExclusion.objects.filter(person=person).exists():
        return False
    for relation in Person._meta.related_objects:
        if relation.one_to_many and relation.related_model.objects.filter(**{relation.field.name: person}).exists():
            return False
    return True


def undo_move(details: dict, entry: AuditEntry) -> dict:
    back_to = _person(details["from_person"], "person the face came from")
    now_of = _person(details["to_person"], "person the face went to")
    faces = _faces_still_of([entry.target_id], now_of)
    faces.update(person=back_to)
    gallery_changed()
    return {"face_id": entry.target_id, "person_id": str(back_to.id)}


def undo_split(details: dict, entry: AuditEntry) -> dict:
    original = _person(entry.target_id, "person split")
    split_off = _person(details["new_person"], "split-off person")
    faces = _faces_still_of(details["faces"], split_off)
    faces.update(person=original)
    deleted = _holds_nothing(split_off)
    if deleted:
        split_off.delete()
    gallery_changed()
    return {"person_id": str(original.id), "faces": len(details["faces"]), "split_off_deleted": deleted}


def undo_merge(details: dict, entry: AuditEntry) -> dict:
    if "person" not in details:
        raise NotUndoable("This merge was recorded without what undoing it needs.")
    target = _person(entry.target_id, "person kept")
    if Person.objects.filter(pk=details["merged"]).exists():
        raise NotUndoable("The merged-away person exists again.")
    fields = {f: details["person"].get(f) for f in PERSON_FIELDS}
    for unique in ("email", "external_id"):
        if fields[unique] and Person.objects.filter(**{unique: fields[unique]}).exists():
            raise NotUndoable(f"Their {unique.replace('_', ' ')} {fields[unique]} is somebody else's since.")
    faces = _faces_still_of(details["face_ids"], target)
    sightings = Sighting.objects.filter(pk__in=details["sighting_ids"])
    if sightings.exclude(person=target).exists():
        raise NotUndoable("Some sightings this merge moved were corrected since (they are no longer the kept person's).")
    fields["birthdate"] = dt.date.fromisoformat(fields["birthdate"]) if fields["birthdate"] else None
    restored = Person.objects.create(pk=details["merged"], **{**fields, "metadata": fields["metadata"] or {}})
    Person.objects.filter(pk=restored.pk).update(created_at=dt.datetime.fromisoformat(details["person"]["created_at"]))
    faces.update(person=restored)
    back = sightings.update(person=restored)  # (those erased since by retention are gone, as they would be anyway)
    SightingExclusion.objects.filter(pk__in=details["exclusion_ids"], person=target).update(person=restored)
    restored.watchlists.set(Watchlist.objects.filter(pk__in=details["watchlists"]))
    target.watchlists.remove(*Watchlist.objects.filter(pk__in=details["watchlists_added"]))
    person_unmerged.send(sender=Person, restored=restored, target=target, moved=details.get("moved", {}))
    gallery_changed()
    return {"restored": str(restored.id), "faces": len(details["face_ids"]), "sightings": back}


HANDLERS = {Action.PERSON_MERGE: undo_merge, Action.PERSON_SPLIT: undo_split, Action.FACE_MOVE: undo_move}


"""Edits of enrolled identities: merge two people, split some of a person's faces into a new person, move a face.
Each is one transaction and one audit entry.

A person's camera events follow a merge through the `person_merged` signal (videostreams listens: imports go
downwards only), so that deleting the merged-away person erases nothing that is now the other's. Sightings and the
operators' "not this person" exclusions follow too (an exclusion of either person holds for the merged one).
Each edit's audit entry records what undoing it needs (enrollment.identity_undo).
"""
from __future__ import annotations

from django.db import transaction
from django.dispatch import Signal

from faceapp.audit.log import Actor, record
from faceapp.audit.models import Action
from recognition.exceptions import FaceAppError, NotFound

from . import decision, services
from .models import Face, Person, Sighting, SightingExclusion

# Sent with source=<the person merged away>, target=<the person kept>, before the deletion; a receiver returns a dict
# of what it moved (kept in the audit entry, for undo).
person_merged = Signal()
# Sent when a merge is undone, with restored=<the person back>, target=<the person kept>, moved=<the receivers' dicts>.
person_unmerged = Signal()

PERSON_FIELDS = ("name", "email", "birthdate", "external_id", "metadata")


class NotApplicable(FaceAppError):
    error_code = "not_applicable"


def gallery_changed() -> None:
    from faceapp import broadcast

    decision.forget_cached()
    transaction.on_commit(lambda: broadcast.publish("gallery"))


def merge_people(target: Person, other: Person, *, actor: Actor | None = None) -> Person:
    """`other` is `target`: their faces, sightings, exclusions and camera events become `target`'s; `other` is gone."""
    if target.pk == other.pk:
        raise NotApplicable("A person cannot be merged with themselves.")
    with transaction.atomic():
        # What moves is recorded (ids, and the other's details) so that the merge can be undone (enrollment.undo).
        face_ids = _ids(Face.objects.filter(person=other))
        sighting_ids = _ids(Sighting.objects.filter(person=other))
        exclusion_ids = _ids(SightingExclusion.objects.filter(person=other))
        Face.objects.filter(pk__in=face_ids).update(person=target)
        Sighting.objects.filter(pk__in=sighting_ids).update(person=target)
        SightingExclusion.objects.filter(pk__in=exclusion_ids).update(person=target)
        moved = {}
        for _, answer in person_merged.send(sender=Person, source=other, target=target):
            moved.update(answer or {})
        watchlists = _ids(other.watchlists.all())
        already = set(_ids(target.watchlists.all()))
        added = [w for w in watchlists if w not in already]
        target.watchlists.add(*other.watchlists.all())
        person = {f: getattr(other, f) for f in PERSON_FIELDS}
        person.update(birthdate=other.birthdate.isoformat() if other.birthdate else None, created_at=other.created_at.isoformat())
        record(actor, Action.PERSON_MERGE, target_type="person", target_id=target.id, merged=str(other.id),
               merged_name=other.name, faces=len(face_ids), sightings=len(sighting_ids), person=person, face_ids=face_ids,
               sighting_ids=sighting_ids, exclusion_ids=exclusion_ids, watchlists=watchlists, watchlists_added=added,
               moved=moved)
        Person.objects.filter(pk=other.pk).delete()
        gallery_changed()
    return target


def _ids(queryset) -> list[str]:
    return [str(i) for i in queryset.values_list("pk", flat=True)]


def split_person(person: Person, face_ids: list, *, name: str, actor: Actor | None = None, **fields) -> Person:
    """Some of `person`'s faces are somebody else: a new person (`name`, optional details) with those faces."""
    wanted = set(str(i) for i in face_ids)
    faces = list(Face.objects.filter(person=person, id__in=list(wanted)))
    if not faces or len(faces) != len(wanted):
        raise NotFound(f"Give face ids of person {person.id} to split off.")
    if len(faces) == person.faces.count():
        raise NotApplicable("Splitting every face off leaves nobody: rename the person instead.")
    with transaction.atomic():
        new = services.create_person(name=name, **fields)
        Face.objects.filter(pk__in=[f.pk for f in faces]).update(person=new)
        record(actor, Action.PERSON_SPLIT, target_type="person", target_id=person.id, new_person=str(new.id),
               faces=[str(f.id) for f in faces])
        record(actor, Action.PERSON_CREATE, target_type="person", target_id=new.id, source=f"split from {person.id}")
        gallery_changed()
    return new


def move_face(face: Face, to: Person, *, actor: Actor | None = None) -> Face:
    """The face is `to`'s, not its person's. A person's last face may move (they are left without faces)."""
    if face.person_id == to.pk:
        raise NotApplicable("The face is already this person's.")
    with transaction.atomic():
        source = face.person_id
        Face.objects.filter(pk=face.pk).update(person=to)
        record(actor, Action.FACE_MOVE, target_type="face", target_id=face.id, from_person=str(source), to_person=str(to.id))
        gallery_changed()
    face.person = to
    return face

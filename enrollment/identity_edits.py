"""Edits of enrolled identities: merge two people, split some of a person's faces into a new person, move a face.
Each is one transaction and one audit entry.

A person's camera events follow a merge through the `person_merged` signal (videostreams listens: imports go
downwards only), so that deleting the merged-away person erases nothing that is now the other's. Sightings and the
operators' "not this person" exclusions follow too (an exclusion of either person holds for the merged one).
"""
from __future__ import annotations

from django.db import transaction
from django.dispatch import Signal

from faceapp.audit.log import Actor, record
from faceapp.audit.models import Action
from recognition.exceptions import FaceAppError, NotFound

from . import decision, services
from .models import Face, Person, Sighting, SightingExclusion

person_merged = Signal()  # sent with source=<the person merged away>, target=<the person kept>, before the deletion


class NotApplicable(FaceAppError):
    error_code = "not_applicable"


def _gallery_changed() -> None:
    from faceapp import broadcast

    decision.forget_cached()
    transaction.on_commit(lambda: broadcast.publish("gallery"))


def merge_people(target: Person, other: Person, *, actor: Actor | None = None) -> Person:
    """`other` is `target`: their faces, sightings, exclusions and camera events become `target`'s; `other` is gone."""
    if target.pk == other.pk:
        raise NotApplicable("A person cannot be merged with themselves.")
    with transaction.atomic():
        faces = Face.objects.filter(person=other).update(person=target)
        sightings = Sighting.objects.filter(person=other).update(person=target)
        SightingExclusion.objects.filter(person=other).update(person=target)
        person_merged.send(sender=Person, source=other, target=target)
        target.watchlists.add(*other.watchlists.all())
        record(actor, Action.PERSON_MERGE, target_type="person", target_id=target.id, merged=str(other.id),
               merged_name=other.name, faces=faces, sightings=sightings)
        Person.objects.filter(pk=other.pk).delete()
        _gallery_changed()
    return target


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
        _gallery_changed()
    return new


def move_face(face: Face, to: Person, *, actor: Actor | None = None) -> Face:
    """The face is `to`'s, not its person's. A person's last face may move (they are left without faces)."""
    if face.person_id == to.pk:
        raise NotApplicable("The face is already this person's.")
    with transaction.atomic():
        source = face.person_id
        Face.objects.filter(pk=face.pk).update(person=to)
        record(actor, Action.FACE_MOVE, target_type="face", target_id=face.id, from_person=str(source), to_person=str(to.id))
        _gallery_changed()
    face.person = to
    return face

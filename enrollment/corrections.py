"""Operators' corrections on sightings and unknown groups, each in the audit log:

- enrol an unknown group as a new person, or add it to an existing one: its best faces become the person's faces
  (through the enrolment path, duplicate check included) and its sightings become theirs;
- "not this person" on a sighting (it leaves the person and joins an unknown group) or on a whole group;
- "not this group" on a sighting (it leaves the group and is kept apart from every face the group held);
- merge two unknown groups (their sightings are pinned together: sweeps keep them so);
- erase an unknown group (its sightings, vectors and crops).

What an operator said is remembered (SightingExclusion, `pinned`), so that neither the next sweep nor a later
assignment undoes it (tests/enrollment/test_corrections.py re-sweeps after each).
"""
from __future__ import annotations

import datetime as dt

import numpy as np
from django.db import transaction

from faceapp.audit.log import Actor, record
from faceapp.audit.models import Action
from recognition.exceptions import Conflict, FaceAppError

from . import services, unknowns
from .models import Person, Sighting, SightingExclusion, UnknownGroup

FACES_FROM_GROUP = 5  # the best faces of a group that become the person's faces


class NotApplicable(FaceAppError):
    error_code = "not_applicable"


class ExcludedPerson(Conflict):
    error_code = "marked_not_this_person"


def sample_from_sighting(sighting: Sighting) -> services.FaceSample:
    with sighting.crop.open("rb") as crop:
        crop_jpeg = crop.read()
    return services.FaceSample(
        embedding=np.asarray(sighting.embedding, dtype=np.float32), embedding_model=sighting.embedding_model,
        crop_jpeg=crop_jpeg, box=sighting.box, landmarks=[], quality=sighting.quality_details,
        source=f"sighting:{sighting.id}",
    )


def _faces_of(group: UnknownGroup, faces: int) -> list[services.FaceSample]:
    return [sample_from_sighting(s) for s in unknowns.best_shots(group.pk, limit=faces)]


def _give_group_to(group: UnknownGroup, person: Person) -> list[str]:
    """The group's sightings become `person`'s; the group is gone. Returns the sightings' ids (for undo)."""
    ids = [str(i) for i in Sighting.objects.filter(unknown_group=group).values_list("id", flat=True)]
    Sighting.objects.filter(unknown_group=group).update(person=person, unknown_group=None, pinned=False)
    UnknownGroup.objects.filter(pk=group.pk).delete()  # (the instance keeps its id for the audit entry)
    return ids


def enrol_group(group_id, *, name: str, birthdate: dt.date | None = None, email: str | None = None,
                external_id: str | None = None, faces: int = FACES_FROM_GROUP, actor: Actor | None = None) -> Person:
    """A new person from an unknown group: its `faces` best faces become theirs, its sightings too."""
    group = unknowns.get_group(group_id)
    samples = _faces_of(group, faces)
    with transaction.atomic():
        person = services.create_person(name=name, birthdate=birthdate, email=email, external_id=external_id)
        record(actor, Action.PERSON_CREATE, target_type="person", target_id=person.id, source=f"unknown group {group.label}")
        faces = services.add_faces(person, samples, actor=actor)
        moved = _give_group_to(group, person)
        record(actor, Action.GROUP_ENROL, target_type="unknown_group", target_id=group.label, person_id=str(person.id),
               sightings=len(moved), faces=len(samples), sighting_ids=moved, face_ids=[str(f.id) for f in faces])
    return person


def add_group_to_person(group_id, person: Person, *, faces: int = FACES_FROM_GROUP, actor: Actor | None = None) -> Person:
    """An unknown group is somebody enrolled: its best faces join theirs (duplicate check of enrolment), its
    sightings become theirs. Refused when an operator said one of its sightings is not this person."""
    group = unknowns.get_group(group_id)
    if SightingExclusion.objects.filter(sighting__unknown_group=group, person=person).exists():
        raise ExcludedPerson(f"Some sightings of {group.label} were marked as not {person.name}.")
    samples = _faces_of(group, faces)
    with transaction.atomic():
        faces = services.add_faces(person, samples, actor=actor)
        moved = _give_group_to(group, person)
        record(actor, Action.GROUP_ADD_TO_PERSON, target_type="unknown_group", target_id=group.label,
               person_id=str(person.id), sightings=len(moved), faces=len(samples), sighting_ids=moved,
               face_ids=[str(f.id) for f in faces])
    return person


def not_person(sighting: Sighting, *, person: Person | None = None, actor: Actor | None = None, event_id=None) -> Sighting:
    """The sighting is not `person` (default: the person it was named as): remembered; it joins an unknown group.
    `event_id`: the camera event whose correction this is part of (undone with it, videostreams.corrections)."""
    person = person or sighting.person
    if person is None:
        raise NotApplicable("This sighting names nobody; say which person it is not (person_id).")
    with transaction.atomic():
        SightingExclusion.objects.get_or_create(sighting=sighting, person=person)
        was_theirs = sighting.person_id == person.id
        if was_theirs:
            sighting.person = None
            sighting.save(update_fields=["person"])
            unknowns.assign(sighting)
        record(actor, Action.SIGHTING_NOT_PERSON, target_type="sighting", target_id=sighting.id, person_id=str(person.id),
               was_theirs=was_theirs, **({"event_id": str(event_id)} if event_id else {}))
    return sighting


def group_not_person(group_id, person: Person, *, actor: Actor | None = None) -> UnknownGroup:
    """No sighting of the group is `person`: remembered per sighting (adding the group to them is then refused)."""
    group = unknowns.get_group(group_id)
    with transaction.atomic():
        ids = list(Sighting.objects.filter(unknown_group=group).values_list("id", flat=True))
        known = set(SightingExclusion.objects.filter(sighting_id__in=ids, person=person).values_list("sighting_id", flat=True))
        new = [i for i in ids if i not in known]
        SightingExclusion.objects.bulk_create([SightingExclusion(sighting_id=i, person=person) for i in new])
        record(actor, Action.GROUP_NOT_PERSON, target_type="unknown_group", target_id=group.label, person_id=str(person.id),
               sightings=len(ids), excluded=[str(i) for i in new])  # (its undo forgets only what it added)
    return group


def not_group(sighting: Sighting, *, actor: Actor | None = None) -> UnknownGroup:
    """The sighting does not belong to its unknown group: kept apart from every face the group holds (remembered,
    whatever the group's id becomes), it joins another group or a new one. Returns the group it joined."""
    group = sighting.unknown_group
    if group is None:
        raise NotApplicable("This sighting is in no unknown group.")
    with transaction.atomic():
        others = list(Sighting.objects.filter(unknown_group=group).exclude(pk=sighting.pk).values_list("id", flat=True))
        SightingExclusion.objects.bulk_create([SightingExclusion(sighting=sighting, other_id=o) for o in others])
        sighting.unknown_group = None
        sighting.pinned = False
        sighting.save(update_fields=["unknown_group", "pinned"])
        joined = unknowns.assign(sighting)
        record(actor, Action.SIGHTING_NOT_GROUP, target_type="sighting", target_id=sighting.id, unknown_group=group.label,
               joined=joined.label, group_id=group.pk, apart_from=[str(o) for o in others])
    return joined


def merge_groups(target_id, other_id, *, actor: Actor | None = None) -> UnknownGroup:
    """Two unknown groups are one person: `other`'s sightings join `target`, and all are pinned together. Refused
    when the two hold faces of one photo or of simultaneous tracks, or faces an operator kept apart."""
    target, other = unknowns.get_group(target_id), unknowns.get_group(other_id)
    if target.pk == other.pk:
        raise NotApplicable("A group cannot be merged with itself.")
    with transaction.atomic():
        first = list(Sighting.objects.filter(unknown_group=target))
        second = list(Sighting.objects.filter(unknown_group=other))
        if any(unknowns.conflict(a, b) for a in first for b in second):
            raise Conflict(f"{target.label} and {other.label} hold faces seen at the same time: they cannot be one person.")
        second_ids = {s.id for s in second}
        if any(unknowns.apart_from(s.id) & second_ids for s in first):
            raise Conflict(f"An operator said some faces of {target.label} and {other.label} are not the same person.")
        Sighting.objects.filter(unknown_group__in=[target, other]).update(unknown_group=target, pinned=True)
        UnknownGroup.objects.filter(pk=other.pk).delete()
        record(actor, Action.GROUP_MERGE, target_type="unknown_group", target_id=target.label, merged=other.label,
               sightings=len(first) + len(second), group_id=target.pk, merged_id=other.pk,
               merged_sightings=[str(s.id) for s in second], pinned_before=[str(s.id) for s in first + second if s.pinned])
    return unknowns.get_group(target.pk)


def erase_group(group_id, *, actor: Actor | None = None) -> int:
    """Erase an unknown group and every sighting of it (rows and vectors now, crops once the deletion commits)."""
    group = unknowns.get_group(group_id)
    with transaction.atomic():
        _, by_model = Sighting.objects.filter(unknown_group=group).delete()
        UnknownGroup.objects.filter(pk=group.pk).delete()
        deleted = by_model.get(Sighting._meta.label, 0)
        record(actor, Action.GROUP_DELETE, target_type="unknown_group", target_id=group.label, sightings_deleted=deleted)
    return deleted

"""Managing enrolled people, their faces and watchlists: what the integrator API's CRUD endpoints call.

Creating a person with a photo goes through `services.enrol_person`, adding photos through
`services.sample_from_image` + the face writer there: one enrolment path. Every change is audited.
Deleting a person or a face deletes its crop, thumbnail and source photo from storage once the
deletion commits (enrollment/signals.py): biometric data does not linger.
"""
from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery

from faceapp.audit.log import Actor, record
from faceapp.audit.models import Action
from recognition.exceptions import FaceAppError, NotFound, WatchlistNameTaken

from . import services
from .models import Face, Person, Watchlist

PERSON_FIELDS = ("name", "email", "birthdate", "external_id", "metadata")
PEOPLE_ORDERINGS = ("name", "-name", "created_at", "-created_at", "updated_at", "-updated_at")


# --- People ------------------------------------------------------------------------------------


def people(*, name: str = "", email: str = "", search: str = "", watchlist=None, ordering: str = "name") -> QuerySet:
    """People with their face count and first face's id; `search` matches part of the name or the email."""
    first_face = Face.objects.filter(person=OuterRef("pk")).order_by("created_at", "id").values("id")[:1]
    queryset = Person.objects.prefetch_related("watchlists").annotate(
        face_count=Count("faces", distinct=True), first_face_id=Subquery(first_face)
    )
    if search.strip():
        queryset = queryset.filter(Q(name__icontains=search.strip()) | Q(email__icontains=search.strip()))
    if name:
        queryset = queryset.filter(name__icontains=name)
    if email:
        queryset = queryset.filter(email=services.normalise_email(email))
    if watchlist is not None:
        queryset = queryset.filter(watchlists__id=watchlist)
    return queryset.order_by(ordering, "id")


def get_person(person_id) -> Person:
    person = people(ordering="name").filter(id=person_id).first()
    if person is None:
        raise NotFound(f"No person with id {person_id}.")
    return person


def create_person(*, image: bytes | None = None, image_name: str = "", face_index: int | None = None,
                  allow_duplicates: bool | None = None, watchlists=(), actor: Actor | None = None, **fields) -> Person:
    """A person with no face yet, or, given a photo, enrolled from it (its largest face or `face_index`)."""
    fields = _clean(fields)
    if image is not None:
        person = services.enrol_person(
            name=fields.pop("name"), birthdate=fields.pop("birthdate", None), image=image, image_name=image_name,
            face_index=face_index, allow_duplicates=allow_duplicates, watchlists=watchlists, actor=actor, **fields,
        )
        return get_person(person.id)
    with services.unique_fields():
        with transaction.atomic():
            _refuse_taken(fields)
            person = Person.objects.create(**fields)
            if watchlists:
                person.watchlists.set(watchlists)
            record(actor, Action.PERSON_CREATE, target_type="person", target_id=person.id, source="api")
    return get_person(person.id)


# What a full replacement (PUT) sets the fields it is not given to.
PERSON_BLANK = {"email": None, "birthdate": None, "external_id": None, "metadata": {}}


def update_person(person: Person, *, replace: bool = False, watchlists=None, actor: Actor | None = None, **fields) -> Person:
    """Change the given fields (PATCH), or with `replace` also clear those not given (PUT)."""
    if replace:
        fields = {**PERSON_BLANK, **fields}
        watchlists = [] if watchlists is None else watchlists
    fields = _clean(fields)
    with services.unique_fields():
        with transaction.atomic():
            _refuse_taken(fields, exclude=person.id)
            for field, value in fields.items():
                setattr(person, field, value)
            person.save()
            if watchlists is not None:
                person.watchlists.set(watchlists)
            changed = sorted(fields) + (["watchlists"] if watchlists is not None else [])
            record(actor, Action.PERSON_UPDATE, target_type="person", target_id=person.id, fields=changed)
    return get_person(person.id)


def delete_person(person: Person, *, actor: Actor | None = None) -> int:
    """Delete the person and every face of theirs (rows now, files on commit); returns the faces deleted."""
    with transaction.atomic():
        faces = person.faces.count()
        record(actor, Action.PERSON_DELETE, target_type="person", target_id=person.id, faces_deleted=faces)
        person.delete()
    return faces


def _clean(fields: dict) -> dict:
    fields = {k: v for k, v in fields.items() if k in PERSON_FIELDS}
    if "name" in fields:
        fields["name"] = fields["name"].strip()
    if "email" in fields:
        fields["email"] = services.normalise_email(fields["email"])
    if "external_id" in fields:
        fields["external_id"] = (fields["external_id"] or "").strip() or None
    return fields


def _refuse_taken(fields: dict, exclude=None) -> None:
    services.refuse_taken(email=fields.get("email"), external_id=fields.get("external_id"), exclude=exclude)


# --- Faces -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Photo:
    data: bytes
    name: str = ""


def faces_of(person: Person) -> QuerySet:
    return person.faces.order_by("created_at", "id")


def get_face(person: Person, face_id) -> Face:
    face = person.faces.filter(id=face_id).first()
    if face is None:
        raise NotFound(f"Person {person.id} has no face with id {face_id}.")
    return face


def add_faces(person: Person, photos: list[Photo], *, face_index: int | None = None, actor: Actor | None = None) -> list[Face]:
    """One face from each photo, all or none: a photo without a face (601) stores nothing."""
    samples = []
    for photo in photos:
        try:
            samples.append(services.sample_from_image(photo.data, source_name=photo.name, face_index=face_index))
        except FaceAppError as exc:
            if photo.name and len(photos) > 1:  # say which of the photos it is
                exc.message = f"{photo.name}: {exc.message}"
                exc.args = (exc.message,)
            raise
    faces = services.add_faces(person, samples, actor=actor)
    Person.objects.filter(id=person.id).update(updated_at=faces[-1].created_at)
    return faces


def face_by_id(face_id) -> Face:
    face = Face.objects.filter(id=face_id).first()
    if face is None:
        raise NotFound(f"No face with id {face_id}.")
    return face


FACE_IMAGES = ("thumbnail", "crop")


def open_face_image(face: Face, kind: str):
    """The face's stored thumbnail or crop (JPEG), opened for reading; 404 when the file is gone."""
    file = getattr(face, kind)
    if not file or not file.storage.exists(file.name):
        raise NotFound(f"The {kind} of face {face.id} is not stored.")
    return file.storage.open(file.name, "rb")


def delete_face(face: Face, *, actor: Actor | None = None) -> None:
    with transaction.atomic():
        record(actor, Action.FACE_DELETE, target_type="face", target_id=face.id, person_id=str(face.person_id))
        face.delete()


# --- Watchlists --------------------------------------------------------------------------------


def watchlists(*, name: str = "") -> QuerySet:
    queryset = Watchlist.objects.annotate(people_count=Count("people", distinct=True))
    if name:
        queryset = queryset.filter(name__icontains=name)
    return queryset.order_by("name", "id")


def get_watchlist(watchlist_id) -> Watchlist:
    watchlist = watchlists().filter(id=watchlist_id).first()
    if watchlist is None:
        raise NotFound(f"No watchlist with id {watchlist_id}.")
    return watchlist


def create_watchlist(*, name: str, description: str = "", people=(), actor: Actor | None = None) -> Watchlist:
    with services.unique_fields():
        with transaction.atomic():
            if Watchlist.objects.filter(name=name.strip()).exists():
                raise WatchlistNameTaken()
            watchlist = Watchlist.objects.create(name=name.strip(), description=description)
            if people:
                watchlist.people.set(people)
            record(actor, Action.WATCHLIST_CREATE, target_type="watchlist", target_id=watchlist.id, name=watchlist.name)
    return get_watchlist(watchlist.id)


def update_watchlist(watchlist: Watchlist, *, replace: bool = False, people=None, actor: Actor | None = None, **fields) -> Watchlist:
    """Change the given fields (PATCH), or with `replace` also clear those not given (PUT)."""
    fields = {k: v for k, v in fields.items() if k in ("name", "description")}
    if replace:
        fields.setdefault("description", "")
        people = [] if people is None else people
    if "name" in fields:
        fields["name"] = fields["name"].strip()
    with services.unique_fields():
        with transaction.atomic():
            if "name" in fields and Watchlist.objects.exclude(id=watchlist.id).filter(name=fields["name"]).exists():
                raise WatchlistNameTaken()
            for field, value in fields.items():
                setattr(watchlist, field, value)
            watchlist.save()
            if people is not None:
                watchlist.people.set(people)
            changed = sorted(fields) + (["people"] if people is not None else [])
            record(actor, Action.WATCHLIST_UPDATE, target_type="watchlist", target_id=watchlist.id, fields=changed)
    return get_watchlist(watchlist.id)


def delete_watchlist(watchlist: Watchlist, *, actor: Actor | None = None) -> None:
    """Deletes the group only; its people stay enrolled."""
    with transaction.atomic():
        record(actor, Action.WATCHLIST_DELETE, target_type="watchlist", target_id=watchlist.id, name=watchlist.name)
        watchlist.delete()


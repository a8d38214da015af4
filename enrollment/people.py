"""Managing enrolled people, their faces and watchlists: what the integrator API's CRUD endpoints call.

Creating a person with a photo goes through `services.enrol_person`, adding photos through
`services.sample_from_image` + the face writer there: one enrolment path. Every change is audited.
Deleting a person or a face deletes its crop, thumbnail and source photo from storage once the
deletion commits (enrollment/signals.py): biometric data does not linger.
"""
from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.db.models import Avg, Case, CharField, Count, F, OuterRef, Q, QuerySet, Subquery, Value, When
from django.db.models.functions import Coalesce

from faceapp.audit.log import Actor, record
from faceapp.audit.models import Action
from recognition.exceptions import FaceAppError, NotFound, PendingEnrollmentNotFound, WatchlistNameTaken

from . import services
from .models import Face, PendingEnrollment, Person, Watchlist

PERSON_FIELDS = ("name", "email", "birthdate", "external_id", "metadata")
PEOPLE_ORDERINGS = ("name", "-name", "created_at", "-created_at", "updated_at", "-updated_at", "face_count", "-face_count")


# --- People ------------------------------------------------------------------------------------


def people(*, name: str = "", email: str = "", search: str = "", watchlist=None, ordering: str = "name",
           gender: str | None = None, age_min: float | None = None, age_max: float | None = None) -> QuerySet:
    """People with their face count and first face's id; `search` matches part of the name, the email, the
    external id or the name of one of their watchlists.

    Each also carries the estimates of their faces (enrollment.estimates): `estimated_age` (the mean over the
    faces estimated) and `estimated_gender` (the gender most of their estimated faces have; None on a tie or
    none), which the gender and age filters use: a person without estimates passes none of them."""
    first_face = Face.objects.filter(person=OuterRef("pk")).order_by("created_at", "id").values("id")[:1]
    estimated_age = Face.objects.filter(person=OuterRef("pk"), age__isnull=False).values("person").annotate(
        mean=Avg("age")).values("mean")
    queryset = Person.objects.prefetch_related("watchlists").annotate(
        face_count=Count("faces", distinct=True), first_face_id=Subquery(first_face),
        estimated_age=Subquery(estimated_age),
        female_faces=_gender_count("female"), male_faces=_gender_count("male"),
    ).annotate(estimated_gender=Case(
        When(female_faces__gt=F("male_faces"), then=Value("female")),
        When(male_faces__gt=F("female_faces"), then=Value("male")),
        default=None, output_field=CharField(),
    ))
    if gender is not None:
        queryset = queryset.filter(estimated_gender=gender)
    if age_min is not None:
        queryset = queryset.filter(estimated_age__gte=age_min)
    if age_max is not None:
        queryset = queryset.filter(estimated_age__lte=age_max)
    if search.strip():
        text = search.strip()
        in_watchlist = Person.objects.filter(watchlists__name__icontains=text).values("id")
        queryset = queryset.filter(Q(name__icontains=text) | Q(email__icontains=text) | Q(external_id__icontains=text) | Q(id__in=in_watchlist))
    if name:
        queryset = queryset.filter(name__icontains=name)
    if email:
        queryset = queryset.filter(email=services.normalise_email(email))
    if watchlist is not None:
        queryset = queryset.filter(watchlists__id=watchlist)
    return queryset.order_by(ordering, "id")


def _gender_count(gender: str):
    return Coalesce(Subquery(Face.objects.filter(person=OuterRef("pk"), gender=gender).values("person").annotate(
        n=Count("id")).values("n")), 0)


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


@dataclass(frozen=True)
class NotAdded:
    """A photo (or held face) of a batch that was not added, and why."""

    index: int  # its place in the batch, from 0
    name: str  # the photo's file name, or the req_id of a held face
    error: FaceAppError


@dataclass(frozen=True)
class Added:
    faces: list[Face]
    not_added: list[NotAdded]


def add_faces(person: Person, photos: list[Photo], *, face_index: int | None = None, keep_good: bool = False,
              reviewed_exception: str = "", actor: Actor | None = None) -> Added:
    """One face from each photo (its largest, or `face_index`), each checked for being somebody else's
    (`services.add_faces`: DuplicateFace names them unless `reviewed_exception` gives the reason to add it anyway).

    All or none by default: the first bad photo (no face, not an image, a duplicate) is raised and nothing is
    stored. With `keep_good`, the good photos are stored and the bad ones come back in `not_added`.
    """
    samples: list[tuple[int, Photo, services.FaceSample]] = []
    not_added: list[NotAdded] = []
    for index, photo in enumerate(photos):
        try:
            samples.append((index, photo, services.sample_from_image(photo.data, source_name=photo.name, face_index=face_index)))
        except FaceAppError as exc:
            if not keep_good:
                raise _named(exc, photo.name, len(photos))
            not_added.append(NotAdded(index, photo.name, exc))
    if keep_good:
        faces = []
        for index, photo, sample in samples:
            try:
                faces += services.add_faces(person, [sample], reviewed_exception=reviewed_exception, actor=actor)
            except FaceAppError as exc:
                not_added.append(NotAdded(index, photo.name, exc))
        not_added.sort(key=lambda item: item.index)
    else:
        faces = services.add_faces(person, [s for _, _, s in samples], reviewed_exception=reviewed_exception, actor=actor)
    _touch(person, faces)
    return Added(faces, not_added)


def add_held_faces(person: Person, req_ids: list[str], *, reviewed: dict[str, str] | None = None,
                   actor: Actor | None = None) -> Added:
    """Held faces (pending enrolments, picked on the person's page or in 'Who is this?') added to `person`.

    Each is checked on its own, so a batch keeps its good faces: a face that is somebody else's stays held
    and comes back in `not_added` (DuplicateFace, naming them), unless `reviewed` gives, for its req_id, the
    operator's reason to add it anyway. An expired req_id comes back as PendingEnrollmentNotFound. Each
    added face's req_id is consumed.
    """
    reviewed = reviewed or {}
    faces, not_added = [], []
    for index, req_id in enumerate(dict.fromkeys(req_ids)):
        try:
            with transaction.atomic():
                pending = PendingEnrollment.objects.select_for_update().unexpired().filter(req_id=req_id).first()
                if pending is None:
                    raise PendingEnrollmentNotFound()
                faces += services.add_faces(person, [services.sample_from_pending(pending)],
                                            reviewed_exception=reviewed.get(req_id, ""), actor=actor)
                pending.delete()
        except FaceAppError as exc:
            not_added.append(NotAdded(index, req_id, exc))
    _touch(person, faces)
    return Added(faces, not_added)


def _named(exc: FaceAppError, name: str, count: int) -> FaceAppError:
    """Say which of several photos an error is about."""
    if name and count > 1 and not exc.message.startswith(f"{name}: "):
        exc.message = f"{name}: {exc.message}"
        exc.args = (exc.message,)
    return exc


def _touch(person: Person, faces: list[Face]) -> None:
    if faces:
        Person.objects.filter(id=person.id).update(updated_at=faces[-1].created_at)


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


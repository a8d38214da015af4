"""The single enrolment path: used by the API, the admin and the import command.

Every write that spans several rows runs in one transaction. Files (crops, thumbnails, source
photos) are written before the rows that point at them and deleted again if the transaction fails,
so a failed request leaves neither rows nor files behind; bulk imports, whose transactions span many
faces, also list the files in a FileJournal so that even a killed process leaves none behind.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import logging
import time
from dataclasses import dataclass, field

import numpy as np
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction

from faceapp.audit.log import Actor, record
from faceapp.audit.models import Action
from recognition import embedders, pipeline
from recognition.exceptions import (
    EmailTaken,
    ExternalIdTaken,
    FaceIndexOutOfRange,
    NoFaceDetected,
    NotLive,
    PendingEnrollmentNotFound,
    WatchlistNameTaken,
)
from recognition import liveness as face_liveness
from recognition.types import Face as DetectedFace

from . import decision, duplicates, estimates, gallery, identification, images
from . import pending as pending_enrolments
from .file_journal import FileJournal
from .models import Face, PendingEnrollment, Person
from . import faultpoints  # test-only kill points (enrollment/faultpoints.py)

logger = logging.getLogger(__name__)

def current_embedding_model() -> str:
    return embedders.model_id()


# --- Recognition with pending enrolment --------------------------------------------------------


@dataclass(frozen=True)
class Recognition:
    face: DetectedFace
    faces_detected: int
    width: int
    height: int
    match: gallery.Match | None  # the named person, or None
    pending: PendingEnrollment | None
    decision: decision.Decision
    policy: decision.Policy
    timings_ms: dict = field(default_factory=dict)  # decode, detect, crop, embed, search, store
    sighting: object = None  # enrollment.models.Sighting, when the caller asked to keep it (keep_sighting)


def recognise_user(image: bytes, *, preset: str | None = None, threshold: float | None = None,
                   actor: Actor | None = None, attributes=(), keep_sighting: bool = False) -> Recognition:
    """Recognise the largest face in `image`; when the decision names nobody, hold it as a pending enrolment.
    `keep_sighting`: the face is also kept as a sighting with its decision (enrollment.sightings)."""
    # only the largest is recognised: embed (and estimate the attributes of) only it
    analysis = pipeline.analyse_bytes(image, max_faces=1, attributes=attributes)
    face = analysis.largest_face()
    if face is None:
        raise NoFaceDetected()
    model = current_embedding_model()
    timings = dict(analysis.timings_ms)
    started = time.perf_counter()
    size = gallery.gallery_size(embedding_model=model)
    policy = decision.policy(embedding_model=model, gallery_size=size, preset=preset, threshold=threshold)
    identified = identification.search_face(face, policy=policy, embedding_model=model)
    match = identified.candidates[0] if identified.candidates else None
    timings["search"] = (time.perf_counter() - started) * 1000
    started = time.perf_counter()
    pending = None if match else pending_enrolments.create_pending(face, model)
    sighting = None
    if keep_sighting:
        from .sightings import keep_faces

        sighting = keep_faces([(face, identified.decision, match.person if match else None)], image=image, actor=actor)[0]
    record(
        actor, Action.RECOGNISE, target_type="person" if match else "",
        target_id=match.person.id if match else "",
        matched=bool(match), similarity=round(identified.decision.similarity, 4) if identified.decision.similarity is not None else None,
        verdict=identified.decision.verdict, preset=policy.preset, threshold=round(policy.threshold, 4),
    )
    return Recognition(
        face=face,
        faces_detected=analysis.faces_detected,
        width=analysis.width,
        height=analysis.height,
        match=match,
        pending=pending,
        decision=identified.decision,
        policy=policy,
        timings_ms={**timings, "store": (time.perf_counter() - started) * 1000},
        sighting=sighting,
    )


# --- Enrolment ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class FaceSample:
    """What a new Face row needs, whichever way the face arrived."""

    embedding: np.ndarray
    embedding_model: str
    crop_jpeg: bytes
    box: dict
    landmarks: list
    quality: dict
    source: str = ""
    source_image: bytes | None = None
    source_name: str = ""
    # Kept when a face is restored from an export (the hash of a photo that is not stored with it).
    source_sha256: str = ""
    face_id: object = None  # a restored face keeps its id; None makes a new one


def sample_from_detection(face: DetectedFace, *, source: str = "", source_image: bytes | None = None, source_name: str = "") -> FaceSample:
    return FaceSample(
        embedding=face.embedding,
        embedding_model=current_embedding_model(),
        crop_jpeg=images.encode_jpeg(face.crop),
        box=images.box_dict(face),
        landmarks=[[round(x, 1), round(y, 1)] for x, y in face.detection.landmarks],
        quality=face.quality.as_dict(),
        source=source,
        source_image=source_image,
        source_name=source_name,
    )


def sample_from_image(image: bytes, *, source_name: str = "", face_index: int | None = None, liveness: bool = False) -> FaceSample:
    """The largest face of an uploaded photo (601 if it has none), or its `face_index`-th face, largest first.

    `liveness`: the face must pass the passive liveness check (NotLive otherwise)."""
    # The pipeline sorts faces largest first (as /detect lists them): embed only up to the one wanted.
    wanted = 0 if face_index is None else face_index
    analysis = pipeline.analyse_bytes(image, max_faces=wanted + 1 if wanted >= 0 else None, liveness=liveness)
    if not analysis.faces:
        raise NoFaceDetected()
    if face_index is None:
        face = analysis.faces[0]
    elif 0 <= face_index < len(analysis.faces):
        face = analysis.faces[face_index]
    else:
        raise FaceIndexOutOfRange(
            f"face_index {face_index} is out of range: the photo has {analysis.faces_detected} face(s), numbered from 0, largest first.",
            faces_detected=analysis.faces_detected,
        )
    if face.liveness is not None:
        refuse_not_live(face.liveness)
    return sample_from_detection(face, source=f"upload:{source_name}" if source_name else "upload", source_image=image, source_name=source_name)


def refuse_not_live(result) -> None:
    """NotLive (400 liveness_failed, with the score) unless the liveness check passed."""
    if not result.live:
        raise NotLive(f"The face did not pass the liveness check (score {result.score:.2f} < {result.threshold}).",
                      liveness=result.as_dict())


def enrol_person(
    *,
    name: str,
    birthdate: dt.date | None,
    email: str | None = None,
    external_id: str | None = None,
    metadata: dict | None = None,
    req_id: str | None = None,
    image: bytes | None = None,
    image_name: str = "",
    allow_duplicates: bool | None = None,
    face_index: int | None = None,
    watchlists=(),
    actor: Actor | None = None,
    liveness: bool = False,
) -> Person:
    """Create a person with one face, taken from a pending enrolment (`req_id`) or a photo (`image`).

    A `req_id` is consumed: of two calls racing on it, one creates the person and the other gets
    PendingEnrollmentNotFound. Raises EmailTaken or DuplicateFace (409s) on conflicts. With `liveness`, the
    face must pass the passive liveness check (NotLive, 400, otherwise; a req_id is then not consumed): on
    the photo's face, or on a pending enrolment's stored crop.
    """
    if (req_id is None) == (image is None):
        raise ValueError("give exactly one of req_id and image")
    allow_duplicates = settings.FACEAPP_ALLOW_DUPLICATES if allow_duplicates is None else allow_duplicates
    email = normalise_email(email)
    sample = sample_from_image(image, source_name=image_name, face_index=face_index, liveness=liveness) if image is not None else None
    with unique_fields(), transaction.atomic(), _delete_files_on_error() as written:
        if req_id is not None:
            pending = (
                PendingEnrollment.objects.select_for_update().unexpired().filter(req_id=req_id).first()
            )
            if pending is None:
                raise PendingEnrollmentNotFound()
            sample = sample_from_pending(pending)
            if liveness:
                refuse_not_live(face_liveness.check_crop(images.decode_jpeg(sample.crop_jpeg)))
        refuse_taken(email=email, external_id=external_id)
        if not allow_duplicates:
            _refuse_duplicate(sample)
        person = Person.objects.create(
            name=name.strip(), birthdate=birthdate, email=email, external_id=external_id or None, metadata=metadata or {}
        )
        if watchlists:
            person.watchlists.set(watchlists)
        face = _create_face(person, sample, written)
        if req_id is not None:
            pending.delete()
        record(actor, Action.PERSON_CREATE, target_type="person", target_id=person.id, source="req_id" if req_id else "image")
        record(actor, Action.FACE_ADD, target_type="face", target_id=face.id, person_id=str(person.id))
    logger.info("enrolled person %s (%s)", person.id, "req_id" if req_id else "image")
    return person


def enrol_from_pending(req_ids: list[str], *, name: str, birthdate: dt.date | None, actor: Actor | None = None,
                       liveness: bool = False, **fields) -> Person:
    """One person from several held faces, all or none: the first enrols them (with every check of
    `enrol_person`), the others become their further faces. Each req_id is consumed.

    With `liveness`, every held face must pass the passive liveness check first (NotLive otherwise, and no req_id
    is consumed)."""
    if not req_ids:
        raise ValueError("give at least one req_id")
    if liveness:
        held = {p.req_id: p for p in PendingEnrollment.objects.unexpired().filter(req_id__in=req_ids)}
        if len(held) != len(set(req_ids)):
            raise PendingEnrollmentNotFound()
        for req_id in dict.fromkeys(req_ids):
            refuse_not_live(face_liveness.check_crop(images.decode_jpeg(bytes(held[req_id].crop_jpeg))))
    with transaction.atomic():
        person = enrol_person(name=name, birthdate=birthdate, req_id=req_ids[0], actor=actor, **fields)
        if req_ids[1:]:
            pendings = {p.req_id: p for p in PendingEnrollment.objects.select_for_update().unexpired().filter(req_id__in=req_ids[1:])}
            if len(pendings) != len(set(req_ids[1:])):
                raise PendingEnrollmentNotFound()
            allow = fields.get("allow_duplicates")
            allow = settings.FACEAPP_ALLOW_DUPLICATES if allow is None else allow
            add_faces(person, [sample_from_pending(pendings[r]) for r in dict.fromkeys(req_ids[1:])], actor=actor,
                      check_duplicates=not allow)
            PendingEnrollment.objects.filter(req_id__in=req_ids[1:]).delete()
    return person


def add_face(person: Person, sample: FaceSample, *, actor: Actor | None = None, journal: "FileJournal | None" = None,
             check_duplicates: bool = True, reviewed_exception: str = "") -> Face:
    """Store one face of `person`: its files, then its row, in one transaction (a savepoint when nested).

    `journal`, when given, is told each file's name before the file is written (see FileJournal). The
    duplicate check and `reviewed_exception` are those of `add_faces`.
    """
    return add_faces(person, [sample], actor=actor, journal=journal, check_duplicates=check_duplicates,
                     reviewed_exception=reviewed_exception)[0]


def add_faces(person: Person, samples: list[FaceSample], *, actor: Actor | None = None, journal: "FileJournal | None" = None,
              check_duplicates: bool = True, reviewed_exception: str = "") -> list[Face]:
    """Several faces for one person, all or none.

    Each face is first checked against everybody else (`duplicates.find`, the duplicate policy of enrolment):
    one that already belongs to another person raises DuplicateFace naming them, unless `reviewed_exception`
    gives the operator's reason to add it anyway; the audit entry of that face then records the reason and
    the person it resembles. `check_duplicates=False` is for paths with rules of their own: a bulk import of
    a labelled collection (`importing`), a restore of exported faces (`portability`).
    """
    reviewed_exception = (reviewed_exception or "").strip()
    with transaction.atomic(), _delete_files_on_error() as written:
        resembles: list[dict] = [{} for _ in samples]
        if check_duplicates:
            duplicates.lock()
            for i, sample in enumerate(samples):
                found = duplicates.find(sample.embedding, embedding_model=sample.embedding_model, exclude_person=person)
                if found is None:
                    continue
                if not reviewed_exception:
                    name = sample.source_name or ""
                    raise found.error(f"{name}: " if name and len(samples) > 1 else "")
                resembles[i] = found.audit(reviewed_exception)
        faces = [_create_face(person, sample, written, journal) for sample in samples]
        for face, exception in zip(faces, resembles):
            record(actor, Action.FACE_ADD, target_type="face", target_id=face.id, person_id=str(person.id), **exception)
    if resembles and any(resembles):
        logger.warning("added %d face(s) to person %s as reviewed exceptions: %s", sum(map(bool, resembles)), person.id,
                       reviewed_exception)
    return faces


def create_person(
    *,
    name: str,
    birthdate: dt.date | None = None,
    email: str | None = None,
    external_id: str | None = None,
    metadata: dict | None = None,
    person_id=None,
) -> Person:
    """A person without faces yet (bulk import, restore). Raises EmailTaken / ExternalIdTaken (409s)."""
    email = normalise_email(email)
    refuse_taken(email=email, external_id=external_id)
    fields = {"id": person_id} if person_id is not None else {}
    with unique_fields(), transaction.atomic():
        return Person.objects.create(
            name=name.strip(), birthdate=birthdate, email=email, external_id=external_id or None, metadata=metadata or {}, **fields
        )


def sample_from_pending(pending: PendingEnrollment) -> FaceSample:
    return FaceSample(
        embedding=np.asarray(pending.embedding, dtype=np.float32),
        embedding_model=pending.embedding_model,
        crop_jpeg=bytes(pending.crop_jpeg),
        box=pending.box,
        landmarks=pending.landmarks,
        quality=pending.quality,
        source=f"req_id:{pending.req_id}",
    )


def _refuse_duplicate(sample: FaceSample) -> None:
    """Refuse a face that already belongs to an enrolled person, by a decision of its own (decision.duplicate_policy)."""
    duplicates.lock()
    found = duplicates.find(sample.embedding, embedding_model=sample.embedding_model)
    if found is not None:
        raise found.error()


def _create_face(person: Person, sample: FaceSample, written: list[str], journal: FileJournal | None = None) -> Face:
    face = Face(
        **({"id": sample.face_id} if sample.face_id is not None else {}),
        person=person,
        embedding=sample.embedding.tolist() if isinstance(sample.embedding, np.ndarray) else sample.embedding,
        embedding_model=sample.embedding_model,
        source=sample.source[:500],
        box=sample.box,
        landmarks=sample.landmarks,
        quality=sample.quality,
    )
    face.set_estimates(estimates.of_jpegs([sample.crop_jpeg], estimates.kinds("FACEAPP_FACE_ATTRIBUTES"))[0])
    _save_file(face.crop, f"{face.id}.jpg", sample.crop_jpeg, written, journal)
    _save_file(face.thumbnail, f"{face.id}.jpg", images.make_thumbnail(sample.crop_jpeg), written, journal)
    face.source_sha256 = sample.source_sha256
    if sample.source_image is not None:
        face.source_sha256 = hashlib.sha256(sample.source_image).hexdigest()
        suffix = images.image_suffix(sample.source_image)
        _save_file(face.source_image, f"{face.id}{suffix}", sample.source_image, written, journal)
    face.save()
    faultpoints.reached("face.row_written")
    return face


def _save_file(field_file, filename: str, data: bytes, written: list[str], journal: FileJournal | None) -> None:
    intended = field_file.field.generate_filename(field_file.instance, filename)
    if journal is not None:
        journal.will_write(intended)
    existed = field_file.storage.exists(intended)
    try:
        field_file.save(filename, ContentFile(data), save=False)
    except BaseException:
        # A write that failed half-way (the disk filled up) leaves a partial file the storage does not remove.
        if not existed:
            with contextlib.suppress(Exception):
                field_file.storage.delete(intended)
        raise
    written.append(field_file.name)
    faultpoints.reached("media.file_written")


@contextlib.contextmanager
def _delete_files_on_error():
    written: list[str] = []
    try:
        yield written
    except BaseException:
        for name in written:
            with contextlib.suppress(Exception):
                default_storage.delete(name)
        raise


def refuse_taken(*, email: str | None = None, external_id: str | None = None, exclude=None) -> None:
    """EmailTaken / ExternalIdTaken (409s) when another person (not `exclude`) already has them."""
    others = Person.objects.exclude(id=exclude) if exclude else Person.objects.all()
    if email and others.filter(email=email).exists():
        raise EmailTaken()
    if external_id and others.filter(external_id=external_id).exists():
        raise ExternalIdTaken()


@contextlib.contextmanager
def unique_fields():
    """A unique field that wins a race against `refuse_taken` becomes the same 409 as the check."""
    try:
        yield
    except IntegrityError as exc:
        text = str(exc)
        if "email" in text:
            raise EmailTaken() from exc
        if "external_id" in text:
            raise ExternalIdTaken() from exc
        if "watchlist" in text and "name" in text:
            raise WatchlistNameTaken() from exc
        raise


# --- Small helpers -----------------------------------------------------------------------------


def normalise_email(email: str | None) -> str | None:
    email = (email or "").strip().lower()
    return email or None

"""What the operator pages do with photos, composed from the enrolment and recognition services.

The pages show each uploaded photo back (a data: URL, nothing stored) with its faces boxed. Every detected
face is held as a pending enrolment, so that picking it (enrol, add to a person, 'Who is this?' actions)
posts back a `req_id` that the enrolment services consume: one enrolment path, with its checks.
Identity answers come from `enrollment.identification.search_face` and `enrollment.decision`; the duplicate
check from `enrollment.duplicates` (the policy of enrolment).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from enrollment import decision, duplicates, gallery, identification, images, people
from enrollment import pending as pending_enrolments
from enrollment import services as enrolment
from faceapp.audit.log import Actor
from recognition import liveness, quality
from recognition.exceptions import FaceAppError, LivenessUnavailable
from recognition.uploads import read_upload

from . import previews

WHO_CANDIDATES = 3


@dataclass(frozen=True)
class PhotoFace:
    number: int  # 1-based, largest face first
    box: dict  # percent of the photo: left, top, width, height
    quality: dict
    problems: list[str]
    req_id: str = ""  # the pending enrolment holding this face
    candidates: list[gallery.Match] = field(default_factory=list)
    decision: decision.Decision | None = None  # "Who is this?": named, close, unknown or low quality
    nearest: gallery.Match | None = None  # the closest person, also when not named
    attributes: dict | None = None  # estimated gender/age/emotion (recognition.attributes), where models are enabled
    duplicate: duplicates.Duplicate | None = None  # somebody (else) enrolled this face already belongs to
    resembles_person: decision.Decision | None = None  # adding to a person: is it them? (their faces only)

    @property
    def verdict_words(self) -> str:
        """The decision as an operator reads it."""
        if self.decision is None:
            return ""
        nearest = self.nearest.person.name if self.nearest is not None else ""
        return {
            decision.NAMED: f"This is {nearest}",
            decision.CLOSE: f"Looks like {nearest}, but not enough to name them at this preset",
            decision.LOW_QUALITY: f"Resembles {nearest}, but the face is too poor to name at this preset",
            decision.UNKNOWN: "Unknown: nobody enrolled is close" if self.nearest is None or self.decision.similarity is None
            else f"Unknown: nobody enrolled is close (the nearest, {nearest}, is far below the threshold)",
        }[self.decision.verdict]

    @property
    def verdict_label(self) -> str:
        return {decision.NAMED: "Named", decision.CLOSE: "Close", decision.UNKNOWN: "Unknown",
                decision.LOW_QUALITY: "Low quality"}.get(self.decision.verdict, "") if self.decision else ""

    @property
    def addable_to(self):
        """The person 'Add to this person' offers: the one named, or the close resemblance (to be confirmed)."""
        if self.decision is not None and self.decision.verdict in (decision.NAMED, decision.CLOSE, decision.LOW_QUALITY) and self.nearest:
            return self.nearest.person
        return None


@dataclass(frozen=True)
class Photo:
    name: str
    preview: str = ""  # data: URL
    faces: list[PhotoFace] = field(default_factory=list)
    error: str = ""  # why the photo could not be read at all

    @property
    def flag(self) -> str:
        """Why this photo needs the operator's attention ('' when every face is fine)."""
        if self.error:
            return self.error
        if not self.faces:
            return "No face found in this photo."
        poor = [f.number for f in self.faces if f.problems]
        if poor:
            return f"Poor quality: face {', '.join(map(str, poor))}."
        return ""

    @property
    def suggested(self) -> str:
        """The req_id to pick by default: the only face of the photo, of good quality, nobody else's;
        or, adding to a person, the only face of a group photo that the decision says is them."""
        fine = [f for f in self.faces if not f.problems and f.duplicate is None]
        if len(self.faces) == 1 and fine:
            return fine[0].req_id
        theirs = [f for f in fine if f.resembles_person is not None and f.resembles_person.named]
        return theirs[0].req_id if len(theirs) == 1 else ""


def examine_photos(uploads, *, person=None) -> list[Photo]:
    """Each uploaded photo with its faces (each held as a pending enrolment), their quality, and for each face
    the person enrolled it already belongs to (other than `person`, when adding to them).

    A photo that cannot be read, or has no face, is returned with its reason, never dropped.
    """
    model = enrolment.current_embedding_model()
    own = _own_policy(person, model) if person is not None else None
    photos = []
    for upload in uploads:
        name = getattr(upload, "name", "") or "photo"
        try:
            data = read_upload(upload)
            held = pending_enrolments.hold_faces(data)
            preview = previews.data_url(data)
        except FaceAppError as exc:
            photos.append(Photo(name=name, error=exc.message))
            continue
        faces = []
        for i, h in enumerate(held.faces, start=1):
            resembles = None
            if own is not None:
                resembles = identification.search_face(h.face, policy=own[0], embedding_model=model, faces=own[1]).decision
            faces.append(PhotoFace(
                number=i, box=previews.box_percent(h.pending.box, held.width, held.height), quality=h.pending.quality,
                problems=h.problems, req_id=h.pending.req_id,
                duplicate=duplicates.find(h.face.embedding, embedding_model=model, exclude_person=person),
                resembles_person=resembles,
            ))
        photos.append(Photo(name=name, preview=preview, faces=faces))
    return photos


def _own_policy(person, model):
    """The decision 'is this face them?' against the person's own faces (None when they have none)."""
    faces = gallery.faces_of_person(person.id)
    size = gallery.gallery_size(embedding_model=model, faces=faces)
    if size == 0:
        return None
    return decision.policy(embedding_model=model, gallery_size=size, normalise=False), faces  # 1:1, as verify


def who_is_this(upload, *, preset: str | None = None, watchlists=(), actor: Actor | None = None) -> tuple[Photo, decision.Policy]:
    """Every face of the photo with the decision on it and the people it names. Every face is held as a
    pending enrolment, so that each action (add to a person, enrol as new, keep as unknown) is one click.
    Raises the image errors (FaceAppError)."""
    data = read_upload(upload)
    from recognition.attributes import available_kinds

    result = identification.identify(data, limit=WHO_CANDIDATES, preset=preset, watchlists=watchlists, actor=actor,
                                     attributes=available_kinds())
    model = enrolment.current_embedding_model()
    width, height = result.analysis.width, result.analysis.height
    faces = []
    for number, identified in enumerate(result.faces, start=1):
        face = identified.face
        faces.append(PhotoFace(
            number=number,
            box=previews.box_percent(images.box_dict(face), width, height),
            quality=face.quality.as_dict(),
            problems=quality.problems(face.quality.as_dict()),
            req_id=pending_enrolments.create_pending(face, model).req_id,
            candidates=identified.candidates,
            decision=identified.decision,
            nearest=identified.nearest,
            attributes=face.attributes.as_dict() if face.attributes is not None else None,
        ))
    return Photo(name=getattr(upload, "name", "") or "photo", preview=previews.data_url(data), faces=faces), result.policy


@dataclass(frozen=True)
class HeldCrop:
    """A pending enrolment shown by its crop (when the photo it came from is no longer at hand)."""

    req_id: str
    quality: dict
    problems: list[str]
    expires_at: object
    duplicate: duplicates.Duplicate | None = None


def held_faces(req_ids, *, person=None) -> list[HeldCrop]:
    """The unexpired pending enrolments among `req_ids`, in that order, each with the person (other than
    `person`) it already belongs to."""
    found = {p.req_id: p for p in pending_enrolments.pending_enrolments().filter(req_id__in=list(req_ids)).defer(None)}
    held = []
    for r in dict.fromkeys(req_ids):
        if r not in found:
            continue
        pending = found[r]
        held.append(HeldCrop(r, pending.quality, quality.problems(pending.quality), pending.expires_at,
                             duplicates.find(pending.embedding, embedding_model=pending.embedding_model, exclude_person=person)))
    return held


@dataclass(frozen=True)
class Refusal:
    """A held face that was not added, in words, with the person it belongs to when that is why."""

    req_id: str
    message: str
    other_id: str = ""
    other_name: str = ""


def add_held_faces(person, req_ids, *, reviewed: dict[str, str], actor: Actor | None = None) -> tuple[int, list[Refusal]]:
    """Picked faces added to `person`; a face that is somebody else's stays held and is refused (naming them)
    unless `reviewed` holds the operator's reason for it → (faces added, refusals)."""
    added = people.add_held_faces(person, list(req_ids), reviewed=reviewed, actor=actor)
    refusals = []
    for item in added.not_added:
        extra = item.error.extra
        name = extra.get("existing_user_name", "")
        message = f"This face is already enrolled as {name}." if name else item.error.message
        refusals.append(Refusal(item.name, message, extra.get("existing_user_id", ""), name))
    return len(added.faces), refusals


def duplicate_words(exc: FaceAppError) -> tuple[str, str, str]:
    """A refusal for the page: its sentence (naming, not numbering, the other person), and their id and name."""
    name, other = exc.extra.get("existing_user_name", ""), exc.extra.get("existing_user_id", "")
    if name:
        return f"This face is already enrolled as {name}.", other, name
    return exc.message, "", ""


def liveness_off() -> str | None:
    """Why this server cannot check liveness (no model configured, or its licence not accepted), or None when it can."""
    try:
        liveness.model()
    except LivenessUnavailable as exc:
        return exc.message
    return None

"""What the operator pages do, composed from the enrolment and recognition services.

The pages show each uploaded photo back (a data: URL, nothing stored) with its faces boxed. Every
detected face is held as a pending enrolment, so that picking it, or 'enrol as new person', posts
back a `req_id` that `enrollment.services.enrol_from_pending` consumes: the one enrolment path.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from enrollment import decision, gallery, identification, people
from enrollment import services as enrolment
from faceapp.audit.log import Actor
from recognition import quality
from recognition.exceptions import FaceAppError
from recognition.uploads import read_upload

from . import previews

WHO_CANDIDATES = 3


@dataclass(frozen=True)
class PhotoFace:
    number: int  # 1-based, largest face first
    box: dict  # percent of the photo: left, top, width, height
    quality: dict
    problems: list[str]
    req_id: str = ""  # the pending enrolment holding this face, when there is one
    candidates: list[gallery.Match] = field(default_factory=list)
    decision: decision.Decision | None = None  # "Who is this?": named, close, unknown or low quality
    nearest: gallery.Match | None = None  # the closest person, also when not named

    @property
    def verdict_words(self) -> str:
        """The decision as an operator reads it."""
        if self.decision is None:
            return ""
        nearest = self.nearest.person.name if self.nearest is not None else ""
        return {
            decision.NAMED: f"Named: {nearest}",
            decision.CLOSE: f"Close to {nearest}, but below the threshold: not named",
            decision.LOW_QUALITY: f"Resembles {nearest}, but the face is too poor to name at this preset",
            decision.UNKNOWN: "Unknown: nobody enrolled is close",
        }[self.decision.verdict]


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
        """The req_id to pick by default: the only face of the photo, when it is of good quality."""
        if len(self.faces) == 1 and not self.faces[0].problems:
            return self.faces[0].req_id
        return ""


def examine_photos(uploads) -> list[Photo]:
    """Each uploaded photo with its faces (each held as a pending enrolment) and their quality.

    A photo that cannot be read, or has no face, is returned with its reason, never dropped.
    """
    photos = []
    for upload in uploads:
        name = getattr(upload, "name", "") or "photo"
        try:
            data = read_upload(upload)
            held = enrolment.hold_faces(data)
            preview = previews.data_url(data)
        except FaceAppError as exc:
            photos.append(Photo(name=name, error=exc.message))
            continue
        faces = [
            PhotoFace(number=i, box=previews.box_percent(h.pending.box, held.width, held.height), quality=h.pending.quality,
                      problems=h.problems, req_id=h.pending.req_id)
            for i, h in enumerate(held.faces, start=1)
        ]
        photos.append(Photo(name=name, preview=preview, faces=faces))
    return photos


def who_is_this(upload, *, preset: str | None = None, actor: Actor | None = None) -> tuple[Photo, decision.Policy]:
    """Every face of the photo with the decision on it and the people it names; a face that is not named
    is held as a pending enrolment so that it can be enrolled in one click. Raises the image errors (FaceAppError)."""
    data = read_upload(upload)
    result = identification.identify(data, limit=WHO_CANDIDATES, preset=preset, actor=actor)
    model = enrolment.current_embedding_model()
    width, height = result.analysis.width, result.analysis.height
    faces = []
    for number, identified in enumerate(result.faces, start=1):
        face = identified.face
        req_id = "" if identified.candidates else enrolment.create_pending(face, model).req_id
        faces.append(PhotoFace(
            number=number,
            box=previews.box_percent(enrolment.box_dict(face), width, height),
            quality=face.quality.as_dict(),
            problems=quality.problems(face.quality.as_dict()),
            req_id=req_id,
            candidates=identified.candidates,
            decision=identified.decision,
            nearest=identified.nearest,
        ))
    return Photo(name=getattr(upload, "name", "") or "photo", preview=previews.data_url(data), faces=faces), result.policy


@dataclass(frozen=True)
class HeldCrop:
    """A pending enrolment shown by its crop (when the photo it came from is no longer at hand)."""

    req_id: str
    quality: dict
    problems: list[str]
    expires_at: object


def held_faces(req_ids) -> list[HeldCrop]:
    """The unexpired pending enrolments among `req_ids`, in that order."""
    found = {p.req_id: p for p in enrolment.pending_enrolments().filter(req_id__in=list(req_ids))}
    return [
        HeldCrop(r, found[r].quality, quality.problems(found[r].quality), found[r].expires_at)
        for r in dict.fromkeys(req_ids) if r in found
    ]


def add_photos(person, uploads, *, actor: Actor | None = None):
    """One face from each uploaded photo (its largest), all or none."""
    photos = [people.Photo(read_upload(u), getattr(u, "name", "") or "") for u in uploads]
    return people.add_faces(person, photos, actor=actor).faces

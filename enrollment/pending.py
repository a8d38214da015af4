"""Pending enrolments: faces held for a while after nobody was recognised (recognise_user) or after an operator
uploaded a photo to pick a face from (the enrol page), until they are enrolled, kept longer, discarded or expire."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

from recognition import embedders, pipeline, quality
from recognition.exceptions import PendingEnrollmentNotFound
from recognition.types import Face as DetectedFace

from .images import box_dict, encode_jpeg
from .models import PendingEnrollment


def create_pending(face: DetectedFace, embedding_model: str, *, now: dt.datetime | None = None) -> PendingEnrollment:
    now = now or timezone.now()
    return PendingEnrollment.objects.create(
        embedding=face.embedding.tolist(),
        embedding_model=embedding_model,
        crop_jpeg=encode_jpeg(face.crop),
        box=box_dict(face),
        landmarks=[list(p) for p in face.detection.landmarks],
        quality=face.quality.as_dict(),
        expires_at=now + dt.timedelta(seconds=settings.FACEAPP_PENDING_TTL_SECONDS),
    )


@dataclass(frozen=True)
class HeldFace:
    """A face of an operator's photo, held as a pending enrolment until it is picked (or expires)."""

    face: DetectedFace
    pending: PendingEnrollment
    problems: list[str]  # why its quality is poor (recognition.quality.problems); empty when fine


@dataclass(frozen=True)
class HeldPhoto:
    width: int
    height: int
    faces: list[HeldFace]  # largest first


def hold_faces(image: bytes) -> HeldPhoto:
    """Every face of a photo held as a pending enrolment (largest first), for an operator to pick from.

    A photo without a face gives an empty list, not an error: the enrol page flags it.
    """
    analysis = pipeline.analyse_bytes(image)
    model = embedders.model_id()
    held = [HeldFace(face, create_pending(face, model), quality.problems(face.quality.as_dict())) for face in analysis.faces]
    return HeldPhoto(width=analysis.width, height=analysis.height, faces=held)


def pending_enrolments(*, now: dt.datetime | None = None):
    """The unexpired pending enrolments, newest first."""
    return PendingEnrollment.objects.unexpired(now).defer("embedding")


def get_pending(req_id: str) -> PendingEnrollment:
    pending = PendingEnrollment.objects.unexpired().filter(req_id=req_id).first()
    if pending is None:
        raise PendingEnrollmentNotFound()
    return pending


def discard_pending(req_id: str) -> None:
    """Forget a pending enrolment now, as its expiry would (its crop is in the row, so nothing else remains)."""
    deleted, _ = PendingEnrollment.objects.filter(req_id=req_id).delete()
    if not deleted:
        raise PendingEnrollmentNotFound()


def keep_pending(req_id: str, *, seconds: int | None = None, now: dt.datetime | None = None) -> PendingEnrollment:
    """Keep a held face longer ('Keep as unknown'): until `seconds` (FACEAPP_UNKNOWN_KEEP_SECONDS) from now."""
    now = now or timezone.now()
    seconds = settings.FACEAPP_UNKNOWN_KEEP_SECONDS if seconds is None else seconds
    pending = get_pending(req_id)
    pending.expires_at = max(pending.expires_at, now + dt.timedelta(seconds=seconds))
    pending.save(update_fields=["expires_at"])
    return pending


def delete_expired_pending(*, now: dt.datetime | None = None) -> int:
    deleted, _ = PendingEnrollment.objects.expired(now).delete()
    return deleted

"""Keeping sightings: every face a camera sees (videostreams.sightings calls `record` when a track ends) and the
faces of API searches whose caller asks for it (`keep_identified`), each with the decision taken on it. A sighting
of nobody enrolled joins an unknown group at once (enrollment.unknowns). The expiry job erases sightings past
their source's retention (`delete_expired`, dropping whole partitions of the table where it can); deleting a
person erases theirs (the foreign key cascades, the crop files follow on commit: enrollment.signals).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import logging

import numpy as np
from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from recognition import quality as face_quality
from recognition.attributes import FaceAttributes

from . import estimates as face_estimates
from .identification import current_embedding_model
from .models import Person, Sighting, UnknownGroup

logger = logging.getLogger(__name__)


def record(*, embedding, embedding_model: str, crop_jpeg: bytes, source: str, seen_at: dt.datetime,
           verdict: str, until: dt.datetime | None = None, person: Person | None = None, similarity: float | None = None,
           decision: dict | None = None, camera_id=None, camera_name: str = "", event_id=None, api_key_name: str = "",
           frame_key: str = "", box: dict | None = None, quality: float = 0.0, quality_details: dict | None = None,
           group_unknown: bool = True, estimates: FaceAttributes | None = None) -> Sighting:
    """Store one sighting (row and crop file, or neither); one of nobody enrolled joins an unknown group.
    `estimates`: the face's attributes where the caller has them (a camera's best shot); otherwise they are
    estimated from the crop (FACEAPP_SIGHTING_ATTRIBUTES)."""
    from . import unknowns

    if estimates is None:
        estimates = face_estimates.of_jpegs([crop_jpeg], face_estimates.kinds("FACEAPP_SIGHTING_ATTRIBUTES"))[0]
    sighting = Sighting(
        source=source, seen_at=seen_at, until=until or seen_at, camera_id=camera_id, camera_name=camera_name[:200],
        event_id=event_id, api_key_name=api_key_name[:120], frame_key=frame_key[:80],
        embedding=np.asarray(embedding, dtype=np.float32).tolist(), embedding_model=embedding_model,
        box=box or {}, quality=float(quality), quality_details=quality_details or {}, verdict=verdict,
        similarity=None if similarity is None else round(float(similarity), 4), decision=decision or {}, person=person,
    )
    sighting.set_estimates(estimates)
    sighting.crop.save(f"{sighting.id}.jpg", ContentFile(crop_jpeg), save=False)
    name = sighting.crop.name
    try:
        with transaction.atomic():
            sighting.save()
            if person is None and group_unknown:
                unknowns.assign(sighting)
    except BaseException:
        sighting.crop.storage.delete(name)
        raise
    return sighting


def keep_faces(faces, *, image: bytes, actor=None) -> list[Sighting]:
    """The faces of an API search (identify, recognise_user), each with the decision taken on it, as API sightings:
    `faces` is a list of (face, decision, named person or None). One photo's faces share a frame key."""
    from .images import box_dict, encode_jpeg

    frame_key = "sha256:" + hashlib.sha256(image).hexdigest()
    key_name = actor.api_key.name if actor is not None and actor.api_key is not None else ""
    now = timezone.now()
    model = current_embedding_model()
    return [
        record(embedding=face.embedding, embedding_model=model, crop_jpeg=encode_jpeg(face.crop, quality=90),
               source=Sighting.Source.API, seen_at=now, verdict=verdict.verdict, person=person,
               similarity=verdict.similarity, decision=verdict.as_dict(), api_key_name=key_name, frame_key=frame_key,
               box=box_dict(face), quality=face_quality.score(face.quality), quality_details=face.quality.as_dict())
        for face, verdict, person in faces
    ]


def keep_held_face(pending, *, actor=None) -> Sighting:
    """'Keep as unknown' (operator UI): the held face (a pending enrolment) also becomes a sighting of nobody, so it
    joins an unknown group and the search of the past finds it. Once per held face."""
    from recognition.types import Quality

    frame_key = f"pending:{pending.req_id}"
    existing = Sighting.objects.filter(frame_key=frame_key).first()
    if existing is not None:
        return existing
    try:
        score = face_quality.score(Quality(**pending.quality))
    except TypeError:  # a quality dict of another shape: no score
        score = 0.0
    who = actor.user.get_username() if actor is not None and actor.user is not None else ""
    return record(embedding=pending.embedding, embedding_model=pending.embedding_model, crop_jpeg=bytes(pending.crop_jpeg),
                  source=Sighting.Source.API, seen_at=pending.created_at, verdict="unknown",
                  api_key_name=f"operator {who}".strip(), frame_key=frame_key, box=pending.box, quality=score,
                  quality_details=pending.quality)


def delete_expired(*, now: dt.datetime | None = None) -> int:
    """Erase sightings past their source's retention (FACEAPP_SIGHTING_RETENTION_DAYS), then the unknown groups
    left empty. Rows now, crop files once the deletion commits. Whole partitions past every source's retention go
    first (enrollment.sighting_partitions.drop_expired); what is left, row by row."""
    from . import sighting_partitions

    now = now or timezone.now()
    deleted = sighting_partitions.drop_expired(settings.FACEAPP_SIGHTING_RETENTION_DAYS, now=now)
    for source, days in settings.FACEAPP_SIGHTING_RETENTION_DAYS.items():
        cutoff = now - dt.timedelta(days=float(days))
        _, by_model = Sighting.objects.filter(source=source, seen_at__lt=cutoff).delete()
        deleted += by_model.get(Sighting._meta.label, 0)
    if deleted:
        delete_empty_groups()
        logger.info("retention: deleted %d sightings", deleted)
    return deleted


def delete_empty_groups() -> int:
    count, _ = UnknownGroup.objects.filter(sightings__isnull=True).delete()
    return count

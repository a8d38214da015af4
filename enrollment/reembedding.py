"""Recompute stored vectors with the active embedder, so an installation can switch models
without re-enrolling anyone.

Each stored face is re-prepared for the active embedder from the best evidence kept:
1. its source photo, when one was stored: the photo is detected again and the face whose box
   overlaps the stored box most is taken (the stored landmarks alone are rounded and would do);
2. otherwise its stored crop: used as it is when the active embedder takes exactly that crop
   (FaceNet), else detected again inside the crop for fresh landmarks.

Work goes in batches, each committed on its own, so an interrupted run loses at most one batch and
a re-run picks up the faces still on another model. Pending enrolments are short-lived: they are
re-embedded from their crop when possible and deleted otherwise.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from django.conf import settings
from django.db import transaction

from recognition import align, embedders, pipeline
from recognition.exceptions import FaceAppError
from recognition.types import Detection

from . import cohort
from .models import Face, PendingEnrollment

logger = logging.getLogger(__name__)

# Inside a stored crop the face is known to be there: accept weaker detections than in a photo.
CROP_DETECTION_THRESHOLD = 0.7
CROP_MIN_FACE_SIZE = 20
MIN_BOX_OVERLAP = 0.3


@dataclass
class ReembedReport:
    embedding_model: str
    faces_done: int = 0
    pending_done: int = 0
    pending_deleted: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)  # (face id, why)


def faces_on_other_models(embedding_model: str):
    return Face.objects.exclude(embedding_model=embedding_model).order_by("created_at", "id")


def reembed_all(*, batch_size: int = 32, limit: int | None = None, progress: Callable[[int], None] | None = None) -> ReembedReport:
    """Re-embed every face (and pending enrolment) not made by the active embedder."""
    chosen = embedders.active()
    target = embedders.model_id(chosen)
    report = ReembedReport(embedding_model=target)
    failed_ids: set = set()
    remaining = limit
    while remaining is None or remaining > 0:
        size = batch_size if remaining is None else min(batch_size, remaining)
        batch = list(faces_on_other_models(target).exclude(id__in=failed_ids)[:size])
        if not batch:
            break
        prepared, ready = [], []
        for face in batch:
            try:
                prepared.append(_prepare_face(face, chosen))
                ready.append(face)
            except CannotPrepare as exc:
                failed_ids.add(face.id)
                report.failed.append((str(face.id), str(exc)))
        vectors = chosen.embed(prepared) if prepared else np.zeros((0, 0))
        with transaction.atomic():
            for face, vector in zip(ready, vectors):
                Face.objects.filter(id=face.id).update(embedding=vector.tolist(), embedding_model=target, **cohort.NO_STATS)
        report.faces_done += len(ready)
        if remaining is not None:
            remaining -= len(batch)
        if progress:
            progress(len(batch))
    _reembed_pending(chosen, target, report)
    return report


class CannotPrepare(Exception):
    pass


def _prepare_face(face: Face, chosen: embedders.Embedder) -> np.ndarray:
    if face.source_image:
        try:
            with face.source_image.open("rb") as f:
                image = pipeline.decode(f.read())
            detection = _best_overlap(pipeline.detect(image, min_face_size=settings.FACEAPP_MIN_FACE_SIZE, min_score=settings.FACEAPP_DETECTION_THRESHOLD), face.box)
            if detection is not None:
                return chosen.prepare(image, detection)
        except (OSError, FaceAppError) as exc:
            logger.warning("face %s: source photo unusable (%s); using the stored crop", face.id, exc)
    try:
        with face.crop.open("rb") as f:
            crop = pipeline.decode(f.read())
    except (OSError, ValueError, FaceAppError) as exc:
        raise CannotPrepare(f"the stored crop is unreadable ({exc})") from exc
    return prepare_from_crop(crop, chosen)


def prepare_from_crop(crop: np.ndarray, chosen: embedders.Embedder) -> np.ndarray:
    if chosen.prepare is align.crop_face and crop.shape[:2] == (align.CROP_SIZE, align.CROP_SIZE):
        return crop  # the stored crop is exactly this embedder's input
    found = pipeline.detect(crop, min_face_size=CROP_MIN_FACE_SIZE, min_score=CROP_DETECTION_THRESHOLD)
    if not found:
        raise CannotPrepare("no face found again in the stored crop")
    return chosen.prepare(crop, max(found, key=lambda d: d.area))


def _reembed_pending(chosen: embedders.Embedder, target: str, report: ReembedReport) -> None:
    for pending in PendingEnrollment.objects.unexpired().exclude(embedding_model=target):
        try:
            vector = chosen.embed([prepare_from_crop(pipeline.decode(bytes(pending.crop_jpeg)), chosen)])[0]
        except (CannotPrepare, FaceAppError):
            pending.delete()
            report.pending_deleted += 1
            continue
        PendingEnrollment.objects.filter(req_id=pending.req_id).update(embedding=vector.tolist(), embedding_model=target)
        report.pending_done += 1


def _best_overlap(detections: list[Detection], box: dict) -> Detection | None:
    if not detections or not box:
        return None
    x1, y1 = box.get("x", 0), box.get("y", 0)
    x2, y2 = x1 + box.get("width", 0), y1 + box.get("height", 0)

    def overlap(d: Detection) -> float:
        ix = max(0.0, min(x2, d.box[2]) - max(x1, d.box[0]))
        iy = max(0.0, min(y2, d.box[3]) - max(y1, d.box[1]))
        inter = ix * iy
        union = (x2 - x1) * (y2 - y1) + d.area - inter
        return inter / union if union > 0 else 0.0

    best = max(detections, key=overlap)
    return best if overlap(best) >= MIN_BOX_OVERLAP else None

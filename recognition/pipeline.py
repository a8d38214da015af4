"""One call from image bytes to faces with embeddings: decode → detect → crop → quality → embed.

Large photos are downscaled for detection only: the longer side is brought to at most
FACEAPP_DETECT_MAX_SIDE pixels, and the detector's minimum face size is scaled with it (never
below P-Net's 12-pixel window), so a face of FACEAPP_MIN_FACE_SIZE pixels stays findable while the
image pyramid costs what a ~1280-pixel photo costs. Crops are always cut from the full-resolution
image, so the embedder sees every pixel the photo has.
"""
from __future__ import annotations

import dataclasses
import threading
import time
from dataclasses import dataclass, field

import cv2
import numpy as np
from django.conf import settings

from faceapp import metrics

from . import align, detector, embedder, embedders, images, quality
from . import attributes as face_attributes
from . import liveness as face_liveness
from .types import Detection, Face

PNET_WINDOW = 12


@dataclass(frozen=True, eq=False)
class Analysis:
    width: int
    height: int
    faces: list[Face]
    timings_ms: dict[str, float] = field(default_factory=dict)
    faces_detected: int = 0  # every face found, also those beyond max_faces

    def largest_face(self) -> Face | None:
        return max(self.faces, key=lambda face: face.detection.area, default=None)


_budget: images.PixelBudget | None = None
_budget_lock = threading.Lock()


def decode_budget() -> images.PixelBudget:
    """This process's decode budget (FACEAPP_DECODE_PIXEL_BUDGET), made once (by the first request's thread)."""
    global _budget
    with _budget_lock:
        if _budget is None or _budget.pixels != settings.FACEAPP_DECODE_PIXEL_BUDGET:
            _budget = images.PixelBudget(settings.FACEAPP_DECODE_PIXEL_BUDGET)
        return _budget


def _open(data: bytes):
    return images.open_checked(data, max_bytes=settings.FACEAPP_MAX_UPLOAD_BYTES, max_pixels=settings.FACEAPP_MAX_IMAGE_PIXELS,
                               max_side=settings.FACEAPP_MAX_IMAGE_SIDE, max_aspect=settings.FACEAPP_MAX_IMAGE_ASPECT)


def decode(data: bytes) -> np.ndarray:
    """Image bytes → RGB array within the configured size limits (the image exceptions for bad input)."""
    opened = _open(data)
    with decode_budget().hold(opened.width * opened.height):
        return images.to_rgb_array(opened, data)


def analyse_bytes(data: bytes, **options) -> Analysis:
    """Image bytes → Analysis. Raises the image exceptions for bad input.

    The image's pixels count against this process's budget for the whole analysis, not only the decoding: the
    decoded array and its resized copies live until the faces are described, so that is what bounds memory."""
    started = time.perf_counter()
    opened = _open(data)
    with decode_budget().hold(opened.width * opened.height):
        image = images.to_rgb_array(opened, data)
        decode_ms = (time.perf_counter() - started) * 1000
        analysis = analyse_image(image, **options)
        del image
    analysis.timings_ms["decode"] = decode_ms
    metrics.pipeline_stage_seconds.labels("decode").observe(decode_ms / 1000)
    return analysis


def analyse_image(
    image: np.ndarray,
    *,
    min_face_size: int | None = None,
    detection_threshold: float | None = None,
    max_faces: int | None = None,
    with_embeddings: bool = True,
    attributes=(),
    liveness: bool = False,
) -> Analysis:
    """HxWx3 uint8 RGB → Analysis with faces sorted largest first.

    `max_faces` keeps only the largest faces, so that crops, quality and embeddings are computed for
    them alone; `faces_detected` still counts every face found. `attributes` (kinds from
    recognition.attributes.KINDS) and `liveness` add those estimates to every face kept (the API asks
    for them on request; a kind without a usable model raises AttributeUnavailable, liveness without a
    model LivenessUnavailable).
    """
    if attributes:
        face_attributes.require(attributes)  # refuse before any work, also for a photo without a face
    if liveness:
        face_liveness.model()
    timings: dict[str, float] = {}
    height, width = image.shape[:2]
    started = time.perf_counter()
    detections = detect(
        image,
        min_face_size=min_face_size or settings.FACEAPP_MIN_FACE_SIZE,
        min_score=settings.FACEAPP_DETECTION_THRESHOLD if detection_threshold is None else detection_threshold,
    )
    detections.sort(key=lambda d: d.area, reverse=True)
    found = len(detections)
    if max_faces is not None:
        detections = detections[:max_faces]
    timings["detect"] = (time.perf_counter() - started) * 1000

    started = time.perf_counter()
    faces = describe(image, detections)
    timings["crop"] = (time.perf_counter() - started) * 1000

    started = time.perf_counter()
    if with_embeddings:
        vectors = embedders.embed_faces(image, detections, crops=[f.crop for f in faces])
    else:
        vectors = np.zeros((len(faces), embedder.EMBEDDING_SIZE), dtype=np.float32)
    timings["embed"] = (time.perf_counter() - started) * 1000

    found_attributes, found_liveness = [None] * len(detections), [None] * len(detections)
    if attributes or liveness:
        started = time.perf_counter()
        regions = [face_attributes.face_region(image, d) for d in detections]
        if attributes:
            found_attributes = face_attributes.estimate(regions, attributes) if regions else []
        timings["attributes"] = (time.perf_counter() - started) * 1000
        if liveness:
            started = time.perf_counter()
            found_liveness = face_liveness.check_regions(regions) if regions else []
            timings["liveness"] = (time.perf_counter() - started) * 1000

    faces = [dataclasses.replace(f, embedding=v, attributes=a, liveness=live)
             for f, v, a, live in zip(faces, vectors, found_attributes, found_liveness)]
    metrics.observe_stages(timings, ("detect", "crop", "embed") if with_embeddings else ("detect", "crop"))
    metrics.faces_detected.inc(found)
    return Analysis(width=width, height=height, faces=faces, timings_ms=timings, faces_detected=found)


def describe(image: np.ndarray, detections: list[Detection]) -> list[Face]:
    """Crop and quality of each detection, not yet embedded (``embedding`` is None)."""
    crops = [align.crop_face(image, d) for d in detections]
    return [Face(detection=d, crop=c, quality=quality.assess(d, c), embedding=None) for d, c in zip(detections, crops)]


def detect(image: np.ndarray, *, min_face_size: int, min_score: float) -> list[Detection]:
    """Detection on a copy no longer than FACEAPP_DETECT_MAX_SIDE, boxes mapped back to `image`."""
    height, width = image.shape[:2]
    scale = min(1.0, settings.FACEAPP_DETECT_MAX_SIDE / max(height, width))
    if scale >= 1.0:
        return detector.detect_faces(image, min_face_size=min_face_size, min_score=min_score)
    small = cv2.resize(image, (max(1, round(width * scale)), max(1, round(height * scale))), interpolation=cv2.INTER_AREA)
    scaled_min = max(PNET_WINDOW, int(min_face_size * scale))
    found = detector.detect_faces(small, min_face_size=scaled_min, min_score=min_score)
    return [_rescale(d, 1.0 / scale, width, height) for d in found]


def detect_many(images: list[np.ndarray], *, min_face_size: int, min_score: float) -> list[list[Detection]]:
    """`detect` of many photos in one detector batch (P-Net per level shape across photos, R/O-Net once):
    what makes MTCNN worth a GPU. Same results as `detect` photo by photo."""
    return detect_regions([(image, [detector.Region((0, 0, image.shape[1], image.shape[0]), min_face_size)]) for image in images],
                          min_score=min_score)


def detect_regions(items: list[tuple[np.ndarray, list[detector.Region]]], *, min_score: float) -> list[list[Detection]]:
    """Faces in regions of several images (video frames of several cameras), one detector batch for all.

    Images longer than FACEAPP_DETECT_MAX_SIDE are detected on a shrunk copy (regions and face sizes
    shrunk along, never below P-Net's window), boxes mapped back, as `detect` does for photos.
    """
    scaled, factors = [], []
    for image, regions in items:
        height, width = image.shape[:2]
        scale = min(1.0, settings.FACEAPP_DETECT_MAX_SIDE / max(height, width))
        if scale >= 1.0:
            scaled.append((image, regions))
            factors.append(1.0)
            continue
        small = cv2.resize(image, (max(1, round(width * scale)), max(1, round(height * scale))), interpolation=cv2.INTER_AREA)
        small_h, small_w = small.shape[:2]
        shrunk = [
            detector.Region(_scaled_box(r.box, scale, width, height, small_w, small_h), max(PNET_WINDOW, int(r.min_face_size * scale)),
                            None if r.max_face_size is None else r.max_face_size * scale,
                            None if r.base_face_size is None else max(PNET_WINDOW, int(r.base_face_size * scale)))
            for r in regions
        ]
        scaled.append((small, shrunk))
        factors.append(scale)
    found = detector.get_detector().detect_regions_many(scaled, min_score=min_score)
    return [
        detections if factor == 1.0 else [_rescale(d, 1.0 / factor, image.shape[1], image.shape[0]) for d in detections]
        for detections, factor, (image, _) in zip(found, factors, items)
    ]


def _scaled_box(box, scale: float, width: int, height: int, small_w: int, small_h: int) -> tuple[int, int, int, int]:
    if tuple(box) == (0, 0, width, height):
        return (0, 0, small_w, small_h)
    x1, y1, x2, y2 = box
    return (int(x1 * scale), int(y1 * scale), min(small_w, int(np.ceil(x2 * scale))), min(small_h, int(np.ceil(y2 * scale))))


def _rescale(detection: Detection, factor: float, width: int, height: int) -> Detection:
    x1, y1, x2, y2 = (v * factor for v in detection.box)
    box = (max(0.0, x1), max(0.0, y1), min(float(width), x2), min(float(height), y2))
    landmarks = tuple((x * factor, y * factor) for x, y in detection.landmarks)
    return Detection(box=box, landmarks=landmarks, score=detection.score)

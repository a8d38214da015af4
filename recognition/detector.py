"""MTCNN face detection on ONNX Runtime: the detector the pipeline and the camera processing call.

A numpy port of facenet-pytorch 2.6.0's ``models/utils/detect_face.py`` (``detect_face``): image
pyramid → P-Net → per-scale and global NMS → box regression → R-Net → NMS → regression → O-Net →
5 landmarks → regression → "Min" NMS. The stages live in ``recognition/mtcnn/`` (pyramid, proposals,
refine, boxes); this module holds the detector that runs them and turns their arrays into
``Detection`` values. The arithmetic follows the reference step by step in float32, including its
1-based crop indexing, its un-padded crops and its use of ``+1`` widths in ``bbreg`` but not in the
first-stage regression; resampling is OpenCV's area interpolation (see ``mtcnn/pyramid.py``).

Batched: ``detect_many`` runs several images (the frames of several cameras, the windows around
tracked faces) through each stage together: P-Net once per distinct level shape, R-Net and O-Net
once over all candidates. ``detect`` is ``detect_many`` of one image. Few large calls are what make
the cascade worth running on a GPU (``FACEAPP_ORT_PROVIDERS``).

Sessions are injected (``MtcnnDetector(pnet, rnet, onet)``) so the detector runs without Django; the
module-level ``detect_faces`` builds a default detector lazily from ``recognition.runtime``.

ONNX contract (float32, NCHW, RGB, already normalised as ``(x - 127.5) * 0.0078125``):
  P-Net ``input`` [N,3,H,W] → ``reg`` [N,4,h,w], ``prob`` [N,2,h,w];
  R-Net ``input`` [N,3,24,24] → ``reg`` [N,4], ``prob`` [N,2];
  O-Net ``input`` [N,3,48,48] → ``reg`` [N,4], ``landmarks`` [N,10], ``prob`` [N,2].
Face probability is channel 1 of ``prob``.
"""
from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .mtcnn import proposals, pyramid, refine
from .types import Detection

DEFAULT_MIN_FACE_SIZE = 20
# Per-stage probability thresholds of P-Net, R-Net and O-Net (facenet-pytorch's defaults).
DEFAULT_THRESHOLDS = (0.6, 0.7, 0.7)
DEFAULT_SCALE_FACTOR = 0.709
# Final filter on the O-Net face probability (applied after the cascade; detect_raw() skips it).
# The cascade's own last-stage threshold (0.7) is tuned for recall: O-Net scores clear faces of usable
# size at 0.99+, while what survives at 0.7-0.9 is mostly face-like texture and face fragments, and
# at 0.9-0.95 mostly hard faces (blurred, dark, cut by the edge) whose embeddings are unreliable. A
# false detection costs a recognition product more than a missed hard face (a garbage embedding can
# be enrolled or matched), and a score moves by several hundredths with the image's scale and
# compression, so the cut keeps a margin above the weak false positives (which score up to ~0.9):
# 19:1 odds. Same value as settings.FACEAPP_DETECTION_THRESHOLD.
DEFAULT_MIN_SCORE = 0.95

PNET_WINDOW = pyramid.PNET_WINDOW


@dataclass(frozen=True)
class Region:
    """Part of an image to detect in (video: around a tracked face, or where something moved).

    ``box`` is x1, y1, x2, y2 in the image's pixels. The region is scanned on the pyramid the whole
    image would have with minimum face ``base_face_size`` (default: ``min_face_size``), keeping the
    levels that find faces from ``min_face_size`` to ``max_face_size``, so that a face inside it gets
    the box full detection would give it. Faces whose centre lies in the box are returned.
    """

    box: tuple[int, int, int, int]
    min_face_size: float
    max_face_size: float | None = None
    base_face_size: float | None = None


class MtcnnDetector:
    """The MTCNN cascade on three ONNX Runtime sessions (P-Net, R-Net, O-Net).

    Stateless apart from the sessions, so one instance may serve many threads (ONNX Runtime's
    ``InferenceSession.run`` is thread-safe).
    """

    def __init__(
        self,
        pnet,
        rnet,
        onet,
        *,
        min_face_size: float = DEFAULT_MIN_FACE_SIZE,
        thresholds: Sequence[float] = DEFAULT_THRESHOLDS,
        scale_factor: float = DEFAULT_SCALE_FACTOR,
        min_score: float = DEFAULT_MIN_SCORE,
    ):
        self.pnet, self.rnet, self.onet = pnet, rnet, onet
        self._pnet_input = pnet.get_inputs()[0].name
        self._rnet_input = rnet.get_inputs()[0].name
        self._onet_input = onet.get_inputs()[0].name
        self.min_face_size = min_face_size
        self.thresholds = tuple(thresholds)
        self.scale_factor = scale_factor
        self.min_score = min_score

    # ------------------------------------------------------------------ public API

    def detect(
        self,
        image: np.ndarray,
        *,
        min_face_size: float | None = None,
        max_face_size: float | None = None,
        thresholds: Sequence[float] | None = None,
        min_score: float | None = None,
        max_faces: int | None = None,
    ) -> list[Detection]:
        """Faces in an HxWx3 uint8 RGB image, sorted by score, highest first.

        Boxes and landmarks are in the input image's pixel coordinates, clipped to the image
        (x in [0, W], y in [0, H]). A face whose clipped box is shorter than ``min_face_size`` on
        either side, or whose O-Net score is below ``min_score``, is left out. ``max_faces`` keeps
        only that many of the highest-scoring faces. An image too small for the pyramid, or with no
        face, gives an empty list.
        """
        min_face_size = self.min_face_size if min_face_size is None else min_face_size
        (found,) = self.detect_many([image], min_face_size=min_face_size, max_face_size=max_face_size,
                                    thresholds=thresholds, min_score=min_score)
        return found[:max_faces] if max_faces is not None else found

    def detect_many(
        self,
        images: Sequence[np.ndarray],
        *,
        min_face_size: float | Sequence[float] | None = None,
        max_face_size: float | Sequence[float | None] | None = None,
        thresholds: Sequence[float] | None = None,
        min_score: float | None = None,
    ) -> list[list[Detection]]:
        """``detect`` of several images at once, each stage batched across them → one list per image.

        ``min_face_size`` and ``max_face_size`` are one value for all images or one per image.
        """
        images = [_check_image(i) for i in images]
        mins = _per_image(self.min_face_size if min_face_size is None else min_face_size, len(images))
        maxs = _per_image(max_face_size, len(images))
        _check_sizes(mins)
        requests = [
            proposals.Request(n, tuple(pyramid.scales(*image.shape[:2], m, self.scale_factor, x)))
            for n, (image, m, x) in enumerate(zip(images, mins, maxs))
        ]
        raw = self._cascade(images, requests, thresholds)
        min_score = self.min_score if min_score is None else min_score
        return [_detections(boxes, points, image.shape[:2], m, min_score) for (boxes, points), image, m in zip(raw, images, mins)]

    def detect_regions(
        self, image: np.ndarray, regions: Sequence[Region], *, min_score: float | None = None, iou: float = 0.5
    ) -> list[Detection]:
        """Faces whose centre lies in one of the regions of one image, highest score first.

        A face seen from two overlapping regions is kept once (IoU above ``iou``).
        """
        return self.detect_regions_many([(image, regions)], min_score=min_score, iou=iou)[0]

    def detect_regions_many(
        self, items: Sequence[tuple[np.ndarray, Sequence[Region]]], *, min_score: float | None = None, iou: float = 0.5
    ) -> list[list[Detection]]:
        """``detect_regions`` for several images (cameras), all regions of all of them in one batch."""
        images = [_check_image(image) for image, _ in items]
        requests, owners = [], []
        for n, (image, (_, regions)) in enumerate(zip(images, items)):
            height, width = image.shape[:2]
            for region in regions:
                x1, y1, x2, y2 = (int(v) for v in region.box)
                x1, y1, x2, y2 = max(0, x1), max(0, y1), min(width, x2), min(height, y2)
                base = region.base_face_size or region.min_face_size
                _check_sizes([base, region.min_face_size])
                upper = region.max_face_size / self.scale_factor if region.max_face_size is not None else None
                scales = tuple(s for s in pyramid.scales(height, width, base, self.scale_factor)
                               if PNET_WINDOW / s >= region.min_face_size * self.scale_factor and (upper is None or PNET_WINDOW / s <= upper))
                if x2 - x1 < 1 or y2 - y1 < 1 or not scales:
                    continue
                whole = (x1, y1, x2, y2) == (0, 0, width, height)
                requests.append(proposals.Request(n, scales, None if whole else (x1, y1, x2, y2)))
                owners.append((n, region, (x1, y1, x2, y2)))
        raw = self._cascade(images, requests, None) if requests else []
        min_score = self.min_score if min_score is None else min_score
        results: list[list[Detection]] = [[] for _ in items]
        for (n, region, (x1, y1, x2, y2)), (boxes, points) in zip(owners, raw):
            for d in _detections(boxes, points, images[n].shape[:2], region.min_face_size, min_score):
                cx, cy = (d.box[0] + d.box[2]) / 2, (d.box[1] + d.box[3]) / 2
                if x1 <= cx < x2 and y1 <= cy < y2:
                    results[n].append(d)
        return [_dedupe(r, iou) for r in results]

    def detect_raw(
        self,
        image: np.ndarray,
        *,
        min_face_size: float | None = None,
        thresholds: Sequence[float] | None = None,
        scale_factor: float | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """The reference cascade's own output: (boxes [N,5] x1,y1,x2,y2,score; points [N,5,2]).

        float32, unclipped, in the order of the final NMS (score descending) and without the
        ``min_score`` filter: what facenet-pytorch's ``detect_face`` returns for one image.
        """
        image = _check_image(image)
        min_face_size = self.min_face_size if min_face_size is None else min_face_size
        scale_factor = self.scale_factor if scale_factor is None else scale_factor
        _check_sizes([min_face_size])
        if not 0 < scale_factor < 1:
            raise ValueError("scale_factor must lie between 0 and 1")
        request = proposals.Request(0, tuple(pyramid.scales(*image.shape[:2], min_face_size, scale_factor)))
        return self._cascade([image], [request], thresholds)[0]

    # ------------------------------------------------------------------ the cascade

    def _cascade(self, images, requests, thresholds) -> list[tuple[np.ndarray, np.ndarray]]:
        """P-Net, R-Net and O-Net over the requests (images or windows of them) → per request (boxes, points)."""
        thresholds = self.thresholds if thresholds is None else tuple(thresholds)
        if len(thresholds) != 3:
            raise ValueError("thresholds must hold three values (P-Net, R-Net, O-Net)")
        if not requests:
            return []
        samplers = [pyramid.AreaSampler(image) for image in images]
        per_request = [samplers[r.image] for r in requests]
        boxes = proposals.propose(self.pnet, self._pnet_input, requests, samplers, thresholds[0])
        boxes = refine.stage_two(self.rnet, self._rnet_input, per_request, boxes, thresholds[1])
        return refine.stage_three(self.onet, self._onet_input, per_request, boxes, thresholds[2])


# ---------------------------------------------------------------------- module-level default

_default_detector: MtcnnDetector | None = None
_default_lock = threading.Lock()


def get_detector() -> MtcnnDetector:
    """The process-wide detector on the shared sessions of ``recognition.runtime`` (created lazily)."""
    global _default_detector
    detector = _default_detector
    if detector is None:
        with _default_lock:
            detector = _default_detector
            if detector is None:
                from . import runtime

                detector = MtcnnDetector(
                    runtime.get_session("mtcnn_pnet"),
                    runtime.get_session("mtcnn_rnet"),
                    runtime.get_session("mtcnn_onet"),
                )
                _default_detector = detector
    return detector


def detect_faces(
    image: np.ndarray,
    *,
    min_face_size: float = DEFAULT_MIN_FACE_SIZE,
    thresholds: Sequence[float] = DEFAULT_THRESHOLDS,
    min_score: float = DEFAULT_MIN_SCORE,
    max_faces: int | None = None,
) -> list[Detection]:
    """Faces in an HxWx3 uint8 RGB image, highest score first (see ``MtcnnDetector.detect``)."""
    return get_detector().detect(
        image, min_face_size=min_face_size, thresholds=thresholds, min_score=min_score, max_faces=max_faces
    )


# ---------------------------------------------------------------------- helpers


def _check_image(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected an HxWx3 RGB image, got shape {image.shape}")
    if image.dtype != np.uint8:
        raise ValueError(f"expected a uint8 image, got {image.dtype}")
    return image


def _check_sizes(sizes) -> None:
    if any(not (m is not None and m > 0) for m in sizes):
        raise ValueError("min_face_size must be positive")


def _per_image(value, count: int) -> list:
    if isinstance(value, (list, tuple)):
        if len(value) != count:
            raise ValueError("give one face size per image")
        return list(value)
    return [value] * count


def _detections(boxes: np.ndarray, points: np.ndarray, shape, min_face_size: float, min_score: float) -> list[Detection]:
    """The cascade's arrays → Detections sorted by score, clipped to the image, filtered by score and size."""
    if len(boxes) == 0:
        return []
    height, width = shape
    order = np.argsort(-boxes[:, 4], kind="stable")
    detections: list[Detection] = []
    for i in order:
        score = float(boxes[i, 4])
        if score < min_score:
            continue
        x1, x2 = np.clip(boxes[i, [0, 2]].astype(np.float64), 0.0, width)
        y1, y2 = np.clip(boxes[i, [1, 3]].astype(np.float64), 0.0, height)
        if min(x2 - x1, y2 - y1) < min_face_size:
            continue
        px = np.clip(points[i, :, 0].astype(np.float64), 0.0, width)
        py = np.clip(points[i, :, 1].astype(np.float64), 0.0, height)
        detections.append(
            Detection(
                box=(float(x1), float(y1), float(x2), float(y2)),
                landmarks=tuple((float(x), float(y)) for x, y in zip(px, py)),
                score=score,
            )
        )
    return detections


def _dedupe(detections: list[Detection], threshold: float) -> list[Detection]:
    """One detection per face when regions overlapped: highest score first, overlapping ones dropped."""
    detections = sorted(detections, key=lambda d: -d.score)
    kept: list[Detection] = []
    for d in detections:
        if all(_iou(d.box, k.box) <= threshold for k in kept):
            kept.append(d)
    return kept


def _iou(a, b) -> float:
    x1, y1 = max(a[0], b[0]), max(a[1], b[1])
    x2, y2 = min(a[2], b[2]), min(a[3], b[3])
    inter = max(0.0, x2 - x1) * max(0.0, y2 - y1)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


__all__ = [
    "DEFAULT_MIN_FACE_SIZE",
    "Region",
    "DEFAULT_MIN_SCORE",
    "DEFAULT_SCALE_FACTOR",
    "DEFAULT_THRESHOLDS",
    "MtcnnDetector",
    "detect_faces",
    "get_detector",
]

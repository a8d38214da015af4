"""MTCNN face detection on ONNX Runtime.

A numpy port of facenet-pytorch 2.6.0's ``models/utils/detect_face.py`` (``detect_face``): image
pyramid → P-Net → per-scale and global NMS → box regression → R-Net → NMS → regression → O-Net →
5 landmarks → regression → "Min" NMS. The arithmetic follows the reference step by step, in
float32 as torch does, including its 1-based crop indexing (``pad``), its un-padded crops (a box
reaching past the image edge is cut at the edge and the remainder stretched to the net's input)
and its use of ``+1`` widths in ``bbreg`` but not in the first-stage regression.

Resampling: the reference resizes with ``torch.nn.functional.interpolate(mode="area")``, which is
adaptive average pooling (output cell i averages input pixels floor(i·in/out) .. ceil((i+1)·in/out)).
``cv2.resize(INTER_AREA)`` is not the same thing: it weights fractional pixels when shrinking by a
non-integer factor and turns bilinear when enlarging (small faces cropped for the 24/48-pixel R/O-Net
inputs are enlarged). So this module reproduces adaptive average pooling exactly from an integral
image computed once per picture; it is exact, serves every pyramid level and every crop of both
refinement stages, and is vectorised over all crops at once.

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

import cv2
import numpy as np

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

_PNET_STRIDE = 2
_PNET_CELL = 12
_NORM_MEAN = np.float32(127.5)
_NORM_SCALE = np.float32(0.0078125)


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
        min_score = self.min_score if min_score is None else min_score
        boxes, points = self.detect_raw(image, min_face_size=min_face_size, thresholds=thresholds)
        if len(boxes) == 0:
            return []
        height, width = image.shape[:2]
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
            if max_faces is not None and len(detections) >= max_faces:
                break
        return detections

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
        thresholds = self.thresholds if thresholds is None else tuple(thresholds)
        scale_factor = self.scale_factor if scale_factor is None else scale_factor
        if not min_face_size > 0:
            raise ValueError("min_face_size must be positive")
        if len(thresholds) != 3:
            raise ValueError("thresholds must hold three values (P-Net, R-Net, O-Net)")
        if not 0 < scale_factor < 1:
            raise ValueError("scale_factor must lie between 0 and 1")

        empty = np.zeros((0, 5), np.float32), np.zeros((0, 5, 2), np.float32)
        height, width = image.shape[:2]
        scales = _pyramid_scales(height, width, min_face_size, scale_factor)
        if not scales:
            return empty
        integral = _Integral(image)

        boxes = self._stage_one(integral, scales, thresholds[0])
        if len(boxes) == 0:
            return empty
        boxes = self._stage_two(integral, boxes, thresholds[1])
        if len(boxes) == 0:
            return empty
        return self._stage_three(integral, boxes, thresholds[2])

    # ------------------------------------------------------------------ stages

    def _stage_one(self, integral: "_Integral", scales: list[float], threshold: float) -> np.ndarray:
        """P-Net over the pyramid, one run per scale → square candidate boxes [N,5] (float32)."""
        height, width = integral.height, integral.width
        per_scale = []
        for scale in scales:
            level = integral.resize_full(int(height * scale + 1), int(width * scale + 1))
            batch = _normalise(level)[None]
            reg, prob = self.pnet.run(["reg", "prob"], {self._pnet_input: batch})
            candidates = _generate_bounding_box(reg[0], prob[0, 1], scale, threshold)
            if len(candidates):
                keep = _nms_iou(candidates[:, :4], candidates[:, 4], 0.5)
                per_scale.append(candidates[keep])
        if not per_scale:
            return np.zeros((0, 5), np.float32)
        boxes = np.concatenate(per_scale, axis=0)
        boxes = boxes[_nms_iou(boxes[:, :4], boxes[:, 4], 0.7)]

        regw = boxes[:, 2] - boxes[:, 0]
        regh = boxes[:, 3] - boxes[:, 1]
        refined = np.stack(
            [
                boxes[:, 0] + boxes[:, 5] * regw,
                boxes[:, 1] + boxes[:, 6] * regh,
                boxes[:, 2] + boxes[:, 7] * regw,
                boxes[:, 3] + boxes[:, 8] * regh,
                boxes[:, 4],
            ],
            axis=1,
        )
        return _rerec(refined)

    def _stage_two(self, integral: "_Integral", boxes: np.ndarray, threshold: float) -> np.ndarray:
        """R-Net on all candidates in one batch → refined square boxes [N,5]."""
        crops, valid = integral.crops(boxes, 24)
        boxes = boxes[valid]
        if len(boxes) == 0:
            return boxes
        reg, prob = self.rnet.run(["reg", "prob"], {self._rnet_input: _normalise(crops)})
        score = prob[:, 1]
        passed = score > threshold
        boxes = np.concatenate([boxes[passed, :4], score[passed, None]], axis=1)
        reg = reg[passed]
        keep = _nms_iou(boxes[:, :4], boxes[:, 4], 0.7)
        boxes, reg = boxes[keep], reg[keep]
        return _rerec(_bbreg(boxes, reg))

    def _stage_three(self, integral: "_Integral", boxes: np.ndarray, threshold: float) -> tuple[np.ndarray, np.ndarray]:
        """O-Net in one batch → final boxes [N,5] and landmarks [N,5,2]."""
        crops, valid = integral.crops(boxes, 48)
        boxes = boxes[valid]
        if len(boxes) == 0:
            return np.zeros((0, 5), np.float32), np.zeros((0, 5, 2), np.float32)
        reg, landmarks, prob = self.onet.run(["reg", "landmarks", "prob"], {self._onet_input: _normalise(crops)})
        score = prob[:, 1]
        passed = score > threshold
        boxes = np.concatenate([boxes[passed, :4], score[passed, None]], axis=1)
        reg, landmarks = reg[passed], landmarks[passed]

        # Landmarks are relative to the box O-Net saw (1-based, hence the -1), before regression.
        box_w = boxes[:, 2] - boxes[:, 0] + 1
        box_h = boxes[:, 3] - boxes[:, 1] + 1
        points_x = box_w[:, None] * landmarks[:, :5] + boxes[:, 0, None] - 1
        points_y = box_h[:, None] * landmarks[:, 5:10] + boxes[:, 1, None] - 1
        points = np.stack([points_x, points_y], axis=2)
        boxes = _bbreg(boxes, reg)

        keep = _nms_min(boxes[:, :4], boxes[:, 4], 0.7)
        return boxes[keep], points[keep]


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


def _pyramid_scales(height: int, width: int, min_face_size: float, factor: float) -> list[float]:
    """Scales as the reference computes them (Python floats, same accumulation order)."""
    m = 12.0 / min_face_size
    minl = min(height, width) * m
    scales = []
    scale = m
    while minl >= 12:
        scales.append(scale)
        scale = scale * factor
        minl = minl * factor
    return scales


def _normalise(pixels: np.ndarray) -> np.ndarray:
    """float32 pixel values (NCHW, RGB) → net input, as the reference: (x - 127.5) * 0.0078125."""
    pixels -= _NORM_MEAN
    pixels *= _NORM_SCALE
    return pixels


class _Integral:
    """Summed-area tables of one image's three planes: exact adaptive average pooling, as torch's
    ``interpolate(mode="area")``, for the whole image (pyramid levels) and for box crops."""

    def __init__(self, image: np.ndarray):
        self.height, self.width = image.shape[:2]
        # int32 is exact up to 2**31 / 255 pixels (8.4 MP); float64 is exact beyond.
        small = self.height * self.width * 255 < 2**31
        depth, dtype = (cv2.CV_32S, np.int32) if small else (cv2.CV_64F, np.float64)
        # [3, H+1, W+1]: table[c, y, x] = sum of image[:y, :x, c]
        self.table = np.empty((3, self.height + 1, self.width + 1), dtype)
        for c, plane in enumerate(cv2.split(np.ascontiguousarray(image))):
            cv2.integral(plane, self.table[c], sdepth=depth)

    @staticmethod
    def _bins(length, out_size: int):
        """Start/end (exclusive) of each output cell along one axis, as adaptive_avg_pool2d."""
        i = np.arange(out_size)
        length = np.asarray(length)[..., None]
        start = (i * length) // out_size
        end = ((i + 1) * length + out_size - 1) // out_size
        return start, end

    def resize_full(self, out_h: int, out_w: int) -> np.ndarray:
        """The whole image resized to out_h x out_w → [3, out_h, out_w] float32 pixel values."""
        ys, ye = self._bins(self.height, out_h)
        xs, xe = self._bins(self.width, out_w)
        rows = np.take(self.table, ye, axis=1)  # [3, out_h, W+1]: row-band sums, cumulated along x
        rows -= np.take(self.table, ys, axis=1)
        total = np.take(rows, xe, axis=2)
        total -= np.take(rows, xs, axis=2)
        pixels = total.astype(np.float32)
        pixels /= ((ye - ys)[:, None] * (xe - xs)[None, :]).astype(np.float32)
        return pixels

    def crops(self, boxes: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
        """Square net inputs for the boxes, cropped the reference's way → ([M,3,size,size], valid mask).

        The reference's ``pad`` truncates the box to int, clamps x, y to >= 1 and ex, ey to <= W, H,
        then takes the 1-based inclusive range ``img[y-1:ey, x-1:ex]``. Boxes whose range is empty
        (wholly outside the image) cannot be cropped; the reference would fail on them, here they are
        dropped (``valid`` is False).
        """
        b = np.trunc(boxes[:, :4]).astype(np.int64)
        x = np.maximum(b[:, 0], 1)
        y = np.maximum(b[:, 1], 1)
        ex = np.minimum(b[:, 2], self.width)
        ey = np.minimum(b[:, 3], self.height)
        valid = (ey > y - 1) & (ex > x - 1)
        x0, y0 = x[valid] - 1, y[valid] - 1
        ys, ye = self._bins(ey[valid] - y0, size)
        xs, xe = self._bins(ex[valid] - x0, size)
        ys, ye = ys + y0[:, None], ye + y0[:, None]
        xs, xe = xs + x0[:, None], xe + x0[:, None]
        # Index into each flattened plane: row * (W + 1) + col.
        flat = self.table.reshape(3, -1)
        stride = self.width + 1
        re, rs = (ye * stride)[:, :, None], (ys * stride)[:, :, None]
        ce, cs = xe[:, None, :], xs[:, None, :]
        total = flat[:, re + ce] - flat[:, rs + ce] - flat[:, re + cs] + flat[:, rs + cs]  # [3, M, s, s]
        count = (ye - ys)[:, :, None] * (xe - xs)[:, None, :]
        pixels = total.astype(np.float32) / count.astype(np.float32)
        return np.ascontiguousarray(pixels.transpose(1, 0, 2, 3)), valid


def _generate_bounding_box(reg: np.ndarray, prob: np.ndarray, scale: float, threshold: float) -> np.ndarray:
    """P-Net map cells with prob >= threshold → [N,9]: x1,y1,x2,y2 (image px), score, 4 offsets."""
    ys, xs = np.nonzero(prob >= threshold)  # row-major, like torch's nonzero()
    if len(ys) == 0:
        return np.zeros((0, 9), np.float32)
    bb = np.stack([xs, ys], axis=1).astype(np.float32)
    scale32 = np.float32(scale)  # torch divides a float32 tensor by the scalar in float32
    q1 = np.floor((_PNET_STRIDE * bb + 1) / scale32)
    q2 = np.floor((_PNET_STRIDE * bb + _PNET_CELL - 1 + 1) / scale32)
    score = prob[ys, xs][:, None]
    offsets = reg[:, ys, xs].T
    return np.concatenate([q1, q2, score, offsets], axis=1).astype(np.float32)


def _bbreg(boxes: np.ndarray, reg: np.ndarray) -> np.ndarray:
    w = boxes[:, 2] - boxes[:, 0] + 1
    h = boxes[:, 3] - boxes[:, 1] + 1
    out = boxes.copy()
    out[:, 0] = boxes[:, 0] + reg[:, 0] * w
    out[:, 1] = boxes[:, 1] + reg[:, 1] * h
    out[:, 2] = boxes[:, 2] + reg[:, 2] * w
    out[:, 3] = boxes[:, 3] + reg[:, 3] * h
    return out


def _rerec(boxes: np.ndarray) -> np.ndarray:
    """Boxes → squares of side max(w, h) about the same centre (w, h without the +1, as the reference)."""
    h = boxes[:, 3] - boxes[:, 1]
    w = boxes[:, 2] - boxes[:, 0]
    side = np.maximum(w, h)
    out = boxes.copy()
    out[:, 0] = boxes[:, 0] + w * 0.5 - side * 0.5
    out[:, 1] = boxes[:, 1] + h * 0.5 - side * 0.5
    out[:, 2] = out[:, 0] + side
    out[:, 3] = out[:, 1] + side
    return out


def _nms_iou(boxes: np.ndarray, scores: np.ndarray, threshold: float) -> np.ndarray:
    """torchvision.ops.nms: areas without +1, suppress IoU > threshold, highest score first."""
    x1, y1, x2, y2 = boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3]
    areas = (x2 - x1) * (y2 - y1)
    order = np.argsort(-scores, kind="stable")
    keep = []
    while order.size:
        i = order[0]
        keep.append(i)
        rest = order[1:]
        inter = np.maximum(0, np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest])) * np.maximum(
            0, np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest])
        )
        iou = inter / (areas[i] + areas[rest] - inter)
        order = rest[~(iou > threshold)]
    return np.asarray(keep, dtype=np.int64)


def _nms_min(boxes: np.ndarray, scores: np.ndarray, threshold: float) -> np.ndarray:
    """The reference's nms_numpy(..., 'Min'): areas with +1, overlap over the smaller box."""
    x1, y1, x2, y2 = boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3]
    areas = (x2 - x1 + 1) * (y2 - y1 + 1)
    order = np.argsort(scores)
    keep = []
    while order.size:
        i = order[-1]
        keep.append(i)
        idx = order[:-1]
        w = np.maximum(0.0, np.minimum(x2[i], x2[idx]) - np.maximum(x1[i], x1[idx]) + 1)
        h = np.maximum(0.0, np.minimum(y2[i], y2[idx]) - np.maximum(y1[i], y1[idx]) + 1)
        inter = w * h
        overlap = inter / np.minimum(areas[i], areas[idx])
        order = idx[overlap <= threshold]
    return np.asarray(keep, dtype=np.int64)


__all__ = [
    "DEFAULT_MIN_FACE_SIZE",
    "DEFAULT_MIN_SCORE",
    "DEFAULT_SCALE_FACTOR",
    "DEFAULT_THRESHOLDS",
    "MtcnnDetector",
    "detect_faces",
    "get_detector",
]

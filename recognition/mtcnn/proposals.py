"""Stage one: P-Net over every pyramid level of every image → square candidate boxes per image.

P-Net is fully convolutional, so the levels of all images that share a shape run as one batch (the
frames of several cameras at one resolution, the same-sized windows around tracked faces): one ONNX
Runtime call per distinct level shape instead of one per level per image. Per image and level the
map cells scoring at least the threshold become boxes, suppressed per level (IoU 0.5) and then
across levels (IoU 0.7), regressed and made square, as the reference does.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from . import pyramid
from .boxes import nms_iou, rerec

_STRIDE = 2
_CELL = 12


@dataclass(frozen=True)
class Request:
    """One image to scan: its pixels and the face sizes to look for."""

    image: np.ndarray  # HxWx3 uint8 RGB
    min_face_size: float
    max_face_size: float | None = None


def propose(pnet, input_name: str, requests: list[Request], samplers: list[pyramid.AreaSampler], threshold: float,
            factor: float) -> list[np.ndarray]:
    """→ per request, candidate boxes [N, 5] float32 (x1, y1, x2, y2, P-Net score), square.

    ``samplers`` hold each request's image for resampling (``pyramid.AreaSampler``).
    """
    # (request index, scale) of every level, grouped by the level's shape.
    groups: dict[tuple[int, int], list[tuple[int, float]]] = defaultdict(list)
    for index, request in enumerate(requests):
        height, width = request.image.shape[:2]
        for scale in pyramid.scales(height, width, request.min_face_size, factor, request.max_face_size):
            groups[pyramid.level_shape(height, width, scale)].append((index, scale))

    per_level: list[list[tuple[float, np.ndarray]]] = [[] for _ in requests]
    for shape, members in groups.items():
        batch = np.stack([samplers[index].level(shape) for index, _ in members])
        reg, prob = pnet.run(["reg", "prob"], {input_name: batch})
        for n, (index, scale) in enumerate(members):
            candidates = _generate_bounding_box(reg[n], prob[n, 1], scale, threshold)
            if len(candidates):
                per_level[index].append((scale, candidates[nms_iou(candidates[:, :4], candidates[:, 4], 0.5)]))

    results = []
    for levels in per_level:
        if not levels:
            results.append(np.zeros((0, 5), np.float32))
            continue
        levels.sort(key=lambda item: -item[0])  # the reference's order: largest scale first
        boxes = np.concatenate([candidates for _, candidates in levels], axis=0)
        boxes = boxes[nms_iou(boxes[:, :4], boxes[:, 4], 0.7)]
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
        results.append(rerec(refined))
    return results


def _generate_bounding_box(reg: np.ndarray, prob: np.ndarray, scale: float, threshold: float) -> np.ndarray:
    """P-Net map cells with prob >= threshold → [N, 9]: x1, y1, x2, y2 (image px), score, 4 offsets."""
    ys, xs = np.nonzero(prob >= threshold)  # row-major, like torch's nonzero()
    if len(ys) == 0:
        return np.zeros((0, 9), np.float32)
    bb = np.stack([xs, ys], axis=1).astype(np.float32)
    scale32 = np.float32(scale)  # torch divides a float32 tensor by the scalar in float32
    q1 = np.floor((_STRIDE * bb + 1) / scale32)
    q2 = np.floor((_STRIDE * bb + _CELL - 1 + 1) / scale32)
    score = prob[ys, xs][:, None]
    offsets = reg[:, ys, xs].T
    return np.concatenate([q1, q2, score, offsets], axis=1).astype(np.float32)

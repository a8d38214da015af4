"""Stage one: P-Net over every pyramid level of every request → square candidate boxes per request.

A request is an image, or a window of one (video: around a tracked face, where something moved). A
window is scanned on the *whole image's* pyramid: the part of each level that covers the window is
computed (exactly the pixels the whole level has there, on the even cell grid P-Net's stride keeps),
so its candidates are the whole image's candidates in that window, and R-Net and O-Net then crop from
the whole image: a face inside a window is found with the very box full detection gives it, as long as
the same levels are scanned (a size band drops levels, whose candidates then no longer compete in the
suppression: the box may move by a pixel).

P-Net is fully convolutional, so the level parts of all requests that share a shape run as one batch
(the frames of several cameras at one resolution): one ONNX Runtime call per distinct shape instead of
one per level per image. Per request and level the map cells scoring at least the threshold become
boxes, suppressed per level (IoU 0.5) and then across levels (IoU 0.7), regressed and made square, as
the reference does.
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
    """What to scan: an image (its index in the samplers), the pyramid's scales, and optionally a window."""

    image: int
    scales: tuple[float, ...]
    window: tuple[int, int, int, int] | None = None  # x1, y1, x2, y2 in the image's pixels; None: all of it


def propose(pnet, input_name: str, requests: list[Request], samplers: list[pyramid.AreaSampler], threshold: float) -> list[np.ndarray]:
    """→ per request, candidate boxes [N, 5] float32 (x1, y1, x2, y2, P-Net score), square, in image pixels.

    ``samplers`` hold the images for resampling (``pyramid.AreaSampler``), indexed by ``Request.image``.
    """
    # (request index, scale, rows, columns, whole level's shape) of every level part, grouped by the part's shape.
    groups: dict[tuple[int, int], list[tuple]] = defaultdict(list)
    for index, request in enumerate(requests):
        sampler = samplers[request.image]
        height, width = sampler.height, sampler.width
        for scale in request.scales:
            out_h, out_w = pyramid.level_shape(height, width, scale)
            if request.window is None:
                rows, cols = (0, out_h), (0, out_w)
            else:
                x1, y1, x2, y2 = request.window
                # Level pixels covering the window and one P-Net window (12 px) around it, so that every
                # cell reaching into the window sees what it sees in the whole level; starting on an even
                # pixel (P-Net's cells are 2 apart).
                rows = (max(0, y1 * out_h // height - _CELL) // 2 * 2, min(out_h, -(-y2 * out_h // height) + _CELL))
                cols = (max(0, x1 * out_w // width - _CELL) // 2 * 2, min(out_w, -(-x2 * out_w // width) + _CELL))
            if rows[1] - rows[0] < _CELL or cols[1] - cols[0] < _CELL:
                continue
            groups[(rows[1] - rows[0], cols[1] - cols[0])].append((index, scale, rows, cols, (out_h, out_w)))

    per_level: list[list[tuple[float, np.ndarray]]] = [[] for _ in requests]
    for members in groups.values():
        batch = np.stack([
            samplers[requests[index].image].level(shape, rows if rows != (0, shape[0]) else None, cols if cols != (0, shape[1]) else None)
            for index, _, rows, cols, shape in members
        ])
        reg, prob = pnet.run(["reg", "prob"], {input_name: batch})
        for n, (index, scale, rows, cols, _) in enumerate(members):
            candidates = _generate_bounding_box(reg[n], prob[n, 1], scale, threshold, cols[0] // 2, rows[0] // 2)
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


def _generate_bounding_box(reg: np.ndarray, prob: np.ndarray, scale: float, threshold: float, dx: int = 0, dy: int = 0) -> np.ndarray:
    """P-Net map cells with prob >= threshold → [N, 9]: x1, y1, x2, y2 (image px), score, 4 offsets.

    ``dx``, ``dy``: the map's first cell in the whole level's map (a window's part of the level).
    """
    ys, xs = np.nonzero(prob >= threshold)  # row-major, like torch's nonzero()
    if len(ys) == 0:
        return np.zeros((0, 9), np.float32)
    score = prob[ys, xs][:, None]
    offsets = reg[:, ys, xs].T
    bb = np.stack([xs + dx, ys + dy], axis=1).astype(np.float32)
    scale32 = np.float32(scale)  # torch divides a float32 tensor by the scalar in float32
    q1 = np.floor((_STRIDE * bb + 1) / scale32)
    q2 = np.floor((_STRIDE * bb + _CELL - 1 + 1) / scale32)
    return np.concatenate([q1, q2, score, offsets], axis=1).astype(np.float32)

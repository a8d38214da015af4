"""Box arithmetic and non-maximum suppression of the MTCNN cascade, as facenet-pytorch 2.6.0 does it.

Boxes are float32 arrays [N, >=4] (x1, y1, x2, y2, ...). The reference mixes two conventions, kept
here: torchvision's NMS (areas without +1, IoU) for stages one and two, its own numpy "Min" NMS
(areas with +1, overlap over the smaller box) for the last stage; `+1` widths in `bbreg` but not in
the first-stage regression or in `rerec`.
"""
from __future__ import annotations

import numpy as np


def bbreg(boxes: np.ndarray, reg: np.ndarray) -> np.ndarray:
    """Apply the nets' box regression (offsets in units of the +1 box size)."""
    w = boxes[:, 2] - boxes[:, 0] + 1
    h = boxes[:, 3] - boxes[:, 1] + 1
    out = boxes.copy()
    out[:, 0] = boxes[:, 0] + reg[:, 0] * w
    out[:, 1] = boxes[:, 1] + reg[:, 1] * h
    out[:, 2] = boxes[:, 2] + reg[:, 2] * w
    out[:, 3] = boxes[:, 3] + reg[:, 3] * h
    return out


def rerec(boxes: np.ndarray) -> np.ndarray:
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


def nms_iou(boxes: np.ndarray, scores: np.ndarray, threshold: float) -> np.ndarray:
    """torchvision.ops.nms: areas without +1, suppress IoU > threshold, highest score first → kept indices."""
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


def nms_min(boxes: np.ndarray, scores: np.ndarray, threshold: float) -> np.ndarray:
    """The reference's nms_numpy(..., 'Min'): areas with +1, overlap over the smaller box → kept indices."""
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

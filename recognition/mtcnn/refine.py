"""Stages two and three: R-Net and O-Net over the candidates of all images in one batch each.

The candidates of every image are cropped (24 px for R-Net, 48 px for O-Net), run together, and
split back per image for thresholding, suppression and regression, as the reference does per image.
"""
from __future__ import annotations

import numpy as np

from . import pyramid
from .boxes import bbreg, nms_iou, nms_min, rerec

EMPTY_BOXES = np.zeros((0, 5), np.float32)
EMPTY_POINTS = np.zeros((0, 5, 2), np.float32)


def _crop_all(samplers: list[pyramid.AreaSampler], boxes: list[np.ndarray], size: int) -> tuple[np.ndarray, list[np.ndarray]]:
    """Crops of every image's boxes stacked → (pixels [M, 3, s, s], each image's boxes that could be cropped)."""
    pixels, kept = [], []
    for sampler, candidates in zip(samplers, boxes):
        if len(candidates) == 0:
            kept.append(candidates)
            continue
        crops, valid = sampler.crops(candidates, size)
        pixels.append(crops)
        kept.append(candidates[valid])
    if not pixels:
        return np.zeros((0, 3, size, size), np.float32), kept
    return np.concatenate(pixels, axis=0), kept


def _split(array: np.ndarray, boxes: list[np.ndarray]) -> list[np.ndarray]:
    return np.split(array, np.cumsum([len(b) for b in boxes])[:-1]) if boxes else []


def stage_two(rnet, input_name: str, samplers: list[pyramid.AreaSampler], boxes: list[np.ndarray], threshold: float) -> list[np.ndarray]:
    """R-Net → per image refined square boxes [N, 5]."""
    pixels, boxes = _crop_all(samplers, boxes, 24)
    if len(pixels) == 0:
        return [EMPTY_BOXES for _ in samplers]
    reg_all, prob_all = rnet.run(["reg", "prob"], {input_name: pixels})
    results = []
    for candidates, reg, prob in zip(boxes, _split(reg_all, boxes), _split(prob_all, boxes)):
        score = prob[:, 1]
        passed = score > threshold
        candidates = np.concatenate([candidates[passed, :4], score[passed, None]], axis=1)
        if len(candidates) == 0:
            results.append(EMPTY_BOXES)
            continue
        reg = reg[passed]
        keep = nms_iou(candidates[:, :4], candidates[:, 4], 0.7)
        results.append(rerec(bbreg(candidates[keep], reg[keep])))
    return results


def stage_three(onet, input_name: str, samplers: list[pyramid.AreaSampler], boxes: list[np.ndarray], threshold: float) -> list[tuple[np.ndarray, np.ndarray]]:
    """O-Net → per image (final boxes [N, 5], landmarks [N, 5, 2])."""
    pixels, boxes = _crop_all(samplers, boxes, 48)
    if len(pixels) == 0:
        return [(EMPTY_BOXES, EMPTY_POINTS) for _ in samplers]
    reg_all, landmarks_all, prob_all = onet.run(["reg", "landmarks", "prob"], {input_name: pixels})
    results = []
    for candidates, reg, landmarks, prob in zip(boxes, _split(reg_all, boxes), _split(landmarks_all, boxes), _split(prob_all, boxes)):
        score = prob[:, 1]
        passed = score > threshold
        candidates = np.concatenate([candidates[passed, :4], score[passed, None]], axis=1)
        if len(candidates) == 0:
            results.append((EMPTY_BOXES, EMPTY_POINTS))
            continue
        reg, landmarks = reg[passed], landmarks[passed]
        # Landmarks are relative to the box O-Net saw (1-based, hence the -1), before regression.
        box_w = candidates[:, 2] - candidates[:, 0] + 1
        box_h = candidates[:, 3] - candidates[:, 1] + 1
        points_x = box_w[:, None] * landmarks[:, :5] + candidates[:, 0, None] - 1
        points_y = box_h[:, None] * landmarks[:, 5:10] + candidates[:, 1, None] - 1
        points = np.stack([points_x, points_y], axis=2)
        candidates = bbreg(candidates, reg)
        keep = nms_min(candidates[:, :4], candidates[:, 4], 0.7)
        results.append((candidates[keep], points[keep]))
    return results

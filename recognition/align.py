"""The face crop the embedder was trained on: the detector's box plus a margin, resized square.

FaceNet 20180408-102900 was trained on MTCNN boxes enlarged by a margin and resized, without
rotating the face upright, so this stage crops rather than warps. The margin is given in pixels of
the output crop (as in facenet-pytorch's `extract_face`) and scaled to the box's size.
"""
from __future__ import annotations

import cv2
import numpy as np

from .types import Detection

CROP_SIZE = 160
DEFAULT_MARGIN = 32


def crop_face(image: np.ndarray, detection: Detection, *, size: int = CROP_SIZE, margin: int = DEFAULT_MARGIN) -> np.ndarray:
    """HxWx3 uint8 RGB image + detection → size×size×3 uint8 RGB crop."""
    height, width = image.shape[:2]
    x1, y1, x2, y2 = detection.box
    margin_x = margin * (x2 - x1) / (size - margin)
    margin_y = margin * (y2 - y1) / (size - margin)
    left = int(max(x1 - margin_x / 2, 0))
    top = int(max(y1 - margin_y / 2, 0))
    right = int(min(x2 + margin_x / 2, width))
    bottom = int(min(y2 + margin_y / 2, height))
    if right - left < 1 or bottom - top < 1:
        raise ValueError("the face box lies outside the image")
    region = image[top:bottom, left:right]
    shrinking = region.shape[0] > size or region.shape[1] > size
    interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
    return cv2.resize(np.ascontiguousarray(region), (size, size), interpolation=interpolation)

"""The image pyramid P-Net scans, and the square crops R-Net and O-Net take (exact area resampling).

Scales follow the reference (facenet-pytorch 2.6.0's ``detect_face``): the first makes a face of
``min_face_size`` pixels fill P-Net's 12-pixel window, each next one is ``factor`` (0.709) times
smaller, down to a shorter side of 12 pixels; a level is ``int(side · scale + 1)`` pixels. An
optional ``max_face_size`` drops the levels that would only find larger faces (video: a tracked
face is searched near its known size).

Resampling reproduces the reference's ``torch.nn.functional.interpolate(mode="area")`` exactly: that
is adaptive average pooling (output cell i averages input pixels floor(i·in/out) .. ceil((i+1)·in/out)),
which ``cv2.resize(INTER_AREA)`` is not (it weights fractional pixels when shrinking by a non-integer
factor and turns bilinear when enlarging). Measured with `bench/detection.py`, OpenCV's resampling for
the levels or for the crops each lost 2–3 of lfw-dev's 1,930 faces (scores moving across the 0.95
cut), so the exact pooling stays: one summed-area table per image (``cv2.integral`` on the three
plane at a time) serves every level and every crop, each an exact difference of four gathered
corners.

Crops keep the reference's geometry: the box is truncated to int, clamped to the image, and the
1-based inclusive range ``img[y-1:ey, x-1:ex]`` is resized to the net's square input (a box reaching
past the edge is cut there and the rest stretched). A box wholly outside the image cannot be cropped
and is reported invalid.
"""
from __future__ import annotations

import cv2
import numpy as np

PNET_WINDOW = 12
_NORM_MEAN = np.float32(127.5)
_NORM_SCALE = np.float32(0.0078125)


def scales(height: int, width: int, min_face_size: float, factor: float, max_face_size: float | None = None) -> list[float]:
    """The pyramid's scales, as the reference computes them (Python floats, same accumulation order).

    With ``max_face_size``, scales that would only find faces larger than it (by more than one
    pyramid step) are left out.
    """
    m = PNET_WINDOW / min_face_size
    minl = min(height, width) * m
    found = []
    scale = m
    while minl >= PNET_WINDOW:
        if max_face_size is not None and PNET_WINDOW / scale > max_face_size / factor:
            break
        found.append(scale)
        scale = scale * factor
        minl = minl * factor
    return found


def level_shape(height: int, width: int, scale: float) -> tuple[int, int]:
    return int(height * scale + 1), int(width * scale + 1)


def normalise(pixels: np.ndarray) -> np.ndarray:
    """float32 pixel values (RGB) → net input, as the reference: (x - 127.5) * 0.0078125 (in place)."""
    pixels -= _NORM_MEAN
    pixels *= _NORM_SCALE
    return pixels


def _bins(length, out_size: int):
    """Start/end (exclusive) of each output cell along one axis, as adaptive_avg_pool2d."""
    i = np.arange(out_size)
    length = np.asarray(length)[..., None]
    start = (i * length) // out_size
    end = ((i + 1) * length + out_size - 1) // out_size
    return start, end


class AreaSampler:
    """Exact adaptive average pooling of one image, for pyramid levels and box crops."""

    def __init__(self, image: np.ndarray):
        self.height, self.width = image.shape[:2]
        # int32 is exact up to 2**31 / 255 pixels (8.4 MP); float64 is exact beyond.
        small = self.height * self.width * 255 < 2**31
        depth, dtype = (cv2.CV_32S, np.int32) if small else (cv2.CV_64F, np.float64)
        # [3, H+1, W+1]: table[c, y, x] = sum of image[:y, :x, c]
        self.table = np.empty((3, self.height + 1, self.width + 1), dtype)
        for c, plane in enumerate(cv2.split(np.ascontiguousarray(image))):
            cv2.integral(plane, self.table[c], sdepth=depth)

    def level(self, shape: tuple[int, int], rows: tuple[int, int] | None = None, cols: tuple[int, int] | None = None) -> np.ndarray:
        """The whole image resized to shape (h, w) → P-Net input [3, h, w] float32, normalised.

        ``rows`` and ``cols`` (start, end) compute only that part of the level: exactly the same pixels
        as the whole level has there.
        """
        out_h, out_w = shape
        ys, ye = _bins(self.height, out_h)
        xs, xe = _bins(self.width, out_w)
        if rows is not None:
            ys, ye = ys[rows[0]: rows[1]], ye[rows[0]: rows[1]]
        if cols is not None:
            xs, xe = xs[cols[0]: cols[1]], xe[cols[0]: cols[1]]
        rows = np.take(self.table, ye, axis=1)  # [3, out_h, W+1]: row-band sums, cumulated along x
        rows -= np.take(self.table, ys, axis=1)
        total = np.take(rows, xe, axis=2)
        total -= np.take(rows, xs, axis=2)
        pixels = total.astype(np.float32)
        pixels /= ((ye - ys)[:, None] * (xe - xs)[None, :]).astype(np.float32)
        return normalise(pixels)

    def crops(self, boxes: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
        """Square net inputs for the boxes → ([M, 3, size, size] float32 normalised, valid mask [N])."""
        b = np.trunc(boxes[:, :4]).astype(np.int64)
        x = np.maximum(b[:, 0], 1)
        y = np.maximum(b[:, 1], 1)
        ex = np.minimum(b[:, 2], self.width)
        ey = np.minimum(b[:, 3], self.height)
        valid = (ey > y - 1) & (ex > x - 1)
        x0, y0 = x[valid] - 1, y[valid] - 1
        ys, ye = _bins(ey[valid] - y0, size)
        xs, xe = _bins(ex[valid] - x0, size)
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
        return normalise(np.ascontiguousarray(pixels.transpose(1, 0, 2, 3))), valid

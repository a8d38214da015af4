"""recognition.mtcnn.pyramid: the pyramid's scales and the exact area resampling of levels and crops."""
from __future__ import annotations

import numpy as np

from recognition.mtcnn import pyramid


def adaptive_average_pool(image: np.ndarray, out_h: int, out_w: int) -> np.ndarray:
    """The definition (torch's interpolate(mode="area")), one cell at a time → [out_h, out_w, 3] float64."""
    height, width = image.shape[:2]
    out = np.empty((out_h, out_w, 3))
    for i in range(out_h):
        y0, y1 = (i * height) // out_h, -((-(i + 1) * height) // out_h)
        for j in range(out_w):
            x0, x1 = (j * width) // out_w, -((-(j + 1) * width) // out_w)
            out[i, j] = image[y0:y1, x0:x1].reshape(-1, 3).mean(axis=0)
    return out


def unnormalise(pixels: np.ndarray) -> np.ndarray:
    return pixels / 0.0078125 + 127.5


def test_a_level_is_the_exact_adaptive_average_of_the_image():
    image = np.random.default_rng(0).integers(0, 256, (37, 53, 3), dtype=np.uint8)
    sampler = pyramid.AreaSampler(image)
    for shape in [(37, 53), (20, 29), (11, 7), (50, 70)]:  # same, shrink, odd ratios, enlarge
        level = sampler.level(shape)
        assert level.shape == (3, *shape) and level.dtype == np.float32
        np.testing.assert_allclose(unnormalise(level).transpose(1, 2, 0), adaptive_average_pool(image, *shape), atol=1e-3)


def test_crops_follow_the_reference_geometry_and_resampling():
    image = np.random.default_rng(1).integers(0, 256, (60, 80, 3), dtype=np.uint8)
    boxes = np.array([[10.7, 5.2, 40.9, 35.1, 0.9], [-5, -5, 10, 10, 0.8], [70, 50, 95, 75, 0.7], [100, 100, 120, 120, 0.6]], np.float32)
    pixels, valid = pyramid.AreaSampler(image).crops(boxes, 24)
    assert valid.tolist() == [True, True, True, False]
    assert pixels.shape == (3, 3, 24, 24)
    # 1-based inclusive range after truncation and clamping: img[y-1:ey, x-1:ex].
    expected = [image[4:35, 9:40], image[0:10, 0:10], image[49:60, 69:80]]
    for crop, region in zip(pixels, expected):
        np.testing.assert_allclose(unnormalise(crop).transpose(1, 2, 0), adaptive_average_pool(region, 24, 24), atol=1e-3)


def test_scales_start_at_the_minimum_face_and_stop_at_the_window():
    scales = pyramid.scales(250, 250, 20, 0.709)
    assert scales[0] == 12 / 20
    assert all(b == a * 0.709 for a, b in zip(scales, scales[1:]))
    assert 250 * scales[-1] >= 12 > 250 * scales[-1] * 0.709


def test_max_face_size_drops_the_levels_for_larger_faces():
    every = pyramid.scales(480, 640, 20, 0.709)
    capped = pyramid.scales(480, 640, 20, 0.709, max_face_size=60)
    assert capped == every[: len(capped)] and 0 < len(capped) < len(every)
    # The last level kept still finds a face of max_face_size (12 / scale ≥ 60 within one step).
    assert 12 / capped[-1] <= 60 / 0.709 and 12 / capped[-1] * (1 / 0.709) > 60 / 0.709

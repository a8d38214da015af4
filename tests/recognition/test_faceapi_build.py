"""The face-api age/gender build (recognition/model_build/faceapi_onnx.py): the weights reader, the graph written
from face-api's code, and the converted model's fidelity against face-api itself (tests/fixtures/faceapi_reference.npz,
recorded by tools/faceapi_reference.py: @vladmandic/face-api 1.7.15 on @tensorflow/tfjs 4.22.0's CPU backend).
No database."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from recognition import attribute_models
from recognition.model_build import faceapi_onnx

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "faceapi_reference.npz"
# Measured when the fixture was recorded: gender 1.2e-7, age 1.1e-5 (of ages 21–59 years); the bounds leave
# room for other CPUs' kernels, and are far below what a wrong padding, mean or layer order gives (whole years).
MAX_GENDER_DIFFERENCE = 1e-4
MAX_AGE_DIFFERENCE = 5e-4
MODEL = attribute_models.MODELS["faceapi-age-gender"]


@pytest.fixture(scope="module")
def reference():
    return dict(np.load(FIXTURE))


@pytest.fixture(scope="module")
def session(models_ready):
    import onnxruntime as ort
    from django.conf import settings

    path = Path(settings.FACEAPP_MODEL_DIR) / f"{faceapi_onnx.MODEL_NAME}.onnx"
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def test_the_converted_model_matches_face_api_run_in_node(reference, session):
    """face-api normalised the uint8 crops itself (toNetInput, mean RGB, /255); faceapp's scaling feeds the ONNX model."""
    age, gender = session.run(["age", "gender"], {"input": attribute_models.scale_pixels(reference["crops"], MODEL)})
    assert age.shape == reference["age"].shape and gender.shape == reference["gender"].shape
    assert np.abs(gender - reference["gender"]).max() < MAX_GENDER_DIFFERENCE
    assert np.abs(age - reference["age"]).max() < MAX_AGE_DIFFERENCE
    # The recorded faces are two men, a woman and a man, and the model tells them apart.
    assert [d["gender"] for d in MODEL.decode({"age": age, "gender": gender})] == ["male", "female", "male", "male"]


def test_faces_of_a_batch_are_independent(reference, session):
    batch = attribute_models.scale_pixels(reference["crops"], MODEL)
    together = session.run(["gender"], {"input": batch})[0]
    alone = np.concatenate([session.run(["gender"], {"input": batch[i : i + 1]})[0] for i in range(len(batch))])
    assert np.allclose(together, alone, atol=1e-6)


def test_manifest_records_the_npm_source_and_the_licence(models_ready):
    entry = models_ready["models"][faceapi_onnx.MODEL_NAME]
    assert entry["source"]["npm_package"] == "@vladmandic/face-api"
    assert entry["source"]["version"] == "1.7.15"
    assert entry["source"]["integrity"] == faceapi_onnx.PACKAGE.integrity
    assert entry["source"]["file"] == "model/age_gender_model-weights_manifest.json"
    assert entry["licence"].startswith("MIT")


def test_the_reference_tool_pins_the_tarball_the_build_pins():
    lock = json.loads((Path(__file__).resolve().parents[2] / "tools" / "faceapi_reference" / "package-lock.json").read_text())
    locked = lock["packages"]["node_modules/@vladmandic/face-api"]
    assert (locked["version"], locked["integrity"]) == (faceapi_onnx.PACKAGE.version, faceapi_onnx.PACKAGE.integrity)


# --- the weights reader ----------------------------------------------------------------------------


def _manifest(weights: list[dict], paths=("w.bin",)) -> bytes:
    return json.dumps([{"paths": list(paths), "weights": weights}]).encode()


def test_uint8_weights_are_dequantised_as_tfjs_does_and_float32_read_as_is():
    q = np.array([0, 1, 200, 255], dtype=np.uint8)
    floats = np.array([0.25, -3.5], dtype="<f4")
    manifest = _manifest([
        {"name": "q", "shape": [2, 2], "dtype": "float32", "quantization": {"dtype": "uint8", "scale": 0.01, "min": -1.27}},
        {"name": "f", "shape": [2], "dtype": "float32"},
    ], paths=("a.bin", "b.bin"))
    data = q.tobytes() + floats.tobytes()
    weights = faceapi_onnx.decode_weights(manifest, {"a.bin": data[:3], "b.bin": data[3:]})  # shards are one buffer
    assert weights["q"].dtype == np.float32 and weights["q"].shape == (2, 2)
    assert np.allclose(weights["q"].ravel(), [-1.27, -1.26, 0.73, 1.28], atol=1e-6)
    assert weights["f"].tolist() == [0.25, -3.5]


def test_bytes_left_over_or_an_unknown_encoding_are_refused():
    manifest = _manifest([{"name": "f", "shape": [1], "dtype": "float32"}])
    with pytest.raises(faceapi_onnx.FaceApiError, match="left"):
        faceapi_onnx.decode_weights(manifest, {"w.bin": b"\0" * 8})
    manifest = _manifest([{"name": "h", "shape": [1], "dtype": "float32", "quantization": {"dtype": "float16"}}])
    with pytest.raises(faceapi_onnx.FaceApiError, match="float16"):
        faceapi_onnx.decode_weights(manifest, {"w.bin": b"\0" * 2})


@pytest.mark.parametrize("size, kernel, stride, out, pads", [
    (112, 3, 2, 56, [0, 0, 1, 1]),  # TF's 'same': the odd pixel at the end
    (56, 3, 2, 28, [0, 0, 1, 1]),
    (14, 3, 1, 14, [1, 1, 1, 1]),
    (56, 1, 2, 28, [0, 0, 0, 0]),
    (7, 3, 2, 4, [1, 1, 1, 1]),
])
def test_same_padding_follows_tensorflow(size, kernel, stride, out, pads):
    assert faceapi_onnx._same_pads(size, kernel, stride) == (out, pads)


# --- the graph, on synthetic weights of face-api's shapes ----------------------------------------------


def _synthetic_weights(seed=0) -> dict[str, np.ndarray]:
    """Random tensors with the names and shapes of face-api's TinyXception(2) + AgeGenderNet (xception/extractParams.ts)."""
    rng = np.random.default_rng(seed)
    shapes = {"entry_flow/conv_in/filters": [3, 3, 3, 32], "entry_flow/conv_in/bias": [32]}

    def separable(prefix, cin, cout):
        shapes.update({f"{prefix}/depthwise_filter": [3, 3, cin, 1], f"{prefix}/pointwise_filter": [1, 1, cin, cout],
                       f"{prefix}/bias": [cout]})

    def reduction(prefix, cin, cout):
        separable(f"{prefix}/separable_conv0", cin, cout)
        separable(f"{prefix}/separable_conv1", cout, cout)
        shapes.update({f"{prefix}/expansion_conv/filters": [1, 1, cin, cout], f"{prefix}/expansion_conv/bias": [cout]})

    reduction("entry_flow/reduction_block_0", 32, 64)
    reduction("entry_flow/reduction_block_1", 64, 128)
    for block in range(2):
        for conv in range(3):
            separable(f"middle_flow/main_block_{block}/separable_conv{conv}", 128, 128)
    reduction("exit_flow/reduction_block", 128, 256)
    separable("exit_flow/separable_conv", 256, 512)
    shapes.update({"fc/age/weights": [512, 1], "fc/age/bias": [1], "fc/gender/weights": [512, 2], "fc/gender/bias": [2]})
    return {name: (rng.standard_normal(shape) * 0.1).astype(np.float32) for name, shape in shapes.items()}


def _as_source(weights: dict[str, np.ndarray]) -> tuple[bytes, dict[str, bytes]]:
    specs = [{"name": name, "shape": list(value.shape), "dtype": "float32"} for name, value in weights.items()]
    return _manifest(specs), {"w.bin": b"".join(v.astype("<f4").tobytes() for v in weights.values())}


def test_the_graph_of_face_apis_shapes_converts_and_gives_a_softmax_and_an_age():
    import onnxruntime as ort

    model = faceapi_onnx.convert(*_as_source(_synthetic_weights()))
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    x = np.random.default_rng(1).standard_normal((3, 112, 112, 3)).astype(np.float32) * 0.3
    age, gender = session.run(["age", "gender"], {"input": x})
    assert age.shape == (3, 1) and gender.shape == (3, 2)
    assert np.allclose(gender.sum(axis=1), 1, atol=1e-5)
    assert np.ptp(age) > 0  # the faces differ, so do the outputs


def test_a_missing_or_an_unexpected_tensor_is_named_and_refused():
    weights = _synthetic_weights()
    del weights["middle_flow/main_block_1/separable_conv2/bias"]
    with pytest.raises(faceapi_onnx.FaceApiError, match="main_block_1/separable_conv2/bias"):
        faceapi_onnx.convert(*_as_source(weights))
    weights = _synthetic_weights()
    weights["middle_flow/main_block_2/separable_conv0/bias"] = np.zeros(128, np.float32)  # a third main block
    with pytest.raises(faceapi_onnx.FaceApiError, match="main_block_2"):
        faceapi_onnx.convert(*_as_source(weights))

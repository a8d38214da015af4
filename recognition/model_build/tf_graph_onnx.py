"""Build-time converter: a TensorFlow GraphDef (frozen .pb, or TF.js model.json) -> ONNX, without TensorFlow.

The GraphDef is read with the protobuf classes that the ``tensorboard`` wheel vendors, and each TF op is
mapped to ONNX ops with ``onnx.helper``. Each caller names the ops its network may hold (``allowed_ops``):
a graph with anything else is refused, so a different file cannot slip through as a different network.

Layout: 4-D activations are NHWC in TF and NCHW in ONNX (Conv/Pool). An input is transposed once to NCHW;
4-D tensors stay NCHW inside, and are transposed back to NHWC only where an op needs TF's memory order
(Reshape, MatMul, a reduction that keeps H or W, a slice). ``_Value.shape`` is always the TF (logical)
shape with the batch dimension None.

* Conv2D / _FusedConv2D (+ the BiasAdd that follows or is fused, + a fused Relu) -> Conv with HWIO->OIHW
  weights and explicit pads; DepthwiseConv2dNative -> Conv with group = input channels. TF ``SAME``
  padding is computed from the static shapes: total = max((ceil(in/s)-1)*s + k - in, 0),
  begin = total // 2, end = total - begin (TF pads the extra pixel at the bottom/right).
* MaxPool/AvgPool -> MaxPool/AveragePool with explicit pads (AvgPool SAME excludes the padding from the
  count, as TF does). Mean/Max over H and W (global pooling) -> ReduceMean/ReduceMax.
* MatMul / _FusedMatMul (+ BiasAdd, + Relu) -> MatMul + Add (+ Relu).
* Reshape -> Reshape with the batch dimension made symbolic (TF froze batch 1 or -1 into the shape).
* FusedBatchNorm (inference) -> Mul + Add with per-channel constants folded in float64.
* Element-wise: Add/AddV2, Sub, Mul, RealDiv, Maximum, Minimum, Relu, Sigmoid, Tanh, Softmax (last axis),
  Square, Rsqrt; Sum; StridedSlice (begin/end/shrink masks, no ellipsis or new axes) -> Slice + Squeeze;
  ExpandDims -> Unsqueeze; ConcatV2 -> Concat.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

OPSET = 17
IR_VERSION = 8  # the IR version that goes with opset 17; loads in every onnxruntime since 1.11

NHWC_TO_NCHW = (0, 3, 1, 2)
NCHW_TO_NHWC = (0, 2, 3, 1)

# TF DataType enum -> numpy dtype, for the constants these graphs hold.
_TF_DTYPES = {1: np.float32, 2: np.float64, 3: np.int32, 9: np.int64}
_TF_VALUE_FIELDS = {1: "float_val", 2: "double_val", 3: "int_val", 9: "int64_val"}
_FUSED_ACTIVATIONS = {"Relu": "Relu"}


class ConversionError(RuntimeError):
    """The graph holds something this converter does not handle."""


def tensor_to_numpy(tensor) -> np.ndarray:
    dtype = _TF_DTYPES.get(tensor.dtype)
    if dtype is None:
        raise ConversionError(f"unsupported constant dtype (TF DataType {tensor.dtype})")
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


def clean_input(name: str) -> str:
    if name.endswith(":0"):
        return name[:-2]
    if ":" in name:
        raise ConversionError(f"input {name!r} uses a secondary output of a node")
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


def same_pads(size: int, kernel: int, stride: int) -> tuple[int, int, int]:
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2, out


def valid_out(size: int, kernel: int, stride: int) -> int:
    return (size - kernel) // stride + 1


class Converter:
    """One GraphDef -> ONNX nodes and initializers. ``inputs``: placeholder name -> expected TF shape."""

    def __init__(self, graph_def, *, inputs: dict[str, tuple], allowed_ops, error=ConversionError):
        self.error = error
        self.expected_inputs = {name: tuple(shape) for name, shape in inputs.items()}
        self.allowed_ops = tuple(allowed_ops)
        self.nodes = {}
        for node in graph_def.node:
            if node.name in self.nodes:
                raise self.error(f"duplicate node name {node.name!r}")
            self.nodes[node.name] = node
        self.consumers: dict[str, int] = {}
        for node in graph_def.node:
            for inp in node.input:
                if not inp.startswith("^"):
                    key = self._clean(inp)
                    self.consumers[key] = self.consumers.get(key, 0) + 1
        self.values: dict[str, _Value] = {}
        self.consts: dict[str, np.ndarray] = {}
        self.onnx_nodes = []
        self.initializers = {}
        # ONNX names: TF op nodes keep their names; initializers may reuse names of TF Const nodes.
        self.used_names: set[str] = {n.name for n in graph_def.node if n.op != "Const"}
        self.fused_bias: set[str] = set()

    def _clean(self, name: str) -> str:
        try:
            return clean_input(name)
        except ConversionError as exc:
            raise self.error(str(exc)) from None

    # ---------- helpers ----------
    def _unique(self, base: str) -> str:
        name, i = base, 1
        while name in self.used_names:
            name = f"{base}_{i}"
            i += 1
        self.used_names.add(name)
        return name

    def node(self, op_type, inputs, outputs, name, **attrs):
        from onnx import helper

        self.onnx_nodes.append(helper.make_node(op_type, inputs, outputs, name=name, **attrs))

    _node = node

    def _initializer(self, base: str, array: np.ndarray) -> str:
        from onnx import numpy_helper

        name = self._unique(base)
        self.initializers[name] = numpy_helper.from_array(np.ascontiguousarray(array), name)
        return name

    def _const(self, tf_name: str) -> np.ndarray:
        node = self.nodes.get(tf_name)
        while node is not None and node.op == "Identity":
            node = self.nodes.get(self._clean(node.input[0]))
        if node is None or node.op != "Const":
            raise self.error(f"expected a constant for {tf_name!r}")
        if node.name not in self.consts:
            try:
                self.consts[node.name] = tensor_to_numpy(node.attr["value"].tensor)
            except ConversionError as exc:
                raise self.error(f"{node.name}: {exc}") from None
        return self.consts[node.name]

    def _is_const(self, tf_name: str) -> bool:
        node = self.nodes.get(tf_name)
        while node is not None and node.op == "Identity":
            node = self.nodes.get(self._clean(node.input[0]))
        return node is not None and node.op == "Const"

    def as_nhwc(self, v: _Value) -> _Value:
        if not v.nchw:
            return v
        out = self._unique(v.name + "/to_nhwc")
        self.node("Transpose", [v.name], [out], out, perm=list(NCHW_TO_NHWC))
        return _Value(out, v.shape, nchw=False)

    _as_nhwc = as_nhwc

    def _as_nchw(self, v: _Value) -> _Value:
        if v.nchw:
            return v
        if len(v.shape) != 4:
            raise self.error(f"{v.name}: cannot lay out a {len(v.shape)}-D tensor as NCHW")
        out = self._unique(v.name + "/to_nchw")
        self.node("Transpose", [v.name], [out], out, perm=list(NHWC_TO_NCHW))
        return _Value(out, v.shape, nchw=True)

    @staticmethod
    def _attr_ints(node, key):
        return list(node.attr[key].list.i)

    def _check_nhwc(self, node):
        if "data_format" in node.attr and node.attr["data_format"].s not in (b"NHWC", b""):
            raise self.error(f"{node.name}: data_format {node.attr['data_format'].s!r} unsupported")

    # ---------- traversal ----------
    def order(self, outputs) -> list:
        """TF nodes needed for ``outputs``, in topological order (a .pb need not be ordered)."""
        if isinstance(outputs, str):
            outputs = [outputs]
        ordered, state = [], {}
        stack = [(output, False) for output in reversed(outputs)]
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
                raise self.error(f"cycle through {name!r}")
            if name not in self.nodes:
                raise self.error(f"node {name!r} is referenced but missing")
            state[name] = 1
            stack.append((name, True))
            for inp in reversed(self.nodes[name].input):
                if inp.startswith("^"):
                    continue  # control dependencies carry no data
                dep = self._clean(inp)
                if state.get(dep) != 2:
                    if state.get(dep) == 1:
                        raise self.error(f"cycle through {dep!r}")
                    stack.append((dep, False))
        return ordered

    def convert(self, outputs):
        """Convert what ``outputs`` (a TF node name, or a list of them) need; returns their _Values."""
        single = isinstance(outputs, str)
        names = [outputs] if single else list(outputs)
        order = self.order(names)
        unsupported = sorted({n.op for n in order if n.op not in self.allowed_ops})
        if unsupported:
            raise self.error(f"unsupported TensorFlow op(s): {', '.join(unsupported)}")
        for node in order:
            if node.op == "Const":
                continue  # materialised by consumers (weights, shapes, axes)
            if node.name in self.fused_bias and node.op == "BiasAdd":
                continue
            handler = getattr(self, "_op_" + node.op.lstrip("_"), None)
            if handler is None:
                raise self.error(f"unsupported TensorFlow op: {node.op}")
            handler(node)
        results = [self.values[name] for name in names]
        return results[0] if single else results

    def _in(self, node, i) -> _Value:
        name = self._clean(node.input[i])
        if name in self.values:
            return self.values[name]
        if self._is_const(name):
            arr = self._const(name)
            v = _Value(self._initializer(name, arr.astype(np.float32)), tuple(arr.shape))
            self.values[name] = v
            return v
        raise self.error(f"{node.name}: input {name!r} was not converted")

    def _data_inputs(self, node):
        return [i for i in node.input if not i.startswith("^")]

    # ---------- ops ----------
    def _op_Placeholder(self, node):
        expected = self.expected_inputs.get(node.name)
        if expected is None:
            raise self.error(f"unexpected placeholder {node.name!r}")
        dims = [d.size for d in node.attr["shape"].shape.dim]
        if len(dims) != len(expected) or dims[1:] != list(expected[1:]):
            raise self.error(f"input shape {dims} is not {['N', *expected[1:]]}")
        value = _Value(node.name, (None, *dims[1:]))
        self.values[node.name] = self._as_nchw(value) if len(dims) == 4 else value

    def _op_Identity(self, node):
        self.values[node.name] = self._in(node, 0)

    def _conv_geometry(self, node, x, kh, kw):
        _, h, wd, _ = x.shape
        strides = self._attr_ints(node, "strides") or [1, 1, 1, 1]
        dil = self._attr_ints(node, "dilations") or [1, 1, 1, 1]
        if strides[0] != 1 or strides[3] != 1 or dil != [1, 1, 1, 1]:
            raise self.error(f"{node.name}: strides {strides} / dilations {dil} unsupported")
        pads, (oh, ow) = self._pads(node, (h, wd), (kh, kw), strides[1:3])
        return strides[1:3], pads, oh, ow

    def _op_Conv2D(self, node):
        self._check_nhwc(node)
        x = self._as_nchw(self._in(node, 0))
        w = self._const(self._clean(node.input[1]))  # HWIO
        kh, kw, cin, cout = w.shape
        if x.shape[3] != cin:
            raise self.error(f"{node.name}: {x.shape[3]} input channels, weights expect {cin}")
        strides, pads, oh, ow = self._conv_geometry(node, x, kh, kw)
        inputs = [x.name, self._initializer(node.name + "/weights_oihw", w.transpose(3, 2, 0, 1))]
        out_name = node.name
        # fold the BiasAdd that consumes this conv (and nothing else does) into the Conv
        bias_node = self._sole_consumer(node.name, "BiasAdd")
        if bias_node is not None and self._is_const(self._clean(bias_node.input[1])):
            self._check_nhwc(bias_node)
            b = self._const(self._clean(bias_node.input[1]))
            if b.shape != (cout,):
                raise self.error(f"{bias_node.name}: bias shape {b.shape}")
            inputs.append(self._initializer(bias_node.name + "/bias", b.astype(np.float32)))
            self.fused_bias.add(bias_node.name)
            out_name = bias_node.name
        self.node(
            "Conv", inputs, [out_name], out_name,
            kernel_shape=[kh, kw], strides=list(strides), pads=pads, dilations=[1, 1], group=1,
        )
        self.values[out_name] = _Value(out_name, (None, oh, ow, cout), nchw=True)

    def _fused_ops(self, node) -> list[str]:
        ops = [s.decode() for s in node.attr["fused_ops"].list.s]
        if not ops or ops[0] != "BiasAdd" or any(op not in _FUSED_ACTIVATIONS for op in ops[1:]) or len(ops) > 2:
            raise self.error(f"{node.name}: fused ops {ops} unsupported")
        if len(self._data_inputs(node)) != 3:
            raise self.error(f"{node.name}: expected input, weights and bias")
        return ops

    def _fused_activation(self, node, ops, conv_out: str, shape, nchw: bool):
        if len(ops) == 1:
            self.values[node.name] = _Value(conv_out, shape, nchw)
            return
        self.node(_FUSED_ACTIVATIONS[ops[1]], [conv_out], [node.name], node.name)
        self.values[node.name] = _Value(node.name, shape, nchw)

    def _op_FusedConv2D(self, node):
        self._check_nhwc(node)
        ops = self._fused_ops(node)
        x = self._as_nchw(self._in(node, 0))
        w = self._const(self._clean(node.input[1]))  # HWIO
        b = self._const(self._clean(node.input[2]))
        kh, kw, cin, cout = w.shape
        if x.shape[3] != cin or b.shape != (cout,):
            raise self.error(f"{node.name}: {x.shape[3]} input channels, weights {w.shape}, bias {b.shape}")
        strides, pads, oh, ow = self._conv_geometry(node, x, kh, kw)
        conv_out = node.name if len(ops) == 1 else self._unique(node.name + "/conv")
        self.node(
            "Conv",
            [x.name, self._initializer(node.name + "/weights_oihw", w.transpose(3, 2, 0, 1)),
             self._initializer(node.name + "/bias", b.astype(np.float32))],
            [conv_out], conv_out,
            kernel_shape=[kh, kw], strides=list(strides), pads=pads, dilations=[1, 1], group=1,
        )
        self._fused_activation(node, ops, conv_out, (None, oh, ow, cout), True)

    def _op_DepthwiseConv2dNative(self, node):
        self._check_nhwc(node)
        x = self._as_nchw(self._in(node, 0))
        w = self._const(self._clean(node.input[1]))  # H, W, in channels, multiplier
        kh, kw, cin, multiplier = w.shape
        if x.shape[3] != cin:
            raise self.error(f"{node.name}: {x.shape[3]} input channels, weights expect {cin}")
        strides, pads, oh, ow = self._conv_geometry(node, x, kh, kw)
        # TF's output channel c * multiplier + m reads input channel c: ONNX groups of one channel each.
        weights = w.transpose(2, 3, 0, 1).reshape(cin * multiplier, 1, kh, kw)
        self.node(
            "Conv", [x.name, self._initializer(node.name + "/weights_oihw", weights)], [node.name], node.name,
            kernel_shape=[kh, kw], strides=list(strides), pads=pads, dilations=[1, 1], group=cin,
        )
        self.values[node.name] = _Value(node.name, (None, oh, ow, cin * multiplier), nchw=True)

    def _sole_consumer(self, name, op):
        if self.consumers.get(name) != 1:
            return None
        for n in self.nodes.values():
            if n.op == op and n.input and self._clean(n.input[0]) == name:
                return n
        return None

    def _pads(self, node, hw, khw, strides):
        padding = node.attr["padding"].s
        if padding == b"SAME":
            t, b, oh = same_pads(hw[0], khw[0], strides[0])
            left, r, ow = same_pads(hw[1], khw[1], strides[1])
            return [t, left, b, r], (oh, ow)
        if padding == b"VALID":
            return [0, 0, 0, 0], (valid_out(hw[0], khw[0], strides[0]), valid_out(hw[1], khw[1], strides[1]))
        raise self.error(f"{node.name}: padding {padding!r} unsupported")

    def _op_BiasAdd(self, node):
        self._check_nhwc(node)
        x = self._in(node, 0)
        b = self._const(self._clean(node.input[1]))
        const = b.reshape(-1, 1, 1) if x.nchw else b
        name = self._initializer(node.name + "/bias", const.astype(np.float32))
        self.node("Add", [x.name, name], [node.name], node.name)
        self.values[node.name] = _Value(node.name, x.shape, x.nchw)

    def _unary(self, node, onnx_op, **attrs):
        x = self._in(node, 0)
        self.node(onnx_op, [x.name], [node.name], node.name, **attrs)
        self.values[node.name] = _Value(node.name, x.shape, x.nchw)

    def _op_Relu(self, node):
        self._unary(node, "Relu")

    def _op_Sigmoid(self, node):
        self._unary(node, "Sigmoid")

    def _op_Tanh(self, node):
        self._unary(node, "Tanh")

    def _op_Softmax(self, node):
        x = self.as_nhwc(self._in(node, 0))  # TF's softmax runs over the last (channel) axis
        self.node("Softmax", [x.name], [node.name], node.name, axis=-1)
        self.values[node.name] = _Value(node.name, x.shape, False)

    def _pool(self, node, onnx_op):
        self._check_nhwc(node)
        x = self._as_nchw(self._in(node, 0))
        ksize = self._attr_ints(node, "ksize")
        strides = self._attr_ints(node, "strides")
        if ksize[0] != 1 or ksize[3] != 1 or strides[0] != 1 or strides[3] != 1:
            raise self.error(f"{node.name}: pooling over batch/channels unsupported")
        pads, (oh, ow) = self._pads(node, x.shape[1:3], ksize[1:3], strides[1:3])
        attrs = dict(kernel_shape=list(ksize[1:3]), strides=list(strides[1:3]), pads=pads)
        if onnx_op == "AveragePool":
            attrs["count_include_pad"] = 0  # TF averages over the valid pixels only
        self.node(onnx_op, [x.name], [node.name], node.name, **attrs)
        self.values[node.name] = _Value(node.name, (None, oh, ow, x.shape[3]), nchw=True)

    def _op_MaxPool(self, node):
        self._pool(node, "MaxPool")

    def _op_AvgPool(self, node):
        self._pool(node, "AveragePool")

    def _op_ConcatV2(self, node):
        data = self._data_inputs(node)
        axis = int(self._const(self._clean(data[-1])))
        parts = [self._in(node, i) for i in range(len(data) - 1)]
        rank = len(parts[0].shape)
        axis = axis + rank if axis < 0 else axis
        if any(len(p.shape) != rank for p in parts):
            raise self.error(f"{node.name}: inputs of different rank")
        if rank == 4:
            parts = [self._as_nchw(p) for p in parts]
            onnx_axis, nchw = NHWC_TO_NCHW.index(axis), True
        else:
            onnx_axis, nchw = axis, False
        shape = list(parts[0].shape)
        shape[axis] = sum(p.shape[axis] for p in parts) if axis != 0 else None
        self.node("Concat", [p.name for p in parts], [node.name], node.name, axis=onnx_axis)
        self.values[node.name] = _Value(node.name, tuple(shape), nchw)

    def _binary(self, node, onnx_op):
        data = self._data_inputs(node)
        if len(data) != 2:
            raise self.error(f"{node.name}: expected 2 inputs")
        names = [self._clean(n) for n in data]
        vals: list[_Value | None] = []
        for n in names:
            vals.append(None if self._is_const(n) and n not in self.values else self._in_named(node, n))
        tensors = [v for v in vals if v is not None]
        if not tensors:
            raise self.error(f"{node.name}: both inputs are constants")
        if any(v.nchw for v in tensors):
            tensors_nchw = True
            vals = [None if v is None else (self._as_nchw(v) if len(v.shape) == 4 else v) for v in vals]
            if any(v is not None and not v.nchw for v in vals):
                raise self.error(f"{node.name}: mixes 4-D and lower-rank tensors")
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
                    raise self.error(f"{node.name}: constant of shape {c.shape} with NCHW tensor")
            onnx_inputs.append(self._initializer(n, c))
            shapes.append(())
        out_shape = _broadcast_shape(shapes)
        self.node(onnx_op, onnx_inputs, [node.name], node.name)
        self.values[node.name] = _Value(node.name, out_shape, tensors_nchw)

    def _in_named(self, node, name):
        idx = [self._clean(i) for i in node.input].index(name)
        return self._in(node, idx)

    def _op_Mul(self, node):
        self._binary(node, "Mul")

    def _op_Add(self, node):
        self._binary(node, "Add")

    _op_AddV2 = _op_Add

    def _op_Sub(self, node):
        self._binary(node, "Sub")

    def _op_RealDiv(self, node):
        self._binary(node, "Div")

    def _op_Maximum(self, node):
        self._binary(node, "Max")

    def _op_Minimum(self, node):
        self._binary(node, "Min")

    def _op_Reshape(self, node):
        x = self.as_nhwc(self._in(node, 0))  # TF reshapes in NHWC memory order
        shape = [int(s) for s in self._const(self._clean(node.input[1]))]
        # TF froze batch 1 into the shape constants; keep the batch symbolic instead (0 = copy dim 0).
        if x.shape and x.shape[0] is None and shape and shape[0] in (1, -1):
            static = int(np.prod([d for d in x.shape[1:]]))
            rest = shape[1:]
            if -1 in rest:
                known = int(np.prod([d for d in rest if d != -1]))
                rest = [static // known if d == -1 else d for d in rest]
            if int(np.prod(rest)) != static:
                raise self.error(f"{node.name}: reshape {x.shape} -> {shape} changes the batch")
            shape = [0, *rest]
            out_shape = (None, *rest)
        else:
            raise self.error(f"{node.name}: reshape {x.shape} -> {shape} unsupported")
        shape_name = self._initializer(node.name + "/shape", np.array(shape, dtype=np.int64))
        self.node("Reshape", [x.name, shape_name], [node.name], node.name)
        self.values[node.name] = _Value(node.name, tuple(out_shape), nchw=False)

    def _matmul(self, node, x: _Value, w: np.ndarray, out: str) -> tuple:
        if node.attr["transpose_a"].b:
            raise self.error(f"{node.name}: transpose_a unsupported")
        if node.attr["transpose_b"].b:
            w = w.T
        if len(x.shape) != 2 or w.ndim != 2 or x.shape[1] != w.shape[0]:
            raise self.error(f"{node.name}: MatMul {x.shape} x {w.shape}")
        w_name = self._initializer(self._clean(node.input[1]), w.astype(np.float32))
        self.node("MatMul", [x.name, w_name], [out], out)
        return (None, w.shape[1])

    def _op_MatMul(self, node):
        x = self.as_nhwc(self._in(node, 0))
        shape = self._matmul(node, x, self._const(self._clean(node.input[1])), node.name)
        self.values[node.name] = _Value(node.name, shape, nchw=False)

    def _op_FusedMatMul(self, node):
        ops = self._fused_ops(node)
        x = self.as_nhwc(self._in(node, 0))
        product = self._unique(node.name + "/matmul")
        shape = self._matmul(node, x, self._const(self._clean(node.input[1])), product)
        b = self._const(self._clean(node.input[2]))
        if b.shape != (shape[1],):
            raise self.error(f"{node.name}: bias shape {b.shape}")
        biased = node.name if len(ops) == 1 else self._unique(node.name + "/biased")
        self.node("Add", [product, self._initializer(node.name + "/bias", b.astype(np.float32))], [biased], biased)
        self._fused_activation(node, ops, biased, shape, False)

    def _op_FusedBatchNorm(self, node):
        self._check_nhwc(node)
        if node.attr["is_training"].b:
            raise self.error(f"{node.name}: FusedBatchNorm in training mode")
        x = self._in(node, 0)
        scale, offset, mean, var = (
            self._const(self._clean(node.input[i])).astype(np.float64) for i in range(1, 5)
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
        self.node("Mul", [x.name, mul_name], [tmp], tmp)
        self.node("Add", [tmp, add_name], [node.name], node.name)
        self.values[node.name] = _Value(node.name, x.shape, x.nchw)

    _op_FusedBatchNormV3 = _op_FusedBatchNorm

    def _op_Square(self, node):
        x = self._in(node, 0)
        self.node("Mul", [x.name, x.name], [node.name], node.name)
        self.values[node.name] = _Value(node.name, x.shape, x.nchw)

    def _op_Rsqrt(self, node):
        x = self._in(node, 0)
        tmp = self._unique(node.name + "/sqrt")
        self.node("Sqrt", [x.name], [tmp], tmp)
        self.node("Reciprocal", [tmp], [node.name], node.name)
        self.values[node.name] = _Value(node.name, x.shape, x.nchw)

    def _reduction_axes(self, node, x):
        axes = np.atleast_1d(self._const(self._clean(node.input[1]))).astype(np.int64)
        rank = len(x.shape)
        return [int(a) + rank if a < 0 else int(a) for a in axes], bool(node.attr["keep_dims"].b)

    def _op_Sum(self, node):
        x = self._in(node, 0)
        axes, keep = self._reduction_axes(node, x)
        if x.nchw:
            if not keep:
                x = self.as_nhwc(x)
            else:
                onnx_axes = sorted(NHWC_TO_NCHW.index(a) for a in axes)
        if not x.nchw:
            onnx_axes = sorted(axes)
        shape = [1 if i in axes else d for i, d in enumerate(x.shape)]
        if not keep:
            shape = [d for i, d in enumerate(x.shape) if i not in axes]
        axes_name = self._initializer(node.name + "/axes", np.array(onnx_axes, dtype=np.int64))
        self.node("ReduceSum", [x.name, axes_name], [node.name], node.name, keepdims=int(keep))
        self.values[node.name] = _Value(node.name, tuple(shape), x.nchw)

    def _reduce(self, node, onnx_op):
        """Mean/Max: the axes are an attribute up to opset 17. Over H and W of an NCHW tensor (global
        pooling) the result without kept dims is [N, C] in either layout, so no transpose is needed."""
        x = self._in(node, 0)
        axes, keep = self._reduction_axes(node, x)
        if x.nchw and not keep and sorted(axes) != [1, 2]:
            x = self.as_nhwc(x)
        onnx_axes = sorted(NHWC_TO_NCHW.index(a) for a in axes) if x.nchw else sorted(axes)
        shape = [1 if i in axes else d for i, d in enumerate(x.shape)]
        nchw = x.nchw and keep
        if not keep:
            shape = [d for i, d in enumerate(x.shape) if i not in axes]
        self.node(onnx_op, [x.name], [node.name], node.name, axes=onnx_axes, keepdims=int(keep))
        self.values[node.name] = _Value(node.name, tuple(shape), nchw)

    def _op_Mean(self, node):
        self._reduce(node, "ReduceMean")

    def _op_Max(self, node):
        self._reduce(node, "ReduceMax")

    def _op_ExpandDims(self, node):
        x = self.as_nhwc(self._in(node, 0))
        axis = int(np.atleast_1d(self._const(self._clean(node.input[1])))[0])
        rank = len(x.shape) + 1
        axis = axis + rank if axis < 0 else axis
        if axis == 0:
            raise self.error(f"{node.name}: ExpandDims on the batch axis unsupported")
        axes_name = self._initializer(node.name + "/axes", np.array([axis], dtype=np.int64))
        self.node("Unsqueeze", [x.name, axes_name], [node.name], node.name)
        shape = list(x.shape)
        shape.insert(axis, 1)
        self.values[node.name] = _Value(node.name, tuple(shape), False)

    def _op_StridedSlice(self, node):
        x = self.as_nhwc(self._in(node, 0))
        begin, end, strides = (
            [int(v) for v in np.atleast_1d(self._const(self._clean(node.input[i])))] for i in (1, 2, 3)
        )
        masks = {k: int(node.attr[k].i) for k in ("begin_mask", "end_mask", "ellipsis_mask", "new_axis_mask", "shrink_axis_mask")}
        if masks["ellipsis_mask"] or masks["new_axis_mask"]:
            raise self.error(f"{node.name}: StridedSlice with ellipsis or new axes unsupported")
        starts, ends, axes, steps, squeeze, shape = [], [], [], [], [], []
        for axis, size in enumerate(x.shape):
            if axis >= len(begin):
                shape.append(size)
                continue
            bit = 1 << axis
            b = None if masks["begin_mask"] & bit else begin[axis]
            e = None if masks["end_mask"] & bit else end[axis]
            s = strides[axis]
            if masks["shrink_axis_mask"] & bit:
                if b is None:
                    raise self.error(f"{node.name}: shrink without a begin index")
                e, s = (b + 1 if b != -1 else None), 1
                squeeze.append(axis)
            if b is None and e is None and s == 1:
                shape.append(size)
                continue  # the whole axis
            if axis == 0:
                raise self.error(f"{node.name}: slicing the batch axis unsupported")
            big = np.iinfo(np.int64).max if s > 0 else np.iinfo(np.int64).min
            starts.append((0 if s > 0 else -1) if b is None else b)
            ends.append(big if e is None else e)
            axes.append(axis)
            steps.append(s)
            length = len(range(*slice(b, e, s).indices(size)))
            shape.append(length)
        out = node.name
        if axes:
            sliced = self._unique(node.name + "/slice") if squeeze else node.name
            self.node("Slice", [x.name,
                                self._initializer(node.name + "/starts", np.array(starts, dtype=np.int64)),
                                self._initializer(node.name + "/ends", np.array(ends, dtype=np.int64)),
                                self._initializer(node.name + "/axes", np.array(axes, dtype=np.int64)),
                                self._initializer(node.name + "/steps", np.array(steps, dtype=np.int64))],
                      [sliced], sliced)
            source = sliced
        else:
            source = x.name
        if squeeze:
            axes_name = self._initializer(node.name + "/squeeze_axes", np.array(squeeze, dtype=np.int64))
            self.node("Squeeze", [source, axes_name], [out], out)
            shape = [d for i, d in enumerate(shape) if i not in squeeze]
        elif not axes:
            self.node("Identity", [source], [out], out)
        self.values[node.name] = _Value(out, tuple(shape), False)


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

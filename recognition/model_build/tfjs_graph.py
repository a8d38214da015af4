"""Read a TensorFlow.js graph model (``model.json`` + ``.bin`` weight shards) into a TensorFlow GraphDef.

A TF.js graph model is a frozen TensorFlow graph split in two: ``model.json`` holds the GraphDef as
protobuf JSON (``modelTopology``) with its constants left empty, and ``weightsManifest`` lists, group by
group, the shard files and the constants stored in them, in order (name, shape, dtype, and an optional
``quantization``: float16, or uint8/uint16 with ``min`` and ``scale``). The shards of a group are one byte
stream cut into files. This module puts each constant's value back into its Const node, so that the
GraphDef converter (``tf_graph_onnx``) reads a TF.js model exactly as it reads a frozen ``.pb``.
"""
from __future__ import annotations

import json

import numpy as np

_DTYPES = {"float32": (np.float32, 1), "int32": (np.int32, 3)}  # TF.js dtype -> numpy, TF DataType enum
_QUANTIZED = {"float16": np.dtype("<f2"), "uint8": np.dtype("u1"), "uint16": np.dtype("<u2")}


class TfjsError(ValueError):
    """The model.json or its shards are not a TF.js graph model this reader understands."""


def read_weights(manifest: list, shards: dict[str, bytes]) -> dict[str, np.ndarray]:
    """The constants of a ``weightsManifest``, dequantised to their original dtype, by name."""
    weights: dict[str, np.ndarray] = {}
    for group in manifest:
        try:
            stream = b"".join(shards[path] for path in group["paths"])
        except KeyError as exc:
            raise TfjsError(f"weight shard {exc.args[0]!r} is missing") from None
        offset = 0
        for spec in group["weights"]:
            name, shape, dtype = spec["name"], [int(d) for d in spec["shape"]], spec["dtype"]
            if dtype not in _DTYPES:
                raise TfjsError(f"{name}: dtype {dtype!r} unsupported")
            count = int(np.prod(shape)) if shape else 1
            quantization = spec.get("quantization")
            stored = np.dtype(_DTYPES[dtype][0]).newbyteorder("<")
            if quantization:
                stored = _QUANTIZED.get(quantization["dtype"])
                if stored is None:
                    raise TfjsError(f"{name}: quantization {quantization['dtype']!r} unsupported")
            size = count * stored.itemsize
            if offset + size > len(stream):
                raise TfjsError(f"{name}: the shards end before its {size} bytes")
            raw = np.frombuffer(stream, dtype=stored, count=count, offset=offset)
            offset += size
            if quantization and quantization["dtype"] != "float16":
                raw = raw.astype(np.float64) * quantization["scale"] + quantization["min"]
            weights[name] = raw.astype(_DTYPES[dtype][0]).reshape(shape)
        if offset != len(stream):
            raise TfjsError(f"shards {group['paths']} hold {len(stream) - offset} bytes beyond their weights")
    return weights


def load_graph_def(model_json: bytes | str, shards: dict[str, bytes]):
    """The GraphDef of a TF.js graph model with every Const node's value filled in from the shards."""
    from google.protobuf import json_format
    from tensorboard.compat.proto import graph_pb2

    model = json.loads(model_json)
    if model.get("format") != "graph-model" or "modelTopology" not in model:
        raise TfjsError("not a TF.js graph model (format is not 'graph-model')")
    topology = {"node": model["modelTopology"].get("node", [])}
    graph_def = json_format.ParseDict(topology, graph_pb2.GraphDef(), ignore_unknown_fields=True)
    weights = read_weights(model.get("weightsManifest", []), shards)
    consts = {node.name: node for node in graph_def.node if node.op == "Const"}
    for name, array in weights.items():
        node = consts.get(name)
        if node is None:
            raise TfjsError(f"weight {name!r} has no Const node in the graph")
        tensor = node.attr["value"].tensor
        tensor.dtype = _DTYPES[str(array.dtype)][1]
        del tensor.tensor_shape.dim[:]
        for size in array.shape:
            tensor.tensor_shape.dim.add(size=size)
        tensor.tensor_content = np.ascontiguousarray(array).astype(array.dtype.newbyteorder("<")).tobytes()
    return graph_def

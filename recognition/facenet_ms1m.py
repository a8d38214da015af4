"""FaceNet embeddings from the MS-Celeb-1M model (128-d), with optional test-time flip averaging.

The model (Sandberg's Inception-ResNet-v1, converted by `model_build.keras_facenet_onnx`) takes the
same 160×160 margin crop as the CASIA FaceNet, but was trained on per-image prewhitened pixels
((x − mean) / max(std, 1/√n)): on lfw-dev that beats the fixed standardisation (docs/accuracy.md).
Its output is not normalised. Flip averaging embeds the mirrored crop too, in the same batch, and
averages the two raw vectors before normalising (docs/benchmarks.md has its cost).

Vectors are stored in the gallery's 512-wide column padded with zeros: padding changes neither
dot products nor norms, so cosine similarity and the HNSW index work unchanged.
"""
from __future__ import annotations

import numpy as np
from django.conf import settings

from . import runtime

MODEL_NAME = "facenet_ms1m"
MODEL_DIM = 128
STORED_SIZE = 512


def prewhiten(crops: np.ndarray) -> np.ndarray:
    """N×160×160×3 uint8 → float32, each image to zero mean and unit variance (std floored at 1/√size)."""
    x = crops.astype(np.float32)
    axes = tuple(range(1, x.ndim))
    mean = x.mean(axis=axes, keepdims=True)
    std = x.std(axis=axes, keepdims=True)
    floor = np.float32(1.0 / np.sqrt(np.prod(x.shape[1:])))
    return ((x - mean) / np.maximum(std, floor)).astype(np.float32, copy=False)


def raw_embeddings(inputs: np.ndarray, *, session=None, batch_size: int | None = None) -> np.ndarray:
    """Prewhitened N×160×160×3 float32 → the model's (N, 128) outputs, unnormalised."""
    session = session or runtime.get_session(MODEL_NAME)
    batch_size = batch_size or settings.FACEAPP_EMBED_BATCH_SIZE
    outputs = [session.run(["embeddings"], {"input": inputs[start : start + batch_size]})[0]
               for start in range(0, len(inputs), batch_size)]
    return np.concatenate(outputs).astype(np.float32)


def embed(crops: list[np.ndarray] | np.ndarray, *, flip: bool | None = None, session=None) -> np.ndarray:
    """N crops (160×160×3 uint8 RGB) → (N, 512) float32 unit vectors (128 values, then zeros)."""
    if len(crops) == 0:
        return np.zeros((0, STORED_SIZE), dtype=np.float32)
    flip = settings.FACEAPP_EMBED_FLIP if flip is None else flip
    batch = prewhiten(np.stack(crops) if isinstance(crops, list) else crops)
    if flip:
        # Original and mirror in one batch: cheaper than two runs at batch 1.
        raw = raw_embeddings(np.concatenate([batch, batch[:, :, ::-1, :]]), session=session)
        raw = raw[: len(batch)] + raw[len(batch) :]
    else:
        raw = raw_embeddings(batch, session=session)
    raw /= np.maximum(np.linalg.norm(raw, axis=1, keepdims=True), 1e-12)
    vectors = np.zeros((len(raw), STORED_SIZE), dtype=np.float32)
    vectors[:, :MODEL_DIM] = raw
    return vectors

"""Many photos at once, for throughput: decode + detect per photo (on a thread pool), then one
embedding pass over the faces of all of them (the active embedder, in batches).

ONNX Runtime releases the GIL while a model runs, so threads detect in parallel. Used by the bulk
import and by the evaluation; the result for each photo is what `pipeline.analyse_bytes` would give.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field

import numpy as np
from django.conf import settings

from . import embedders, pipeline, runtime
from .types import Face


@dataclass(eq=False)
class Photo:
    """One photo's outcome: its faces (largest first, embedded) or the error that stopped it."""

    faces: list[Face] = field(default_factory=list)
    faces_detected: int = 0
    width: int = 0
    height: int = 0
    error: Exception | None = None
    prepared: list[np.ndarray] = field(default_factory=list)  # each face as the active embedder takes it


def analyse_many(datas: Sequence[bytes], *, executor: Executor | None = None, largest_only: bool = False) -> list[Photo]:
    """Photo bytes → one Photo each, in order. An exception on one photo is kept in its Photo.error.

    `largest_only` embeds only the largest face of each photo (the others are still counted in
    `faces_detected`), which is what enrolment and evaluation use.
    """
    photos = list(executor.map(detect, datas) if executor is not None else map(detect, datas))
    embed_photos(photos, largest_only=largest_only)
    return photos


def detect(data: bytes) -> Photo:
    """Decode + detect + crop + quality of one photo, without embeddings (safe to run on any thread)."""
    try:
        image = pipeline.decode(data)
        analysis = pipeline.analyse_image(image, with_embeddings=False)
    except Exception as exc:  # reported per photo by the caller
        return Photo(error=exc)
    faces = list(analysis.faces)
    try:
        prepared = embedders.prepare_faces(image, [f.detection for f in faces], crops=[f.crop for f in faces])
    except Exception as exc:  # reported per photo by the caller
        return Photo(error=exc)
    return Photo(faces=faces, faces_detected=len(faces), width=analysis.width, height=analysis.height, prepared=prepared)


def embed_photos(photos: Sequence[Photo], *, largest_only: bool = False) -> None:
    """Embed the faces of `photos` (from `detect`) in one batched pass, in place."""
    chosen = [(p, i) for p in photos if p.error is None for i in range(min(len(p.faces), 1 if largest_only else len(p.faces)))]
    if chosen:
        try:
            vectors = embedders.active().embed([p.prepared[i] for p, i in chosen])
        except Exception as exc:  # the whole embedding pass failed: every photo in it failed
            for photo in {id(p): p for p, _ in chosen}.values():
                photo.error, photo.faces = exc, []
            return
        for (photo, i), vector in zip(chosen, vectors):
            photo.faces[i] = dataclasses.replace(photo.faces[i], embedding=vector)
    for photo in photos:
        if photo.error is None and largest_only:
            photo.faces = photo.faces[:1]


def share_cores(workers: int) -> int | None:
    """Before the models load: give each ONNX Runtime session FACEAPP_ORT_THREADS // workers threads
    (at least 1), so `workers` threads running models at once do not oversubscribe the cores.

    Returns the threads per session now configured, or None when the sessions already exist (then
    they keep theirs). For a process of its own (the import command, a benchmark), not for a server.
    """
    if runtime.active_providers():
        return None
    settings.FACEAPP_ORT_THREADS = max(1, settings.FACEAPP_ORT_THREADS // max(1, workers))
    return settings.FACEAPP_ORT_THREADS

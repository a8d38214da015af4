"""The integrator API's recognition calls: detect, verify (1:1) and identify (1:N).

Each takes image bytes (already read within the upload limit) and options, runs the pipeline once
per image, and returns plain values for the views to serialise. Searches are audited.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from django.conf import settings

from faceapp.audit.log import Actor, record
from faceapp.audit.models import Action

from . import embedders, pipeline, search
from .exceptions import NoEnrolledFace, NoFaceDetected
from .types import Face


def current_embedding_model() -> str:
    """The active embedder's model id: the vectors this process makes, and the only ones it compares with."""
    return embedders.model_id()


def default_threshold() -> float:
    return settings.FACEAPP_MATCH_THRESHOLD


# --- detect ------------------------------------------------------------------------------------


def detect(image: bytes, *, min_face_size=None, detection_threshold=None, max_faces=None, embedding=False) -> pipeline.Analysis:
    """Every face of the photo, largest first; embeddings are computed only when asked for."""
    return pipeline.analyse_bytes(
        image, min_face_size=min_face_size, detection_threshold=detection_threshold, max_faces=max_faces, with_embeddings=embedding
    )


# --- verify ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pair:
    face1_index: int
    face2_index: int | None  # None when compared with a person
    similarity: float
    verified: bool


@dataclass(frozen=True)
class Verification:
    threshold: float
    best: Pair
    analysis1: pipeline.Analysis
    analysis2: pipeline.Analysis | None
    person: object | None
    pairs: list[Pair] = field(default_factory=list)


def verify(image1: bytes, *, image2: bytes | None = None, person=None, all_pairs: bool = False,
           threshold: float | None = None, actor: Actor | None = None) -> Verification:
    """Same person or not: the largest face of image1 against the largest of image2 or against `person`'s faces.

    With `all_pairs`, every face of image1 against every face of image2 (or the person); `best` is then the
    most similar pair.
    """
    if (image2 is None) == (person is None):
        raise ValueError("give exactly one of image2 and person")
    threshold = default_threshold() if threshold is None else threshold
    # Without all_pairs only each photo's largest face is compared: embed only it.
    max_faces = None if all_pairs else 1
    analysis1 = _analyse_with_face(image1, "image1", max_faces)
    faces1 = analysis1.faces if all_pairs else [analysis1.faces[0]]
    analysis2 = None
    if image2 is not None:
        analysis2 = _analyse_with_face(image2, "image2", max_faces)
        faces2 = analysis2.faces if all_pairs else [analysis2.faces[0]]
        matrix = np.stack([f.embedding for f in faces1]) @ np.stack([f.embedding for f in faces2]).T
        pairs = [
            Pair(i, j, float(matrix[i, j]), float(matrix[i, j]) >= threshold)
            for i in range(len(faces1)) for j in range(len(faces2))
        ]
    else:
        model = current_embedding_model()
        candidates = search.faces_of_person(person.id)
        pairs = []
        for i, face in enumerate(faces1):
            similarity = search.best_similarity(face.embedding, embedding_model=model, faces=candidates)
            if similarity is None:
                raise NoEnrolledFace(f"Person {person.id} has no enrolled face to compare with.")
            pairs.append(Pair(i, None, similarity, similarity >= threshold))
    best = max(pairs, key=lambda p: p.similarity)
    record(
        actor, Action.VERIFY, target_type="person" if person is not None else "",
        target_id=person.id if person is not None else "",
        similarity=round(best.similarity, 4), verified=best.verified, pairs=len(pairs),
    )
    return Verification(threshold=threshold, best=best, analysis1=analysis1, analysis2=analysis2, person=person,
                        pairs=pairs if all_pairs else [])


def _analyse_with_face(image: bytes, name: str, max_faces: int | None) -> pipeline.Analysis:
    analysis = pipeline.analyse_bytes(image, max_faces=max_faces)
    if not analysis.faces:
        raise NoFaceDetected(f"No face detected in {name}.", image=name)
    return analysis


# --- identify ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Identified:
    face: Face
    candidates: list[search.Match]


@dataclass(frozen=True)
class Identification:
    analysis: pipeline.Analysis
    threshold: float
    faces: list[Identified]


def identify(image: bytes, *, limit: int = 1, threshold: float | None = None, watchlists=(), max_faces=None,
             min_face_size=None, actor: Actor | None = None) -> Identification:
    """Every face of the photo (largest first) with its top `limit` candidate people at or above `threshold`."""
    threshold = default_threshold() if threshold is None else threshold
    analysis = pipeline.analyse_bytes(image, max_faces=max_faces, min_face_size=min_face_size)
    model = current_embedding_model()
    watchlist_ids = [w.id for w in watchlists]
    candidates = search.faces_in_watchlists(watchlist_ids) if watchlist_ids else None
    faces = [
        Identified(face, search.nearest_people(face.embedding, embedding_model=model, limit=limit, threshold=threshold, faces=candidates))
        for face in analysis.faces
    ]
    record(
        actor, Action.IDENTIFY, faces=len(faces), watchlists=[str(w) for w in watchlist_ids], threshold=threshold,
        top=[str(f.candidates[0].person.id) if f.candidates else None for f in faces],
    )
    return Identification(analysis=analysis, threshold=threshold, faces=faces)

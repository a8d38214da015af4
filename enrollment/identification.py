"""The integrator API's gallery questions: verify (1:1) and identify (1:N), each decided by enrollment.decision.

Each takes image bytes (already read within the upload limit) and options, runs the pipeline once per
image, searches the gallery (enrollment.gallery) and returns plain values for the views to serialise.
Searches are audited with the decision's policy.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from faceapp import metrics
from faceapp.audit.log import Actor, record
from faceapp.audit.models import Action
from recognition import embedders, pipeline
from recognition.exceptions import NoEnrolledFace, NoFaceDetected
from recognition.types import Face

from . import decision, gallery


def current_embedding_model() -> str:
    """The active embedder's model id: the vectors this process makes, and the only ones it compares with."""
    return embedders.model_id()


# --- verify ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pair:
    face1_index: int
    face2_index: int | None  # None when compared with a person
    similarity: float
    verified: bool
    decision: decision.Decision | None = None


@dataclass(frozen=True)
class Verification:
    policy: decision.Policy
    best: Pair
    analysis1: pipeline.Analysis
    analysis2: pipeline.Analysis | None
    person: object | None
    pairs: list[Pair] = field(default_factory=list)

    @property
    def threshold(self) -> float:
        return self.policy.threshold


def verify(image1: bytes, *, image2: bytes | None = None, person=None, all_pairs: bool = False,
           threshold: float | None = None, preset: str | None = None, actor: Actor | None = None,
           liveness: bool = False) -> Verification:
    """Same person or not: the largest face of image1 against the largest of image2 or against `person`'s faces.

    1:1 has its own calibration: the comparison is one chance of a false match against one photo, or as
    many as the person has faces. With `all_pairs`, every face of image1 against every face of image2 (or
    the person); `best` is then the most similar pair. `liveness`: every compared face gets a passive liveness
    check (recognition.liveness), reported beside the faces; a face that fails it is never verified.
    """
    if (image2 is None) == (person is None):
        raise ValueError("give exactly one of image2 and person")
    model = current_embedding_model()
    max_faces = None if all_pairs else 1  # without all_pairs only each photo's largest face is compared: embed only it
    analysis1 = _analyse_with_face(image1, "image1", max_faces, liveness=liveness)
    faces1 = analysis1.faces if all_pairs else [analysis1.faces[0]]
    analysis2 = None
    if image2 is not None:
        analysis2 = _analyse_with_face(image2, "image2", max_faces, liveness=liveness)
        faces2 = analysis2.faces if all_pairs else [analysis2.faces[0]]
        policy = decision.policy(embedding_model=model, gallery_size=1, preset=preset, threshold=threshold, normalise=False)
        matrix = np.stack([f.embedding for f in faces1]) @ np.stack([f.embedding for f in faces2]).T
        pairs = [_pair(i, j, float(matrix[i, j]), policy, faces1[i], faces2[j]) for i in range(len(faces1)) for j in range(len(faces2))]
    else:
        candidates = gallery.faces_of_person(person.id)
        size = gallery.gallery_size(embedding_model=model, faces=candidates)
        if size == 0:
            raise NoEnrolledFace(f"Person {person.id} has no enrolled face to compare with.")
        policy = decision.policy(embedding_model=model, gallery_size=size, preset=preset, threshold=threshold, normalise=False)
        pairs = []
        for i, face in enumerate(faces1):
            match = gallery.best_match(face.embedding, embedding_model=model, faces=candidates, exact=True)
            pairs.append(_pair(i, None, match.similarity, policy, face))
    best = max(pairs, key=lambda p: p.similarity)
    record(
        actor, Action.VERIFY, target_type="person" if person is not None else "",
        target_id=person.id if person is not None else "",
        similarity=round(best.similarity, 4), verified=best.verified, pairs=len(pairs),
        preset=policy.preset, threshold=round(policy.threshold, 4),
    )
    return Verification(policy=policy, best=best, analysis1=analysis1, analysis2=analysis2, person=person,
                        pairs=pairs if all_pairs else [])


def _pair(i, j, similarity: float, policy: decision.Policy, face: Face, other: Face | None = None) -> Pair:
    verdict = decision.decide(similarity, policy, face_quality=face.quality.as_dict())
    # A face that failed its liveness check is never verified, whatever the similarity.
    live = all(f.liveness.live for f in (face, other) if f is not None and f.liveness is not None)
    return Pair(i, j, similarity, verdict.named and live, verdict)


def _analyse_with_face(image: bytes, name: str, max_faces: int | None, *, liveness: bool = False) -> pipeline.Analysis:
    analysis = pipeline.analyse_bytes(image, max_faces=max_faces, liveness=liveness)
    if not analysis.faces:
        raise NoFaceDetected(f"No face detected in {name}.", image=name)
    return analysis


# --- identify ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Identified:
    face: Face
    candidates: list[gallery.Match]  # named candidates, best first (those at or above the threshold)
    decision: decision.Decision
    nearest: gallery.Match | None = None  # the best candidate even when below the threshold
    probe_stats: object = None  # recognition.scoring.CohortStats of this face against the gallery, when normalised


@dataclass(frozen=True)
class Identification:
    analysis: pipeline.Analysis
    policy: decision.Policy
    faces: list[Identified]
    sightings: list = field(default_factory=list)  # one per face, when the caller asked to keep them (keep_sighting)

    @property
    def threshold(self) -> float:
        return self.policy.threshold


def identify(image: bytes, *, limit: int = 1, threshold: float | None = None, preset: str | None = None, watchlists=(),
             max_faces=None, min_face_size=None, actor: Actor | None = None, attributes=(),
             keep_sighting: bool = False) -> Identification:
    """Every face of the photo (largest first) with its top `limit` candidate people that the decision names
    (and the estimated `attributes` of each face, when asked for). `keep_sighting`: each face is also kept as a
    sighting (enrollment.sightings) with its decision; one of nobody enrolled joins an unknown group."""
    analysis = pipeline.analyse_bytes(image, max_faces=max_faces, min_face_size=min_face_size, attributes=attributes)
    model = current_embedding_model()
    watchlist_ids = sorted(str(w.id) for w in watchlists)
    candidates = gallery.faces_in_watchlists(watchlist_ids) if watchlist_ids else None
    size = gallery.gallery_size(embedding_model=model, faces=candidates, key=tuple(watchlist_ids) or None)
    policy = decision.policy(embedding_model=model, gallery_size=size, preset=preset, threshold=threshold)
    faces = [search_face(face, policy=policy, embedding_model=model, limit=limit, faces=candidates) for face in analysis.faces]
    record(
        actor, Action.IDENTIFY, faces=len(faces), watchlists=watchlist_ids, threshold=round(policy.threshold, 4),
        preset=policy.preset, gallery_size=size,
        top=[str(f.candidates[0].person.id) if f.candidates else None for f in faces],
    )
    kept = []
    if keep_sighting:
        from .sightings import keep_faces

        kept = keep_faces([(f.face, f.decision, f.candidates[0].person if f.candidates else None) for f in faces],
                          image=image, actor=actor)
    return Identification(analysis=analysis, policy=policy, faces=faces, sightings=kept)


def search_face(face: Face, *, policy: decision.Policy, embedding_model: str, limit: int = 1, faces=None) -> Identified:
    """One face against the gallery, decided: the shared step of identify, recognise_user, the UI and cameras."""
    normalise_k = policy.normalisation.k if policy.normalisation else None
    with metrics.stage_timer("search"):
        found = gallery.search_people(face.embedding, embedding_model=embedding_model, limit=max(limit, 1), faces=faces,
                                      normalise_k=normalise_k)
    matches = found.matches
    nearest = matches[0] if matches else None
    verdict = decision.decide(nearest.similarity if nearest else None, policy, face_quality=face.quality.as_dict(),
                              normalised_score=nearest.normalised_score if nearest else None)
    metrics.identifications.labels(verdict.verdict).inc()
    named = [m for m in matches if decision.decide(m.similarity, policy, normalised_score=m.normalised_score,
                                                   face_quality=face.quality.as_dict()).named] if verdict.named else []
    return Identified(face=face, candidates=named[:limit], decision=verdict, nearest=nearest, probe_stats=found.probe)

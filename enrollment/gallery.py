"""The gallery search: nearest enrolled people to a face vector, through pgvector's HNSW index (cosine).

The only module that queries vectors. Only vectors made by the same embedding model are compared.
A person is scored on all their faces, not on whichever one happens to be nearest (`template_score`):
the index finds the candidates, then each candidate's faces are compared exactly.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from django.conf import settings

from recognition import scoring

from . import cohort, decision, vectors
from .models import Face, Person

TEMPLATE_TOP = 3  # a person's score blends their best face with the mean of their best TEMPLATE_TOP faces


@dataclass(frozen=True)
class Match:
    person: Person
    face_id: object  # the best-matching face
    similarity: float  # the person's template score on cosine similarities
    best_face_similarity: float
    faces_compared: int
    normalised_score: float | None = None  # the person's template score on AS-normalised scores, when normalised

    @property
    def score(self) -> float:
        """What the decision compares: the normalised score where there is one, else the cosine."""
        return self.normalised_score if self.normalised_score is not None else self.similarity


def template_score(similarities) -> float:
    """A person's score from the similarities of all their faces: ½ best + ½ mean of the best three.

    With one face it is that face's similarity. With several, a stranger who happens to come close to one
    of them (a blurred one, say) is pulled down by the others, while a true match, close to all of them,
    keeps nearly its best score. It is never above the best face's similarity, so the presets'
    calibration (made on single faces) stays on the safe side. The same holds for normalised scores.
    """
    ordered = sorted((float(s) for s in similarities), reverse=True)
    if not ordered:
        return float("-inf")
    top = ordered[:TEMPLATE_TOP]
    return 0.5 * ordered[0] + 0.5 * sum(top) / len(top)


@dataclass(frozen=True)
class Found:
    matches: list[Match]  # best first
    probe: scoring.CohortStats | None  # the probe's own cohort statistics, when normalised (kept with sightings)


def nearest_people(vector: np.ndarray, **options) -> list[Match]:
    """Up to `limit` people, best score first (`search_people`'s matches)."""
    return search_people(vector, **options).matches


def search_people(vector: np.ndarray, *, embedding_model: str, limit: int = 1, threshold: float | None = None,
                  ef_search: int | None = None, exact: bool = False, faces=None, normalise_k: int | None = None) -> Found:
    """Up to `limit` people, best score first, whose cosine template score is ≥ `threshold` (None: no floor).

    `exact=True` scans every vector instead of walking the index (for checks and small galleries);
    `faces` narrows the candidates (e.g. to a watchlist's people). With `normalise_k`, each candidate is
    also scored on AS-normalised scores against the whole gallery of the model as the cohort (the probe's
    top-K people from the search, each face's stored statistics) and the people are ranked on them.
    """
    ef_search = ef_search or settings.FACEAPP_HNSW_EF_SEARCH
    # Several faces of one person can fill the top of the list: look further than `limit`.
    candidates = max(limit * 8, 32)
    base = (faces if faces is not None else Face.objects.all()).filter(embedding_model=embedding_model)
    probe = None
    if normalise_k:
        people_now = cohort.people_count(embedding_model)
        if faces is None:  # one walk of the index serves the candidates and the probe's cohort
            candidates = max(candidates, cohort.ROWS_PER_K * normalise_k)
    rows = _nearest_rows(base, vector, embedding_model, candidates, ef_search, exact)
    if normalise_k:
        probe = cohort.stats_from_rows(rows, normalise_k, people=people_now) if faces is None else None
        if probe is None:  # a restricted search (a watchlist), or people with many faces: ask the cohort itself
            probe = cohort.search_stats(vector, embedding_model=embedding_model, k=normalise_k, people=people_now)
    people_order: list = []
    for person_id, _, _ in rows:
        if person_id not in people_order:
            people_order.append(person_id)
    # Each candidate person scored on all their faces (of this model, within `faces`), exactly.
    shortlist = people_order[: max(limit * 2, 8 if probe else 4)]
    if not shortlist:
        return Found([], probe)
    fields = ("id", "person_id", "embedding", "cohort_mean", "cohort_std", "cohort_people", "cohort_k")
    all_faces = list(base.filter(person_id__in=shortlist).values_list(*fields))
    face_stats = (cohort.face_stats(all_faces, embedding_model=embedding_model, k=normalise_k, people_now=people_now)
                  if probe is not None else {})
    by_person: dict = {}
    vector64 = np.asarray(vector, dtype=np.float64)
    for face_id, person_id, embedding, *_ in all_faces:
        similarity = float(np.asarray(embedding, dtype=np.float64) @ vector64)
        stats = face_stats.get(face_id)
        normalised = scoring.asnorm(similarity, probe, stats[0], stats[1]) if stats is not None else None
        by_person.setdefault(person_id, []).append((face_id, similarity, normalised))
    scored = []
    for person_id, entries in by_person.items():
        best_face, best, _ = max(entries, key=lambda e: e[1])
        cosine = template_score([s for _, s, _ in entries])
        normalised = (template_score([n for _, _, n in entries]) if all(n is not None for _, _, n in entries) else None)
        scored.append((normalised if normalised is not None else cosine, cosine, normalised, person_id, best_face, best, len(entries)))
    scored.sort(key=lambda row: row[0], reverse=True)
    if threshold is not None:
        scored = [row for row in scored if row[1] >= threshold]
    scored = scored[:limit]
    people = Person.objects.in_bulk([row[3] for row in scored])
    return Found([Match(person=people[pid], face_id=fid, similarity=cosine, best_face_similarity=best, faces_compared=n,
                        normalised_score=normalised)
                  for _, cosine, normalised, pid, fid, best, n in scored if pid in people], probe)


def _nearest_rows(base, vector, embedding_model: str, candidates: int, ef_search: int, exact: bool):
    return vectors.nearest_rows(base, vector, embedding_model=embedding_model, fields=("person_id", "id"),
                                limit=candidates, ef_search=ef_search, exact=exact)


def faces_of_person(person_id):
    """The candidates for a verification against one enrolled person."""
    return Face.objects.filter(person_id=person_id)


def faces_in_watchlists(watchlist_ids):
    """The candidates for an identification restricted to the people of some watchlists."""
    return Face.objects.filter(person__watchlists__id__in=list(watchlist_ids)).distinct()


def gallery_size(*, embedding_model: str, faces=None, key=None) -> int:
    """How many faces a search compares with: each is one more chance of a false match.

    Cached for a few seconds per (model, `key`): `key` names the candidate set (None: everyone).
    """
    base = (faces if faces is not None else Face.objects.all()).filter(embedding_model=embedding_model)
    if key is None and faces is not None:
        return base.count()
    return decision._cached(("gallery", embedding_model, key), base.count)


def best_match(vector: np.ndarray, *, embedding_model: str, faces=None, exact: bool = False,
               normalise_k: int | None = None) -> Match | None:
    """The best-scoring person (no threshold), or None when nobody is enrolled with this model."""
    matches = nearest_people(vector, embedding_model=embedding_model, limit=1, exact=exact, faces=faces, normalise_k=normalise_k)
    return matches[0] if matches else None

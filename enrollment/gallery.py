"""The gallery search: nearest enrolled people to a face vector, through pgvector's HNSW index (cosine).

The only module that queries vectors. Only vectors made by the same embedding model are compared.
A person is scored on all their faces, not on whichever one happens to be nearest (`template_score`):
the index finds the candidates, then each candidate's faces are compared exactly.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from django.conf import settings

from . import decision, vectors
from .models import Face, Person

TEMPLATE_TOP = 3  # a person's score blends their best face with the mean of their best TEMPLATE_TOP faces


@dataclass(frozen=True)
class Match:
    person: Person
    face_id: object  # the best-matching face
    similarity: float  # the person's template score (what is decided on)
    best_face_similarity: float
    faces_compared: int


def template_score(similarities) -> float:
    """A person's score from the similarities of all their faces: ½ best + ½ mean of the best three.

    With one face it is that face's similarity. With several, a stranger who happens to come close to one
    of them (a blurred one, say) is pulled down by the others, while a true match, close to all of them,
    keeps nearly its best score. It is never above the best face's similarity, so the presets'
    calibration (made on single faces) stays on the safe side.
    """
    ordered = sorted((float(s) for s in similarities), reverse=True)
    if not ordered:
        return float("-inf")
    top = ordered[:TEMPLATE_TOP]
    return 0.5 * ordered[0] + 0.5 * sum(top) / len(top)


def nearest_people(vector: np.ndarray, *, embedding_model: str, limit: int = 1, threshold: float | None = None,
                   ef_search: int | None = None, exact: bool = False, faces=None) -> list[Match]:
    """Up to `limit` people, best template score first, whose score is ≥ `threshold` (None: no floor).

    `exact=True` scans every vector instead of walking the index (for checks and small galleries);
    `faces` narrows the candidates (e.g. to a watchlist's people).
    """
    ef_search = ef_search or settings.FACEAPP_HNSW_EF_SEARCH
    # Several faces of one person can fill the top of the list: look further than `limit`.
    candidates = max(limit * 8, 32)
    base = (faces if faces is not None else Face.objects.all()).filter(embedding_model=embedding_model)
    rows = _nearest_rows(base, vector, embedding_model, candidates, ef_search, exact)
    people_order: list = []
    for person_id, _, _ in rows:
        if person_id not in people_order:
            people_order.append(person_id)
    # Each candidate person scored on all their faces (of this model, within `faces`), exactly.
    shortlist = people_order[: max(limit * 2, 4)]
    if not shortlist:
        return []
    all_faces = list(base.filter(person_id__in=shortlist).values_list("person_id", "id", "embedding"))
    by_person: dict = {}
    vector64 = np.asarray(vector, dtype=np.float64)
    for person_id, face_id, embedding in all_faces:
        by_person.setdefault(person_id, []).append((face_id, float(np.asarray(embedding, dtype=np.float64) @ vector64)))
    scored = []
    for person_id, entries in by_person.items():
        best_face, best = max(entries, key=lambda e: e[1])
        scored.append((template_score([s for _, s in entries]), person_id, best_face, best, len(entries)))
    scored.sort(key=lambda row: row[0], reverse=True)
    if threshold is not None:
        scored = [row for row in scored if row[0] >= threshold]
    scored = scored[:limit]
    people = Person.objects.in_bulk([row[1] for row in scored])
    return [Match(person=people[pid], face_id=fid, similarity=score, best_face_similarity=best, faces_compared=n)
            for score, pid, fid, best, n in scored if pid in people]


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


def best_match(vector: np.ndarray, *, embedding_model: str, faces=None, exact: bool = False) -> Match | None:
    """The best-scoring person (no threshold), or None when nobody is enrolled with this model."""
    matches = nearest_people(vector, embedding_model=embedding_model, limit=1, exact=exact, faces=faces)
    return matches[0] if matches else None

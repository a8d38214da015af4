"""Nearest enrolled people to a face vector, through pgvector's HNSW index (cosine).

The only module that queries vectors. A person may have many faces; the result holds each person
once, with their best-matching face. Only vectors made by the same embedding model are compared.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from django.conf import settings
from django.db import connection, transaction
from pgvector.django import CosineDistance

from enrollment.models import Face, Person


@dataclass(frozen=True)
class Match:
    person: Person
    face_id: object
    similarity: float


def nearest_people(
    vector: np.ndarray,
    *,
    embedding_model: str,
    limit: int = 1,
    threshold: float | None = None,
    ef_search: int | None = None,
    exact: bool = False,
    faces=None,
) -> list[Match]:
    """Up to `limit` people whose best face has cosine similarity ≥ `threshold`, best first.

    `exact=True` scans every vector instead of walking the index (for checks and small galleries);
    `faces` narrows the candidates (e.g. to a watchlist's people).
    """
    threshold = settings.FACEAPP_MATCH_THRESHOLD if threshold is None else threshold
    ef_search = ef_search or settings.FACEAPP_HNSW_EF_SEARCH
    # Several faces of one person can fill the top of the list: look further than `limit`.
    candidates = max(limit * 8, 32)
    queryset = (faces if faces is not None else Face.objects.all()).filter(embedding_model=embedding_model)
    queryset = (
        queryset.annotate(distance=CosineDistance("embedding", [float(x) for x in vector]))
        .order_by("distance")
        .values_list("person_id", "id", "distance")[:candidates]
    )
    with transaction.atomic():
        with connection.cursor() as cursor:
            if exact:
                cursor.execute("SET LOCAL enable_indexscan = off")
            else:
                cursor.execute("SET LOCAL hnsw.ef_search = %s", [max(ef_search, candidates)])
                # pgvector ≥ 0.8: keep scanning the index until enough rows pass the filters.
                cursor.execute("SET LOCAL hnsw.iterative_scan = strict_order")
        rows = list(queryset)
    best: dict = {}
    for person_id, face_id, distance in rows:
        # The threshold is applied here, not in SQL: a WHERE on the distance would make the index
        # scan walk on through every vector when nothing is close enough.
        if 1.0 - float(distance) < threshold:
            break
        if person_id not in best:
            best[person_id] = (face_id, 1.0 - float(distance))
    chosen = list(best.items())[:limit]
    people = Person.objects.in_bulk([person_id for person_id, _ in chosen])
    return [Match(person=people[pid], face_id=fid, similarity=sim) for pid, (fid, sim) in chosen if pid in people]


def faces_of_person(person_id):
    """The candidates for a verification against one enrolled person."""
    return Face.objects.filter(person_id=person_id)


def faces_in_watchlists(watchlist_ids):
    """The candidates for an identification restricted to the people of some watchlists."""
    return Face.objects.filter(person__watchlists__id__in=list(watchlist_ids))


def best_similarity(vector: np.ndarray, *, embedding_model: str, faces) -> float | None:
    """The highest cosine similarity between `vector` and `faces` (exact scan), None when there are none."""
    matches = nearest_people(vector, embedding_model=embedding_model, limit=1, threshold=-1.0, exact=True, faces=faces)
    return matches[0].similarity if matches else None

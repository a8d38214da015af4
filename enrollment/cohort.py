"""AS-norm's cohort statistics (recognition.scoring): how a face scores against the enrolled people.

The cohort is the enrolled gallery of one embedding model, taken per person. A probe's statistics come from
the search itself (its top-K people); an enrolled face's are stored on the face (`cohort_mean`, `cohort_std`,
computed against everyone but its own person) and kept current lazily: a search computes them for the
candidate faces whose statistics are missing or were computed when the cohort was more than
`STALE_SHARE` smaller or larger than now, and a django-q2 schedule (`refresh_stale`, every 10 minutes)
does the same for the whole gallery in the background so that searches rarely have to.
"""
from __future__ import annotations

import logging

from django.conf import settings
from django.db.models import Q

from recognition import scoring

from . import decision, vectors
from .models import Face

logger = logging.getLogger(__name__)

ROWS_PER_K = 3  # rows fetched per K people wanted (people with several faces take several rows)
STALE_SHARE = 0.05  # statistics computed with a cohort this much smaller or larger than now are recomputed
NO_STATS = {"cohort_mean": None, "cohort_std": None, "cohort_people": None, "cohort_k": None}


def people_count(embedding_model: str) -> int:
    """How many people have a face of this model: the cohort's size (cached for a few seconds)."""
    return decision._cached(
        ("cohort-people", embedding_model),
        lambda: Face.objects.filter(embedding_model=embedding_model).values("person_id").distinct().count(),
    )


def stats_from_rows(rows, k: int, *, people: int) -> scoring.CohortStats | None:
    """Statistics from (person_id, ..., cosine distance) rows nearest first; None with fewer than k people."""
    similarities = [1.0 - row[-1] for row in rows]
    return scoring.cohort_stats(scoring.best_per_person(similarities, [row[0] for row in rows]), k, cohort_people=people)


def search_stats(vector, *, embedding_model: str, k: int, people: int, exclude_person=None) -> scoring.CohortStats | None:
    """A vector's statistics against the cohort (optionally without one person), by one index search."""
    queryset = Face.objects.all()
    if exclude_person is not None:
        queryset = queryset.exclude(person_id=exclude_person)
    want = min(people - (exclude_person is not None), k)
    for rows_per_k in (ROWS_PER_K, 4 * ROWS_PER_K):  # people with many faces: look further once
        rows = vectors.nearest_rows(queryset, vector, embedding_model=embedding_model, fields=("person_id",),
                                    limit=rows_per_k * k, ef_search=settings.FACEAPP_HNSW_EF_SEARCH)
        stats = stats_from_rows(rows, want, people=people) if want >= k else None
        if stats is not None:
            return stats
    return None


def is_fresh(*, mean, people, face_k, k: int, people_now: int) -> bool:
    return mean is not None and face_k == k and people is not None and abs(people - people_now) <= STALE_SHARE * people_now


def face_stats(rows, *, embedding_model: str, k: int, people_now: int) -> dict:
    """{face id: (mean, std)} for rows (id, person_id, embedding, cohort_mean, cohort_std, cohort_people, cohort_k),
    computing and storing the statistics that are missing or stale."""
    result, updated = {}, []
    for face_id, person_id, embedding, mean, std, people, face_k in rows:
        if not is_fresh(mean=mean, people=people, face_k=face_k, k=k, people_now=people_now):
            stats = search_stats(embedding, embedding_model=embedding_model, k=k, people=people_now, exclude_person=person_id)
            if stats is None:
                result[face_id] = None
                continue
            mean, std = stats.mean, stats.std
            updated.append(Face(id=face_id, cohort_mean=mean, cohort_std=std, cohort_people=people_now, cohort_k=k))
        result[face_id] = (mean, std)
    if updated:
        Face.objects.bulk_update(updated, ["cohort_mean", "cohort_std", "cohort_people", "cohort_k"])
    return result


def stale_faces(embedding_model: str, *, k: int, people_now: int):
    fresh = (Q(cohort_k=k) & Q(cohort_mean__isnull=False)
             & Q(cohort_people__gte=people_now * (1 - STALE_SHARE)) & Q(cohort_people__lte=people_now * (1 + STALE_SHARE)))
    return Face.objects.filter(embedding_model=embedding_model).exclude(fresh)


def refresh_stale(*, batch: int = 2000) -> int:
    """Recompute up to `batch` stale statistics of the active model's faces (the schedule's task); how many."""
    from recognition import embedders

    model = embedders.model_id()
    normalisation = decision.normalisation_for(model)
    if normalisation is None:
        return 0
    people_now = people_count(model)
    if people_now < normalisation.min_people:
        return 0
    rows = list(stale_faces(model, k=normalisation.k, people_now=people_now)
                .values_list("id", "person_id", "embedding", "cohort_mean", "cohort_std", "cohort_people", "cohort_k")[:batch])
    computed = face_stats(rows, embedding_model=model, k=normalisation.k, people_now=people_now)
    if rows:
        logger.info("cohort statistics refreshed for %d faces of %s (%d people)", len(computed), model, people_now)
    return len(computed)

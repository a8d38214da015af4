"""Search of the past by face: "where and when was this face seen?"

The query is a photo's largest face, an enrolled person (the mean of their faces) or an unknown group (the mean of
its best faces); the answer is the sightings nearest to it, most similar first, optionally only of one camera and
within a time range, a page at a time. A small window is scanned exactly; a wider one walks the per-model partial
HNSW index of each partition of the sightings table it overlaps (`walk_for`) with pgvector's relaxed iterative scan
(enrollment.vectors.nearest_rows), so a narrow filter does not silently return fewer sightings than asked for while
enough match. It ranks; it names nobody (each result carries the decision taken when it was seen).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
from django.conf import settings

from faceapp.audit.log import Actor, record
from faceapp.audit.models import Action
from recognition import pipeline
from recognition.exceptions import FaceAppError, NoEnrolledFace, NoFaceDetected

from . import estimates, sighting_partitions, unknowns, vectors
from .identification import current_embedding_model
from .models import Face, Person, Sighting

MAX_RESULTS = 1000  # page × page_size may not go beyond this
QUERY_GROUP_FACES = 20
MAX_EF_SEARCH = 1000  # pgvector's largest hnsw.ef_search
MIN_EF_SEARCH = 200


class TooDeep(FaceAppError):
    error_code = "page_out_of_range"
    default_message = f"A search returns at most {MAX_RESULTS} sightings: ask for an earlier page or narrow the filters."


@dataclass(frozen=True)
class Hit:
    sighting: Sighting
    similarity: float


@dataclass(frozen=True)
class SearchResult:
    query: dict  # what was searched for: {"kind": "image" | "person" | "unknown_group", ...}
    hits: list[Hit]
    page: int
    page_size: int
    has_more: bool


def vector_of_image(image: bytes) -> tuple[np.ndarray, dict]:
    analysis = pipeline.analyse_bytes(image, max_faces=1)
    face = analysis.largest_face()
    if face is None:
        raise NoFaceDetected()
    return face.embedding, {"kind": "image", "faces_detected": analysis.faces_detected}


def vector_of_person(person: Person, embedding_model: str) -> tuple[np.ndarray, dict]:
    rows = list(Face.objects.filter(person=person, embedding_model=embedding_model).values_list("embedding", flat=True))
    if not rows:
        raise NoEnrolledFace(f"Person {person.id} has no enrolled face of the active model to search with.")
    return _mean(rows), {"kind": "person", "person_id": str(person.id), "faces": len(rows)}


def vector_of_group(group_id) -> tuple[np.ndarray, dict]:
    group = unknowns.get_group(group_id)
    members = unknowns.members_of(group.pk, limit=QUERY_GROUP_FACES)
    if not members:
        raise NoEnrolledFace(f"Unknown group {group.label} has no sighting to search with.")
    return _mean([m.embedding for m in members]), {"kind": "unknown_group", "unknown_group": group.label, "faces": len(members)}


def _mean(rows) -> np.ndarray:
    mean = np.mean(np.asarray(rows, dtype=np.float64), axis=0)
    return (mean / (np.linalg.norm(mean) or 1.0)).astype(np.float32)


def walk_for(since: dt.datetime | None, until: dt.datetime | None, wanted: int) -> tuple[int, bool]:
    """(hnsw.ef_search, exact scan or not) for a window of seen_at. The table is partitioned by time (each partition
    its own graph, enrollment.sighting_partitions): a window of few rows is scanned exactly (every row of the window
    through the b-tree on seen_at; FACEAPP_SIGHTING_EXACT_ROWS), and a wider one walks the graph of each partition
    it overlaps. Each walk meets entries outside the window (a day of a week: six in seven) and finds only its own
    part of the answer (one of two partitions: about half), so ef_search is FACEAPP_SIGHTING_EF_SEARCH divided by
    the window's share of those partitions' rows and by the number of walks, at least MIN_EF_SEARCH (or the setting,
    if lower: a short walk of each of many partitions missed the true nearest, bench/sightings_search.py) and the
    rows asked, at most MAX_EF_SEARCH."""
    rows, share, walks = sighting_partitions.rows_in_window(since, until)
    if rows < settings.FACEAPP_SIGHTING_EXACT_ROWS:  # (0: never)
        return wanted, True
    base = settings.FACEAPP_SIGHTING_EF_SEARCH
    ef = max(base / max(share * max(walks, 1), 1e-3), min(base, MIN_EF_SEARCH), wanted)
    return int(min(MAX_EF_SEARCH, ef)), False


def search(vector: np.ndarray, *, query: dict | None = None, embedding_model: str | None = None, camera=None,
           since: dt.datetime | None = None, until: dt.datetime | None = None, page: int = 1, page_size: int = 50,
           exact: bool = False, actor: Actor | None = None, gender=None, age_min=None, age_max=None,
           emotion=None) -> SearchResult:
    """The sightings nearest to `vector`, page `page` of `page_size`, filtered by camera, time (seen_at within
    [since, until]) and the estimated attributes (enrollment.estimates.filtered). `exact=True` scans every row
    (for checks)."""
    if page * page_size > MAX_RESULTS:
        raise TooDeep()
    model = embedding_model or current_embedding_model()
    queryset = Sighting.objects.all()
    if camera is not None:
        queryset = queryset.filter(camera_id=camera)
    if since is not None:
        queryset = queryset.filter(seen_at__gte=since)
    if until is not None:
        queryset = queryset.filter(seen_at__lte=until)
    attribute_filters = {"gender": gender, "age_min": age_min, "age_max": age_max, "emotion": emotion}
    queryset = estimates.filtered(queryset, **attribute_filters)
    wanted = page * page_size + 1  # one more tells whether another page follows
    ef_search, exact_scan = walk_for(since, until, wanted)
    rows = vectors.nearest_rows(queryset, vector, embedding_model=model, fields=("id",), limit=wanted,
                                ef_search=ef_search, exact=exact or exact_scan)
    window = rows[(page - 1) * page_size: page * page_size]
    # Without their vectors: nobody reads them here, and parsing 50 of them took longer than the search (bench).
    # The time filter again, so that PostgreSQL looks the ids up only in the partitions of the window.
    rows_of_window = Sighting.objects.filter(**{k: v for k, v in (("seen_at__gte", since), ("seen_at__lte", until)) if v})
    found = rows_of_window.select_related("person").defer("embedding").in_bulk([row[0] for row in window])
    hits = [Hit(found[sighting_id], round(1.0 - float(distance), 4)) for sighting_id, distance in window if sighting_id in found]
    query = query or {"kind": "vector"}
    record(actor, Action.SIGHTING_SEARCH, target_type=query["kind"],
           target_id=query.get("person_id") or query.get("unknown_group") or "", camera=str(camera) if camera else None,
           since=since.isoformat() if since else None, until=until.isoformat() if until else None, page=page,
           results=len(hits), **{k: v for k, v in attribute_filters.items() if v is not None})
    return SearchResult(query=query, hits=hits, page=page, page_size=page_size, has_more=len(rows) > page * page_size)

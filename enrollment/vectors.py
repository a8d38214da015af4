"""Stored face vectors and their HNSW indexes: one index per embedding model, over that model's own dimensions.

Every vector is stored in one 512-wide column (`manifest.EMBEDDING_SIZE`); a smaller model's vectors
(facenet-ms1m: 128-d) are padded with zeros. One index over the padded column would mix the models'
vector spaces in one graph and make a 128-d search pay for 512 dimensions. Instead each model gets a
partial HNSW index, restricted to its rows (`embedding_model_name`, a generated column) and built over
`subvector(embedding, 1, d)::vector(d)` where d is the model's own size (docs/benchmarks.md measures the
difference). A search uses the index when it filters on the same model name and orders by the same
expression: `nearest` builds both, and `tests/enrollment/test_vectors.py` checks the plan.
"""
from __future__ import annotations

from django.contrib.postgres.indexes import OpClass
from django.db import connection, models, transaction
from django.db.models import F, Func, Q, Value
from django.db.models.functions import Cast
from pgvector.django import CosineDistance, HnswIndex, VectorField

from recognition.embedders import MODELS, Embedder
from recognition.manifest import EMBEDDING_SIZE

HNSW_M = 16
HNSW_EF_CONSTRUCTION = 64


class Subvector(Func):
    function = "subvector"


def model_name_field() -> models.GeneratedField:
    """`embedding_model_name`: the model part of `embedding_model` ('facenet_ms1m:3f2a…' → 'facenet_ms1m')."""
    return models.GeneratedField(
        expression=Func(F("embedding_model"), Value(":"), Value(1), function="split_part", output_field=models.CharField()),
        output_field=models.CharField(max_length=64),
        db_persist=True,
    )


def indexed_vector(chosen: Embedder):
    """The expression a model's index is built over and its searches order by."""
    if chosen.dimensions == EMBEDDING_SIZE:
        return F("embedding")
    return Cast(Subvector(F("embedding"), Value(1), Value(chosen.dimensions)), VectorField(dimensions=chosen.dimensions))


def hnsw_indexes(prefix: str) -> list[HnswIndex]:
    """One partial cosine HNSW index per known embedding model, for a table with `embedding` and `embedding_model_name`."""
    return [
        HnswIndex(
            OpClass(indexed_vector(chosen), name="vector_cosine_ops"),
            name=f"{prefix}_{chosen.model}_hnsw"[:30],
            condition=Q(embedding_model_name=chosen.model),
            m=HNSW_M,
            ef_construction=HNSW_EF_CONSTRUCTION,
        )
        for chosen in MODELS.values()
    ]


def nearest(queryset, vector, *, embedding_model: str):
    """`queryset` restricted to vectors of `embedding_model` ('name:sha') and ordered by cosine distance to
    `vector` (annotated as `distance`), in the shape its model's partial index serves. Run it through
    `nearest_rows`, which sets how the index is walked."""
    name = embedding_model.split(":", 1)[0]
    queryset = queryset.filter(embedding_model=embedding_model)
    chosen = MODELS.get(name)
    if chosen is None:  # a model this version does not know: no index, an exact scan over its rows
        return queryset.annotate(distance=CosineDistance("embedding", [float(x) for x in vector])).order_by("distance")
    query = [float(x) for x in vector[: chosen.dimensions]]
    return (queryset.filter(embedding_model_name=name)
            .annotate(distance=CosineDistance(indexed_vector(chosen), query)).order_by("distance"))


def nearest_rows(queryset, vector, *, embedding_model: str, fields: tuple[str, ...], limit: int, ef_search: int,
                 exact: bool = False) -> list[tuple]:
    """The `limit` rows of `queryset` nearest to `vector` (`fields` + distance), best first.

    The index is walked with `hnsw.ef_search` ≥ `limit` and pgvector's iterative scan, so rows that the
    query's filters (or MVCC: deleted rows still in the graph) reject do not cut the answer short. The scan is
    `relaxed_order` and the rows are sorted here: `strict_order` drops a row it meets after a farther one, which
    left answers a row short (9 of 10 live rows in 8 of 30 seeded trials, tests/enrollment/test_vectors.py).
    `exact=True` scans every row instead (for checks and small candidate sets).

    An index walk that still comes back short (it stops after `hnsw.max_scan_tuples` index entries, which a graph
    full of deleted rows can reach) is answered again by the exact scan: fewer rows than asked means fewer rows
    exist, never that the walk gave up.
    """
    rows = nearest(queryset, vector, embedding_model=embedding_model).values_list(*fields, "distance")[:limit]
    with transaction.atomic(), connection.cursor() as cursor:
        if not exact:
            cursor.execute("SET LOCAL hnsw.ef_search = %s", [max(ef_search, limit)])
            cursor.execute("SET LOCAL hnsw.iterative_scan = relaxed_order")
            found = list(rows)
            if len(found) == limit:
                return sorted(found, key=lambda row: row[-1])
        # Every row by a sequential scan (whatever the session's planner settings say: with both scans off the
        # planner would take the index again).
        cursor.execute("SET LOCAL enable_indexscan = off")
        cursor.execute("SET LOCAL enable_seqscan = on")
        return sorted(rows.all(), key=lambda row: row[-1])

"""Per-model vector indexes: each model's searches walk its own partial HNSW index, over its own dimensions."""
from __future__ import annotations

import numpy as np
import pytest
from django.db import connection, transaction

from enrollment import vectors
from enrollment.models import Face, Person
from recognition.embedders import MODELS

pytestmark = pytest.mark.django_db


def padded_unit(rng, dimensions: int) -> np.ndarray:
    vector = np.zeros(512, dtype=np.float32)
    vector[:dimensions] = rng.standard_normal(dimensions)
    return vector / np.linalg.norm(vector)


def add_faces(model: str, count: int, rng) -> list[Face]:
    dims = MODELS[model.split(":")[0]].dimensions
    person = Person.objects.create(name=f"people of {model}")
    return Face.objects.bulk_create(
        Face(person=person, embedding=padded_unit(rng, dims).tolist(), embedding_model=model, crop="x.jpg", thumbnail="x.jpg")
        for _ in range(count)
    )


def plan(queryset) -> str:
    sql, params = queryset.query.sql_with_params()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # a tiny table: make the planner show what it *can* use
        cursor.execute("EXPLAIN " + sql, params)
        return "\n".join(row[0] for row in cursor.fetchall())


def test_the_generated_model_name_is_the_part_before_the_checksum():
    face = add_faces("facenet_ms1m:0123456789ab", 1, np.random.default_rng(0))[0]
    face.refresh_from_db()
    assert face.embedding_model_name == "facenet_ms1m"


@pytest.mark.parametrize("model", ["facenet_ms1m:aaaa", "facenet:bbbb", "arcface_mbf:cccc"])
def test_each_models_search_walks_its_own_partial_index(model):
    rng = np.random.default_rng(1)
    for other in ("facenet_ms1m:aaaa", "facenet:bbbb", "arcface_mbf:cccc"):
        add_faces(other, 20, rng)
    name = model.split(":")[0]
    query = vectors.nearest(Face.objects.all(), padded_unit(rng, MODELS[name].dimensions), embedding_model=model)[:5]
    explained = plan(query)
    assert f"face_{name}_hnsw" in explained, explained
    assert "face_facenet_hnsw" not in explained or name == "facenet"


def test_nearest_orders_by_cosine_distance_and_never_mixes_models():
    rng = np.random.default_rng(2)
    ms1m = add_faces("facenet_ms1m:aaaa", 30, rng)
    add_faces("facenet:bbbb", 30, rng)
    probe = padded_unit(rng, 128)
    found = vectors.nearest_rows(Face.objects.all(), probe, embedding_model="facenet_ms1m:aaaa", fields=("id",), limit=100, ef_search=40)
    assert {face_id for face_id, _ in found} == {f.id for f in ms1m}
    expected = sorted((1 - float(np.asarray(f.embedding) @ probe), f.id) for f in ms1m)
    assert [face_id for _, face_id in expected] == [face_id for face_id, _ in found]
    assert [d for d, _ in expected] == pytest.approx([d for _, d in found], abs=1e-5)


@pytest.mark.parametrize("seed", range(30))
def test_deleted_rows_left_in_the_graph_do_not_cut_the_answer_short(seed):
    rng = np.random.default_rng(seed)
    doomed = add_faces("facenet_ms1m:aaaa", 60, rng)
    kept = add_faces("facenet_ms1m:aaaa", 10, rng)
    Face.objects.filter(id__in=[f.id for f in doomed]).delete()  # their entries stay in the HNSW graph until vacuumed
    with connection.cursor() as cursor:
        # A tiny table: make the planner walk the index, as a large one would (LOCAL: until the test's rollback).
        cursor.execute("SET LOCAL enable_seqscan = off")
    probe = padded_unit(rng, 128)
    found = vectors.nearest_rows(Face.objects.all(), probe, embedding_model="facenet_ms1m:aaaa", fields=("id",),
                                 limit=10, ef_search=10)
    assert {face_id for face_id, _ in found} == {f.id for f in kept}
    assert [d for _, d in found] == sorted(d for _, d in found)  # best first


def test_an_index_walk_that_gives_up_early_is_answered_by_the_exact_scan():
    """pgvector stops an iterative scan after hnsw.max_scan_tuples index entries: a graph full of deleted rows can
    reach it (it did once in a full test run, where every rolled-back test leaves its faces in the graph)."""
    rng = np.random.default_rng(7)
    doomed = add_faces("facenet_ms1m:aaaa", 60, rng)
    kept = add_faces("facenet_ms1m:aaaa", 10, rng)
    Face.objects.filter(id__in=[f.id for f in doomed]).delete()
    probe = padded_unit(rng, 128)
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL hnsw.max_scan_tuples = 1")  # the walk gives up after its first batch
        cursor.execute("SET LOCAL hnsw.ef_search = 1")
        query = vectors.nearest(Face.objects.all(), probe, embedding_model="facenet_ms1m:aaaa").values_list("id", flat=True)[:10]
        cursor.execute("SET LOCAL hnsw.iterative_scan = relaxed_order")
        assert len(list(query)) < 10  # the walk alone comes back short here
    found = vectors.nearest_rows(Face.objects.all(), probe, embedding_model="facenet_ms1m:aaaa", fields=("id",),
                                 limit=10, ef_search=10)
    exact = sorted((1 - float(np.asarray(f.embedding) @ probe), f.id) for f in kept)
    assert [face_id for face_id, _ in found] == [face_id for _, face_id in exact]


def test_a_model_this_version_does_not_know_is_still_searched_exactly():
    rng = np.random.default_rng(3)
    unknown = add_faces("facenet:dddd", 5, rng)
    Face.objects.filter(id__in=[f.id for f in unknown]).update(embedding_model="future_model:eeee")
    found = vectors.nearest_rows(Face.objects.all(), padded_unit(rng, 512), embedding_model="future_model:eeee", fields=("id",),
                                 limit=10, ef_search=40)
    assert len(found) == 5

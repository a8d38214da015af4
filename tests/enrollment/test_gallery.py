import numpy as np
import pytest

from enrollment.models import Face, Person
from enrollment import gallery

pytestmark = pytest.mark.django_db

MODEL = "facenet:test"


def enrol_vectors(people: dict[str, list[np.ndarray]], model: str = MODEL) -> dict[str, Person]:
    persons = {name: Person(name=name) for name in people}
    Person.objects.bulk_create(persons.values())
    Face.objects.bulk_create(
        Face(person=persons[name], embedding=v.tolist(), embedding_model=model, crop="x.jpg", thumbnail="x.jpg")
        for name, vectors in people.items()
        for v in vectors
    )
    return persons


def random_unit_vectors(count: int, seed: int) -> np.ndarray:
    vectors = np.random.default_rng(seed).standard_normal((count, 512)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_index_search_returns_the_same_best_match_as_an_exact_scan(lfw_embeddings):
    enrolled = {name: [photos[0][1]] for name, photos in lfw_embeddings.items()}
    # Distractors so that the HNSW graph is larger than the LFW gallery.
    enrolled.update({f"synthetic {i}": [v] for i, v in enumerate(random_unit_vectors(3000, seed=1))})
    enrol_vectors(enrolled)
    probes = [(name, photos[1][1]) for name, photos in lfw_embeddings.items() if len(photos) > 1]
    assert len(probes) > 300
    disagreements = []
    for name, vector in probes:
        approximate = gallery.nearest_people(vector, embedding_model=MODEL, threshold=0.0, limit=1)
        exact = gallery.nearest_people(vector, embedding_model=MODEL, threshold=0.0, limit=1, exact=True)
        if approximate[0].person.id != exact[0].person.id:
            disagreements.append(name)
    assert disagreements == []


def test_search_returns_each_person_once_with_their_best_face():
    rng = np.random.default_rng(7)
    base = random_unit_vectors(2, seed=3)
    near = base[0] + 0.05 * rng.standard_normal(512).astype(np.float32)
    near /= np.linalg.norm(near)
    persons = enrol_vectors({"two faces": [base[0], near], "other": [base[1]]})
    matches = gallery.nearest_people(base[0], embedding_model=MODEL, threshold=-1.0, limit=5)
    assert [m.person.id for m in matches] == [persons["two faces"].id, persons["other"].id]
    assert matches[0].best_face_similarity == pytest.approx(1.0, abs=1e-5)
    assert matches[0].faces_compared == 2
    assert str(matches[0].face_id) == str(Face.objects.get(person=persons["two faces"], embedding=base[0].tolist()).id)


def test_search_applies_the_threshold_it_is_given():
    vectors = random_unit_vectors(2, seed=11)  # random 512-d vectors are nearly orthogonal
    enrol_vectors({"someone": [vectors[0]]})
    assert gallery.nearest_people(vectors[1], embedding_model=MODEL, threshold=0.3) == []
    assert len(gallery.nearest_people(vectors[1], embedding_model=MODEL, threshold=-1.0)) == 1


def test_a_person_is_scored_on_all_their_faces_not_on_the_nearest_one():
    base = random_unit_vectors(4, seed=21)
    probe = base[0]
    # "lucky" has one face identical to the probe and two unrelated ones; "steady" has three faces all fairly close.
    close = [probe * 0.8 + 0.6 * base[k] for k in (1, 2, 3)]
    close = [v / np.linalg.norm(v) for v in close]
    persons = enrol_vectors({"lucky": [probe * 0.9 + 0.436 * base[1], base[2], base[3]], "steady": close})
    matches = {m.person.name: m for m in gallery.nearest_people(probe, embedding_model=MODEL, limit=2)}
    lucky, steady = matches["lucky"], matches["steady"]
    assert lucky.best_face_similarity > steady.best_face_similarity
    assert lucky.faces_compared == steady.faces_compared == 3
    assert lucky.similarity < lucky.best_face_similarity  # pulled down by its unrelated faces
    assert steady.similarity > lucky.similarity  # the person close on every face ranks first
    assert [m.person.id for m in gallery.nearest_people(probe, embedding_model=MODEL, limit=2)][0] == persons["steady"].id


def test_template_score_of_one_face_is_its_similarity_and_never_exceeds_the_best():
    assert gallery.template_score([0.7]) == pytest.approx(0.7)
    assert gallery.template_score([0.9, 0.1, 0.1]) == pytest.approx(0.5 * 0.9 + 0.5 * (1.1 / 3))
    for scores in ([0.5, 0.4], [0.9, 0.9, 0.9, 0.2], [0.3]):
        assert gallery.template_score(scores) <= max(scores) + 1e-12


def test_gallery_size_counts_the_faces_of_one_model():
    vectors = random_unit_vectors(3, seed=2)
    enrol_vectors({"a": [vectors[0], vectors[1]]})
    enrol_vectors({"b": [vectors[2]]}, model="othermodel:1")
    assert gallery.gallery_size(embedding_model=MODEL, faces=Face.objects.all()) == 2


def test_search_compares_only_vectors_of_the_same_model():
    vector = random_unit_vectors(1, seed=5)[0]
    enrol_vectors({"old model": [vector]}, model="othermodel:123")
    assert gallery.nearest_people(vector, embedding_model=MODEL, threshold=0.0) == []
    assert len(gallery.nearest_people(vector, embedding_model="othermodel:123", threshold=0.0)) == 1

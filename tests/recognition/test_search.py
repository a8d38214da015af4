import numpy as np
import pytest
from django.conf import settings

from enrollment.models import Face, Person
from recognition import search

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
    gallery = {name: [photos[0][1]] for name, photos in lfw_embeddings.items()}
    # Distractors so that the HNSW graph is larger than the LFW gallery.
    gallery.update({f"synthetic {i}": [v] for i, v in enumerate(random_unit_vectors(3000, seed=1))})
    enrol_vectors(gallery)
    probes = [(name, photos[1][1]) for name, photos in lfw_embeddings.items() if len(photos) > 1]
    assert len(probes) > 300
    disagreements = []
    for name, vector in probes:
        approximate = search.nearest_people(vector, embedding_model=MODEL, threshold=0.0, limit=1)
        exact = search.nearest_people(vector, embedding_model=MODEL, threshold=0.0, limit=1, exact=True)
        if approximate[0].person.id != exact[0].person.id:
            disagreements.append(name)
    assert disagreements == []


def test_search_returns_each_person_once_with_their_best_face():
    rng = np.random.default_rng(7)
    base = random_unit_vectors(2, seed=3)
    near = base[0] + 0.05 * rng.standard_normal(512).astype(np.float32)
    near /= np.linalg.norm(near)
    persons = enrol_vectors({"two faces": [base[0], near], "other": [base[1]]})
    matches = search.nearest_people(base[0], embedding_model=MODEL, threshold=-1.0, limit=5)
    assert [m.person.id for m in matches] == [persons["two faces"].id, persons["other"].id]
    assert matches[0].similarity == pytest.approx(1.0, abs=1e-5)
    assert str(matches[0].face_id) == str(Face.objects.get(person=persons["two faces"], embedding=base[0].tolist()).id)


def test_search_applies_the_threshold():
    vectors = random_unit_vectors(2, seed=11)  # random 512-d vectors are nearly orthogonal
    enrol_vectors({"someone": [vectors[0]]})
    assert search.nearest_people(vectors[1], embedding_model=MODEL) == []
    assert settings.FACEAPP_MATCH_THRESHOLD > 0.2
    assert len(search.nearest_people(vectors[1], embedding_model=MODEL, threshold=-1.0)) == 1


def test_search_compares_only_vectors_of_the_same_model():
    vector = random_unit_vectors(1, seed=5)[0]
    enrol_vectors({"old model": [vector]}, model="othermodel:123")
    assert search.nearest_people(vector, embedding_model=MODEL, threshold=0.0) == []
    assert len(search.nearest_people(vector, embedding_model="othermodel:123", threshold=0.0)) == 1

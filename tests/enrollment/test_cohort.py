"""AS-norm's cohort statistics in the database: computed by the searches that need them, kept current, exact."""
from __future__ import annotations

import numpy as np
import pytest

from enrollment import cohort, decision, gallery, identification
from enrollment.models import Face, Person
from recognition import embedders, scoring

pytestmark = pytest.mark.django_db


def lfw_gallery(lfw_embeddings, people: int) -> tuple[list[Person], dict]:
    """The first photo of `people` lfw-dev people enrolled (vectors as the pipeline made them); their other photos."""
    model = embedders.model_id()
    names = sorted(lfw_embeddings)[:people]
    persons = Person.objects.bulk_create(Person(name=name) for name in names)
    Face.objects.bulk_create(Face(person=p, embedding=lfw_embeddings[p.name][0][1].tolist(), embedding_model=model,
                                  crop="x.jpg", thumbnail="x.jpg") for p in persons)
    decision.forget_cached()
    return persons, {p.name: [v for _, v in lfw_embeddings[p.name][1:]] for p in persons}


def exact_face_stats(face: Face, k: int) -> tuple[float, float]:
    others = Face.objects.exclude(person_id=face.person_id).values_list("person_id", "embedding")
    ids = [pid for pid, _ in others]
    scores = np.array([np.asarray(e) for _, e in others]) @ np.asarray(face.embedding)
    stats = scoring.cohort_stats(scoring.best_per_person(scores, ids), k, cohort_people=0)
    return stats.mean, stats.std


def test_a_search_computes_and_stores_the_statistics_of_the_faces_it_decides_on(lfw_embeddings):
    persons, others = lfw_gallery(lfw_embeddings, 320)
    target = next(p for p in persons if others[p.name])
    k = decision.normalisation_for(embedders.model_id()).k
    assert not Face.objects.filter(cohort_mean__isnull=False).exists()
    matches = gallery.nearest_people(others[target.name][0], embedding_model=embedders.model_id(), limit=3, normalise_k=k)
    assert matches[0].normalised_score is not None
    stored = Face.objects.filter(cohort_mean__isnull=False)
    assert 0 < stored.count() <= 40  # only the shortlisted candidates, not the whole gallery
    for face in stored:
        mean, std = exact_face_stats(face, k)
        assert face.cohort_mean == pytest.approx(mean, abs=1e-4) and face.cohort_std == pytest.approx(std, abs=1e-4)
        assert face.cohort_people == 320 and face.cohort_k == k


def test_statistics_computed_with_a_much_smaller_cohort_are_recomputed(lfw_embeddings):
    lfw_gallery(lfw_embeddings, 320)
    k = decision.normalisation_for(embedders.model_id()).k
    model = embedders.model_id()
    assert cohort.refresh_stale() == 320  # the schedule's task: everybody, once
    assert cohort.stale_faces(model, k=k, people_now=320).count() == 0
    assert cohort.stale_faces(model, k=k, people_now=330).count() == 0  # within 5%
    assert cohort.stale_faces(model, k=k, people_now=340).count() == 320  # more than 5% larger: stale


def test_the_server_decides_on_the_same_normalised_scores_as_the_evaluation(lfw_embeddings):
    from recognition import evaluation, evaluation_asnorm

    persons, others = lfw_gallery(lfw_embeddings, 330)
    k = decision.normalisation_for(embedders.model_id()).k
    dataset = evaluation.Dataset(people=[p.name for p in persons], photos=[[None] for _ in persons],
                                 vectors=[[lfw_embeddings[p.name][0][1]] for p in persons])
    gallery_vectors = np.array([lfw_embeddings[p.name][0][1] for p in persons], dtype=np.float64)
    probes = [(i, v) for i, p in enumerate(persons) for v in others[p.name][:1]][:15]
    raw = evaluation.search(gallery_vectors, np.arange(len(persons)), np.array([v for _, v in probes]), np.array([i for i, _ in probes]))
    expected = evaluation_asnorm.normalise_searches(raw, dataset, k=k)
    for (i, vector), best, score in zip(probes, expected.nearest, expected.similarity):
        match = gallery.best_match(vector, embedding_model=embedders.model_id(), normalise_k=k)
        assert match.person == persons[best]
        assert match.normalised_score == pytest.approx(score, abs=0.02)


def test_with_enough_people_identify_decides_on_normalised_scores_and_says_so(lfw_embeddings, models_ready):
    from tests.conftest import read_bytes

    lfw_gallery(lfw_embeddings, 320)
    result = identification.identify(read_bytes("samples", "obama.jpg"))
    assert result.policy.score_kind == "asnorm" and result.policy.normalisation.cohort_people == 320
    assert result.faces[0].decision.score_kind == "asnorm"
    assert result.policy.as_dict()["normalisation"]["threshold"] == pytest.approx(result.policy.normalisation.threshold, abs=1e-3)
    verified = identification.verify(read_bytes("samples", "obama.jpg"), image2=read_bytes("samples", "obama2.jpg"))
    assert verified.policy.score_kind == "cosine"  # 1:1 keeps its own calibration


def test_below_the_cohort_minimum_decisions_stay_on_cosine(lfw_embeddings, models_ready):
    from tests.conftest import read_bytes

    lfw_gallery(lfw_embeddings, 50)
    result = identification.identify(read_bytes("samples", "obama.jpg"))
    assert result.policy.score_kind == "cosine" and result.faces[0].decision.score_kind == "cosine"


def test_reembedding_a_face_forgets_its_statistics(settings, models_ready):
    from enrollment.reembedding import reembed_all
    from enrollment.services import enrol_person
    from tests.conftest import read_bytes

    obama = enrol_person(name="Barack Obama", birthdate=None, image=read_bytes("samples", "obama.jpg"), image_name="obama.jpg")
    Face.objects.filter(person=obama).update(cohort_mean=0.3, cohort_std=0.05, cohort_people=400, cohort_k=100)
    settings.FACEAPP_EMBEDDER = "arcface-mbf"
    settings.FACEAPP_ACCEPT_NONCOMMERCIAL_MODELS = True
    assert reembed_all().faces_done == 1
    face = Face.objects.get(person=obama)
    assert face.embedding_model.startswith("arcface_mbf:") and face.cohort_mean is None and face.cohort_k is None

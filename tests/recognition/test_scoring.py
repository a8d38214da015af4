"""AS-norm: the formula, the per-person cohort, and what it does on lfw-dev."""
from __future__ import annotations

import numpy as np
import pytest

from recognition import scoring


def test_best_per_person_keeps_one_score_per_person():
    assert sorted(scoring.best_per_person([0.2, 0.9, 0.5, 0.1], ["a", "b", "a", "c"])) == [0.1, 0.5, 0.9]


def test_cohort_stats_need_k_people_and_floor_the_spread():
    assert scoring.cohort_stats([0.3, 0.2], 3, cohort_people=2) is None
    stats = scoring.cohort_stats([0.5, 0.5, 0.5, 0.1], 3, cohort_people=4)
    assert stats.mean == pytest.approx(0.5) and stats.std == scoring.MIN_STD and stats.people == 4


def test_asnorm_is_the_mean_of_the_two_z_scores():
    probe = scoring.CohortStats(0.2, 0.05, 100)
    assert scoring.asnorm(0.7, probe, 0.3, 0.1) == pytest.approx(0.5 * ((0.7 - 0.2) / 0.05 + (0.7 - 0.3) / 0.1))
    both = scoring.asnorm(np.array([0.7, 0.2]), probe, np.array([0.3, 0.3]), np.array([0.1, 0.1]))
    assert both[1] < both[0]


def test_a_person_with_many_photos_does_not_fill_a_cohort():
    rng = np.random.default_rng(0)
    base = rng.standard_normal(16)
    twins = [base + 0.01 * rng.standard_normal(16) for _ in range(10)]  # ten photos of one person
    others = list(rng.standard_normal((20, 16)))
    gallery = np.array(twins + others)
    gallery /= np.linalg.norm(gallery, axis=1, keepdims=True)
    ids = np.array([0] * 10 + list(range(1, 21)))
    probe = gallery[:1]
    mu, _ = scoring.probe_stats(probe @ gallery.T, ids, 5)
    per_person = sorted(scoring.best_per_person((probe @ gallery.T)[0], ids), reverse=True)[:5]
    assert mu[0] == pytest.approx(np.mean(per_person))  # the ten twins count once


def test_a_gallery_faces_own_person_is_left_out_of_its_cohort():
    rng = np.random.default_rng(1)
    gallery = rng.standard_normal((12, 8))
    gallery /= np.linalg.norm(gallery, axis=1, keepdims=True)
    ids = np.array([0, 0] + list(range(1, 11)))
    mu, _ = scoring.gallery_stats(gallery, ids, 3)
    others = gallery[2:] @ gallery[0]
    assert mu[0] == pytest.approx(np.sort(others)[-3:].mean())


def test_on_lfw_dev_asnorm_misses_fewer_enrolled_people_at_the_same_share_of_strangers(lfw_embeddings):
    """The reason it is built: at 1% of strangers named, FaceNet MS-Celeb-1M misses fewer enrolled people."""
    from recognition import evaluation, evaluation_asnorm

    people = sorted(lfw_embeddings)
    dataset = evaluation.Dataset(people=people, photos=[[None] * len(lfw_embeddings[p]) for p in people],
                                 vectors=[[v for _, v in lfw_embeddings[p]] for p in people])
    raw_missed, normalised_missed = [], []
    for seed in range(3):
        raw, normalised = evaluation_asnorm.strangers(dataset, seed=seed)
        raw_missed.append(evaluation.at_far(raw.mated_scores(), raw.stranger_scores(), 0.01).frr)
        normalised_missed.append(evaluation.at_far(normalised.mated_scores(), normalised.stranger_scores(), 0.01).frr)
    assert np.mean(normalised_missed) < np.mean(raw_missed) - 0.03, (raw_missed, normalised_missed)

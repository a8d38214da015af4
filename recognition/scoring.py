"""Adaptive score normalisation (AS-norm) of cosine similarities. Pure numpy.

Raw cosine scores of different probes are not comparable: some faces are close to everybody (a blurred
photo, a common look), so one fixed threshold names them too readily, while others stand out at lower
scores. AS-norm rescales each score by how the two faces score against a cohort of other people:

    s' = ½ ((s − μp) / σp + (s − μg) / σg)

with μ, σ the mean and standard deviation of the top-K similarities of the probe p (resp. of the enrolled
face g) to the cohort. The cohort is the enrolled gallery itself, taken **per person** (each person's best
face), so that a person with many photos does not fill a probe's top-K with their own faces; an enrolled
face's own person is left out of its cohort. On lfw-dev (docs/accuracy.md) it lowers the share of enrolled
people missed at 1% of strangers named from 16.8% to 11.6% for FaceNet MS-Celeb-1M, and the normalised
score at which 1% of strangers are named stays level as the gallery grows (the top-K statistics grow with
it), which is what lets a calibration made on a few hundred people hold at larger galleries.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MIN_STD = 1e-3  # a cohort whose top scores are all equal would divide by ~0


@dataclass(frozen=True)
class CohortStats:
    """How one face scores against the cohort: mean and spread of its top-K per-person similarities."""

    mean: float
    std: float
    people: int  # the cohort's size (people) when they were computed

    def as_tuple(self) -> tuple[float, float, int]:
        return self.mean, self.std, self.people


def best_per_person(similarities, person_ids) -> np.ndarray:
    """Each person's best similarity (one value per distinct person, any order)."""
    best: dict = {}
    for person, score in zip(person_ids, similarities):
        score = float(score)
        if person not in best or score > best[person]:
            best[person] = score
    return np.fromiter(best.values(), dtype=np.float64, count=len(best))


def cohort_stats(person_scores, k: int, *, cohort_people: int) -> CohortStats | None:
    """Stats of the top `k` of one face's per-person similarities; None when fewer than `k` people scored."""
    scores = np.asarray(person_scores, dtype=np.float64)
    if len(scores) < k:
        return None
    top = -np.partition(-scores, k - 1)[:k]
    return CohortStats(float(top.mean()), float(max(top.std(), MIN_STD)), int(cohort_people))


def asnorm(similarity, probe: CohortStats, face_mean, face_std):
    """The normalised score(s) of `similarity` between a probe and enrolled face(s) with the given stats."""
    s = np.asarray(similarity, dtype=np.float64)
    value = 0.5 * ((s - probe.mean) / probe.std + (s - np.asarray(face_mean)) / np.asarray(face_std))
    return float(value) if np.ndim(value) == 0 else value


def gallery_stats(gallery: np.ndarray, person_ids: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(mean, std) per gallery face against the rest of the gallery, per person, own person excluded.

    For evaluation and calibration over in-memory vectors (what the server keeps per enrolled face).
    """
    person_ids = np.asarray(person_ids)
    scores = np.asarray(gallery, dtype=np.float64) @ np.asarray(gallery, dtype=np.float64).T
    per_person = _per_person_matrix(scores, person_ids)
    own = np.unique(person_ids, return_inverse=True)[1]
    per_person[np.arange(len(own)), own] = -np.inf
    return _top_mean_std(per_person, k)


def probe_stats(probe_scores: np.ndarray, person_ids: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(mean, std) per probe (rows of probes × gallery scores) of its top-K per-person similarities."""
    return _top_mean_std(_per_person_matrix(np.asarray(probe_scores, dtype=np.float64), np.asarray(person_ids)), k)


def normalise_matrix(probe_scores: np.ndarray, gallery: np.ndarray, person_ids: np.ndarray, k: int) -> np.ndarray:
    """AS-norm of a probes × gallery score matrix, the gallery being its own per-person cohort."""
    mu_g, sd_g = gallery_stats(gallery, person_ids, k)
    mu_p, sd_p = probe_stats(probe_scores, person_ids, k)
    return 0.5 * ((probe_scores - mu_p[:, None]) / sd_p[:, None] + (probe_scores - mu_g[None, :]) / sd_g[None, :])


def _per_person_matrix(scores: np.ndarray, person_ids: np.ndarray) -> np.ndarray:
    """Rows × people: the best score of each row against each person's faces."""
    people, column = np.unique(person_ids, return_inverse=True)
    if len(people) == len(person_ids):  # one face per person: the columns, in the people's order
        out = np.empty_like(scores)
        out[:, column] = scores
        return out
    out = np.full((scores.shape[0], len(people)), -np.inf)
    for j in range(len(people)):
        out[:, j] = scores[:, column == j].max(axis=1)
    return out


def _top_mean_std(per_person: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    k = min(k, per_person.shape[1] - 1) if per_person.shape[1] > 1 else 1
    top = -np.partition(-per_person, k - 1, axis=1)[:, :k]
    top = np.where(np.isfinite(top), top, np.nan)
    return np.nanmean(top, axis=1), np.maximum(np.nanstd(top, axis=1), MIN_STD)

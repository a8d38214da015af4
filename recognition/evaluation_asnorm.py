"""The open-set protocols and the calibration on AS-normalised scores (recognition.scoring), over vectors in memory.

The same strangers protocol as recognition.evaluation (half the people enrolled with one photo, their second
photos as mated probes, the other half's photos as strangers), each probe decided on its best normalised score
against the enrolled half, the enrolled half being its own cohort (as in the server).
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from . import calibration, scoring
from .evaluation import Dataset, Searches, far, strangers_protocol

DEFAULT_K = 100
MIN_PEOPLE_PER_K = 3  # normalisation needs a cohort of at least 3·K people
GENERALITY = 2.0  # as the raw calibration: presets aim at half their nominal rate
VETO_FACTOR, MAX_VETO_FAR = 10, 0.2  # enrollment.decision's VETO_FACTOR and CLOSE_FAR


def normalise_searches(searches: Searches, dataset: Dataset, *, k: int = DEFAULT_K, veto: np.ndarray | None = None) -> Searches:
    """`searches` (a protocol searched on raw scores, with its score matrix) re-decided on normalised scores.

    `veto` (per probe, optional): a raw score floor below which a probe's best candidate is not accepted;
    its normalised score is then -inf (never named).
    """
    gallery = np.array([dataset.faces_of(i)[0] for i in searches.gallery_ids], dtype=np.float64)
    scores = scoring.normalise_matrix(searches.scores, gallery, searches.gallery_ids, k)
    best = scores.argmax(axis=1)
    rows = np.arange(len(best))
    decided = scores[rows, best]
    if veto is not None:
        decided = np.where(searches.scores[rows, best] >= veto, decided, -np.inf)
    return Searches(searches.gallery_ids, searches.truth, searches.gallery_ids[best], decided, scores)


def strangers(dataset: Dataset, *, seed: int, k: int = DEFAULT_K, size: int | None = None) -> tuple[Searches, Searches]:
    """(raw, normalised) searches of the strangers protocol; `size` enrols a random subset of the enrolled half."""
    raw = strangers_protocol(dataset, seed=seed)
    if size is not None and size < raw.gallery_size:
        raw = raw.restricted(np.sort(np.random.default_rng(1000 + seed).choice(raw.gallery_ids, size=size, replace=False)))
    return raw, normalise_searches(raw, dataset, k=k)


def calibrate(dataset: Dataset, *, source: str, k: int = DEFAULT_K, seeds=range(40),
              generality: float = GENERALITY) -> calibration.NormalisedCalibration:
    """Fit the per-search distribution of strangers' best normalised scores over many random splits."""
    people = sum(1 for i in range(len(dataset.people)) if dataset.faces_of(i))
    min_people = MIN_PEOPLE_PER_K * k
    if people // 2 < min_people:
        raise ValueError(f"{people} people with a face: normalisation with K={k} needs galleries of {min_people} "
                         f"(twice as many people, half of them enrolled)")
    best = np.concatenate([strangers(dataset, seed=seed, k=k)[1].stranger_scores() for seed in seeds])
    tail = calibration.fit_tail(best, source=source)
    return calibration.NormalisedCalibration(k, min_people, replace(tail, margin=generality))


def measured_far(normalised_searches: Searches, threshold: float) -> float:
    return far(normalised_searches.stranger_scores(), threshold)


def veto_far(target: float) -> float:
    """The per-search rate whose cosine threshold a normalised decision must also reach (enrollment.decision)."""
    return min(VETO_FACTOR * target, MAX_VETO_FAR)


def preset_rows(dataset: Dataset, raw_tail, normalised: calibration.NormalisedCalibration, presets: dict, *,
                sizes=(None,), seeds=range(5)) -> list:
    """Each preset decided as the server decides with enough people enrolled (normalised score and the cosine
    veto), on the strangers protocol; galleries smaller than the cohort minimum are skipped."""
    from .evaluation import PresetRow, frr

    rows = []
    for preset, target in presets.items():
        threshold = normalised.threshold(target)
        for size in sizes:
            fars, frrs, used, strangers_count = [], [], 0, 0
            for seed in seeds:
                raw, _ = strangers(dataset, seed=seed, k=normalised.k, size=size)
                used, strangers_count = raw.gallery_size, int((~raw.mated).sum())
                if used < normalised.min_people:
                    break
                veto = calibration.threshold_for(raw_tail, veto_far(target), used)
                searches = normalise_searches(raw, dataset, k=normalised.k, veto=np.full(len(raw.truth), veto))
                fars.append(far(searches.stranger_scores(), threshold))
                frrs.append(frr(searches.mated_scores(), threshold))
            if fars:
                rows.append(PresetRow(preset, target, used, threshold, float(np.mean(fars)), float(np.mean(frrs)), strangers_count))
    return rows


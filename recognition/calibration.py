"""From impostor scores to thresholds: how often a search by a stranger names somebody. Pure numpy.

A search of a gallery of N enrolled faces by a person who is not enrolled names somebody when any of
the N similarities reaches the threshold t. With p(t) the chance that one impostor pair (two different
people) scores ≥ t, the per-search false-accept rate is about

    FAR(t, N) = 1 − (1 − p(t))^N

so the threshold that keeps FAR at a target rises with N. For N = 1,000,000 and 0.1% of searches p(t)
must be ~1e-9, far below what any labelled set measures directly, so the tail of the impostor
distribution is modelled: above a high quantile u of the impostor scores the exceedances follow a
generalised Pareto distribution (the peaks-over-threshold result of extreme value theory), fitted by
probability-weighted moments (Hosking & Wallis 1987: closed form, no optimiser), whose shape ξ < 0
gives cosine similarity its upper bound. Below u the empirical distribution is used as it is.

The independence assumed by the formula over-states the rate a little when a probe is close to many
faces at once (those exceedances come together, in one search), which errs towards refusing.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

TAIL_QUANTILE = 0.99  # the tail is modelled above the 99th percentile of the impostor scores
MIN_TAIL = 200  # exceedances needed for the fit


@dataclass(frozen=True)
class ImpostorTail:
    """p(t) = P(impostor score ≥ t): empirical below `u`, generalised Pareto above it."""

    u: float  # where the modelled tail starts
    zeta: float  # P(score > u)
    sigma: float  # GPD scale
    xi: float  # GPD shape (< 0: bounded above at u − sigma/xi)
    quantiles: tuple[float, ...]  # the empirical body: impostor scores at probabilities QUANTILE_GRID
    pairs: int  # how many impostor pairs it was fitted on
    source: str = ""  # which labelled set

    margin: float = 1.0  # presets aim at target / margin (see `Calibration`)

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "ImpostorTail":
        return cls(**{**data, "quantiles": tuple(data["quantiles"])})

    def p(self, t: float) -> float:
        """The chance that one impostor pair scores ≥ t."""
        if t > self.u:
            z = 1.0 + self.xi * (t - self.u) / self.sigma
            if z <= 0:
                return 0.0
            return self.zeta * z ** (-1.0 / self.xi) if abs(self.xi) > 1e-9 else self.zeta * math.exp(-(t - self.u) / self.sigma)
        # The body: interpolate the survival function between the stored quantiles.
        probabilities = 1.0 - np.asarray(QUANTILE_GRID)
        return float(np.interp(t, self.quantiles, probabilities, left=1.0, right=self.zeta))

    def score_at(self, p: float) -> float:
        """The score t with p(t) = p (the inverse of `p`)."""
        if p <= 0:
            return self.upper_bound
        if p < self.zeta:
            if abs(self.xi) > 1e-9:
                return self.u + self.sigma / self.xi * ((p / self.zeta) ** (-self.xi) - 1.0)
            return self.u - self.sigma * math.log(p / self.zeta)
        return float(np.interp(1.0 - p, QUANTILE_GRID, self.quantiles))

    @property
    def upper_bound(self) -> float:
        return self.u - self.sigma / self.xi if self.xi < 0 else math.inf


QUANTILE_GRID = tuple(np.round(np.linspace(0.0, TAIL_QUANTILE, 100), 6))


def fit_tail(impostor_scores: np.ndarray, *, source: str = "") -> ImpostorTail:
    """Fit the impostor distribution of a model from the similarities of different-person pairs."""
    scores = np.sort(np.asarray(impostor_scores, dtype=np.float64))
    if len(scores) < MIN_TAIL / (1 - TAIL_QUANTILE):
        raise ValueError(f"{len(scores)} impostor pairs are too few to fit the tail (need {int(MIN_TAIL / (1 - TAIL_QUANTILE))})")
    u = float(np.quantile(scores, TAIL_QUANTILE))
    exceedances = scores[scores > u] - u
    sigma, xi = _gpd_pwm(exceedances)
    return ImpostorTail(
        u=u, zeta=len(exceedances) / len(scores), sigma=sigma, xi=xi,
        quantiles=tuple(float(q) for q in np.quantile(scores, QUANTILE_GRID)), pairs=len(scores), source=source,
    )


def _gpd_pwm(y: np.ndarray) -> tuple[float, float]:
    """(sigma, xi) of a generalised Pareto distribution by probability-weighted moments."""
    y = np.sort(y)
    n = len(y)
    plotting = (np.arange(1, n + 1) - 0.35) / n
    a0 = y.mean()
    a1 = float(np.mean((1.0 - plotting) * y))
    k = a0 / (a0 - 2.0 * a1) - 2.0  # Hosking's k = −ξ
    sigma = 2.0 * a0 * a1 / (a0 - 2.0 * a1)
    return float(sigma), float(-k)


def per_search_far(tail: ImpostorTail, threshold: float, gallery_size: int) -> float:
    """The share of searches by a stranger that name somebody, with `gallery_size` enrolled faces."""
    p = tail.p(threshold)
    if gallery_size <= 0 or p <= 0:
        return 0.0
    return float(-math.expm1(gallery_size * math.log1p(-min(p, 1 - 1e-16))))


def threshold_for(tail: ImpostorTail, target_far: float, gallery_size: int) -> float:
    """The lowest threshold at which at most `target_far` / `tail.margin` of stranger searches name somebody.

    The margin (≥ 1) is the calibration's allowance for photos unlike those it was fitted on.
    """
    n = max(int(gallery_size), 1)
    alpha = target_far / max(tail.margin, 1.0)
    p = -math.expm1(math.log1p(-alpha) / n)  # 1 − (1 − α)^(1/N), accurate for tiny values
    return float(min(tail.score_at(p), 1.0))


def validation_margin(observed_far: float, target_far: float, *, generality: float = 2.0) -> float:
    """The margin a calibration ships with: `generality` for unseen photos, times how much the open-set
    protocol on the calibration set itself exceeded the target (the independence formula's own error)."""
    return float(generality * max(1.0, observed_far / target_far))


# --- Normalised scores (AS-norm, recognition.scoring) -----------------------------------------


@dataclass(frozen=True)
class NormalisedCalibration:
    """How the presets decide on AS-normalised scores, for one embedder.

    `search_tail` is the distribution of a stranger's *best* normalised score in one search (not of one
    pair): AS-norm's top-K statistics grow with the gallery, which keeps that distribution level as the
    gallery grows (measured in docs/accuracy.md), so a preset's normalised threshold does not depend on N.
    Normalisation is used only where the cohort holds at least `min_people` people (the statistics of a
    top-`k` need a cohort several times larger than `k`); below that, the raw calibration decides.
    """

    k: int
    min_people: int
    search_tail: ImpostorTail  # its margin is the calibration's allowance for photos unlike its own

    def threshold(self, target_far: float) -> float:
        """The normalised score above which at most target / margin of stranger searches name somebody."""
        return float(self.search_tail.score_at(target_far / max(self.search_tail.margin, 1.0)))

    def predicted_far(self, threshold: float) -> float:
        return per_search_far(self.search_tail, threshold, 1)

    def as_dict(self) -> dict:
        return {"k": self.k, "min_people": self.min_people, "search_tail": self.search_tail.as_dict()}

    @classmethod
    def from_dict(cls, data: dict) -> "NormalisedCalibration":
        return cls(int(data["k"]), int(data["min_people"]), ImpostorTail.from_dict(data["search_tail"]))

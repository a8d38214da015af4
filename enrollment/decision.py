"""The one decision "who is this?": a preset, calibrated to the gallery's size, turned into a threshold.

Presets mean a share of searches by somebody who is NOT enrolled that may return a name:
`strict` 0.1%, `balanced` 1% (the default), `permissive` 5%. Every enrolled face is one more chance of
a false match, so the threshold rises with the number of faces searched (recognition.calibration has
the model). The calibration of the active embedder is, in order: the one `manage.py evaluate
--calibrate` stored for exactly this model, or the one shipped in the model manifest (fitted on
lfw-dev at build time), or, where neither exists, the embedder's fixed fallback threshold (and the
answer says it is uncalibrated). A raw `threshold` from the caller overrides all of this for experts.

Where the model's calibration includes one and the cohort is large enough, the decision is taken on the
AS-normalised score (recognition.scoring, enrollment.cohort) against the preset's normalised threshold,
and the cosine must still reach the threshold the cosine calibration gives for ten times the preset's rate
(at most `CLOSE_FAR`): a veto, so that whatever the normalisation says, a face that many strangers' searches
would reach at this gallery's size is never named. Otherwise the decision is taken on the cosine
similarity against the preset's threshold at the gallery's size.

Each answer carries its `Policy` (preset, threshold, gallery size, calibration) and a `Decision`:
`named`, `close` (below the threshold but a resemblance worth a look: where a search would be wrong
about one time in five), `unknown`, or `low_quality` (a poor face is never named at `strict`).
"""
from __future__ import annotations

import threading
import time
from dataclasses import asdict, dataclass

from django.conf import settings

from faceapp import broadcast
from recognition import calibration, embedders, quality
from recognition.manifest import read_manifest

PRESETS = {"strict": 0.001, "balanced": 0.01, "permissive": 0.05}
CLOSE_FAR = 0.2  # "close": a search at this threshold would name a stranger one time in five
VETO_FACTOR = 10  # with AS-norm, a name also needs the cosine threshold of VETO_FACTOR × the preset's rate
RAW_CLOSE_BAND = 0.1  # with a raw threshold (uncalibrated), "close" is this far below it
CACHE_SECONDS = 10.0

NAMED, CLOSE, UNKNOWN, LOW_QUALITY = "named", "close", "unknown", "low_quality"
# A clear match: this far above the threshold (0.2 of cosine; 3 units of AS-norm, i.e. about 0.2 of cosine too).
CLEARANCE_SCALE = {"cosine": 0.2, "asnorm": 3.0}


class UnknownPreset(ValueError):
    pass


@dataclass(frozen=True)
class Normalisation:
    """How a policy decides on AS-normalised scores: the cohort's K and the preset's normalised thresholds."""

    k: int
    threshold: float
    close_threshold: float
    predicted_far: float
    cohort_people: int
    veto: float  # the cosine a named face must still reach

    def as_dict(self) -> dict:
        return {"k": self.k, "threshold": round(self.threshold, 3), "close_threshold": round(self.close_threshold, 3),
                "predicted_far": float(f"{self.predicted_far:.3g}"), "cohort_people": self.cohort_people,
                "cosine_veto": round(self.veto, 4)}


@dataclass(frozen=True)
class Policy:
    """How one search decides, and why: what responses show as `decision_policy`."""

    preset: str | None  # None when the caller gave a raw threshold
    threshold: float
    gallery_size: int  # the faces searched: each one more chance of a false match
    calibrated: bool
    calibration: str  # where the calibration came from
    target_far: float | None  # the preset's share of stranger searches that may return a name
    predicted_far: float | None  # what the calibration predicts at this threshold and gallery size
    close_threshold: float
    normalisation: Normalisation | None = None  # decide on AS-normalised scores (when a search can be normalised)

    @property
    def score_kind(self) -> str:
        return "asnorm" if self.normalisation is not None else "cosine"

    def as_dict(self) -> dict:
        data = asdict(self)
        data["threshold"] = round(self.threshold, 4)
        data["close_threshold"] = round(self.close_threshold, 4)
        if self.predicted_far is not None:
            data["predicted_far"] = float(f"{self.predicted_far:.3g}")
        data["score"] = self.score_kind
        data["normalisation"] = self.normalisation.as_dict() if self.normalisation else None
        return data


@dataclass(frozen=True)
class Decision:
    verdict: str  # named, close, unknown, low_quality
    similarity: float | None  # the cosine similarity (person template) of the best candidate
    reason: str
    score: float | None = None  # what was compared with the threshold: the similarity, or its normalised score
    score_kind: str = "cosine"  # "cosine" or "asnorm"
    threshold: float | None = None  # the threshold `score` was compared with

    @property
    def named(self) -> bool:
        return self.verdict == NAMED

    @property
    def clearance(self) -> float:
        """How far the score clears the threshold, 0 (at or below it) to 1 (clearly), comparable across score kinds."""
        if self.score is None or self.threshold is None:
            return 0.0
        scale = CLEARANCE_SCALE[self.score_kind]
        return min(max((self.score - self.threshold) / scale, 0.0), 1.0)

    def as_dict(self) -> dict:
        return {"verdict": self.verdict, "similarity": None if self.similarity is None else round(self.similarity, 4),
                "score": None if self.score is None else round(self.score, 4), "score_kind": self.score_kind,
                "threshold": None if self.threshold is None else round(self.threshold, 4), "reason": self.reason}


# --- Calibrations ------------------------------------------------------------------------------

_cache: dict = {}
_lock = threading.Lock()


def _cached(key, compute):
    broadcast.listen("gallery", forget_cached)  # enrolments on other nodes clear this cache at once (with Redis)
    now = time.monotonic()
    with _lock:
        hit = _cache.get(key)
        if hit is not None and now - hit[0] < CACHE_SECONDS:
            return hit[1]
    value = compute()
    with _lock:
        _cache[key] = (now, value)
    return value


def forget_cached() -> None:
    """Drop cached calibrations and gallery sizes (a face enrolled or deleted, a new calibration)."""
    with _lock:
        _cache.clear()


def calibration_for(embedding_model: str) -> tuple[calibration.ImpostorTail | None, str]:
    """The calibration for vectors of `embedding_model` ('name:sha'), and where it came from."""
    return _cached(("calibration", embedding_model), lambda: _load_calibration(embedding_model))


def _load_calibration(embedding_model: str):
    from .models import Calibration

    stored = Calibration.objects.filter(embedding_model=embedding_model).order_by("-created_at").first()
    if stored is not None:
        parameters = {key: value for key, value in stored.parameters.items() if key != "normalisation"}
        return calibration.ImpostorTail.from_dict(parameters), f"operator calibration of {stored.created_at:%Y-%m-%d} ({stored.source})"
    entry = _manifest_entry(embedding_model)
    shipped = entry.get("calibration")
    if shipped:
        tail = calibration.ImpostorTail.from_dict(shipped)
        return tail, f"shipped with the model ({tail.source})"
    return None, "none: the embedder's fixed threshold"


def normalisation_for(embedding_model: str) -> calibration.NormalisedCalibration | None:
    """The normalised-score calibration for vectors of `embedding_model`, or None (decide on cosine)."""
    return _cached(("normalisation", embedding_model), lambda: _load_normalisation(embedding_model))


def _load_normalisation(embedding_model: str):
    from .models import Calibration

    stored = Calibration.objects.filter(embedding_model=embedding_model).order_by("-created_at").first()
    if stored is not None:  # an operator's calibration replaces the shipped one, normalisation included
        data = stored.parameters.get("normalisation")
        return calibration.NormalisedCalibration.from_dict(data) if data else None
    entry = _manifest_entry(embedding_model)
    data = entry.get("normalisation")
    return calibration.NormalisedCalibration.from_dict(data) if data else None


def _manifest_entry(embedding_model: str) -> dict:
    name, _, sha = embedding_model.partition(":")
    entry = (read_manifest(settings.FACEAPP_MODEL_DIR) or {}).get("models", {}).get(name, {})
    return entry if entry.get("sha256", "").startswith(sha) else {}


def fallback_threshold() -> float:
    return settings.DEFAULT_MATCH_THRESHOLDS.get(settings.FACEAPP_EMBEDDER, 0.5)


# --- Policies ----------------------------------------------------------------------------------


def policy(*, embedding_model: str | None = None, gallery_size: int, preset: str | None = None,
           threshold: float | None = None, cohort_people: int | None = None, normalise: bool = True) -> Policy:
    """The policy for one search of `gallery_size` faces: a raw `threshold` (expert override), else `preset`.

    With the model's normalised calibration and at least its `min_people` in the cohort (`cohort_people`:
    the people enrolled with this model, whatever the search is restricted to; counted when not given), the
    policy decides on AS-norm scores; `normalise=False` keeps it on cosine (1:1 verification).
    """
    embedding_model = embedding_model or embedders.model_id()
    if threshold is None and preset is None and settings.FACEAPP_MATCH_THRESHOLD is not None:
        threshold = settings.FACEAPP_MATCH_THRESHOLD  # an installation-wide raw threshold
    tail, source = calibration_for(embedding_model)
    if threshold is not None:
        predicted = calibration.per_search_far(tail, threshold, gallery_size) if tail else None
        return Policy(None, float(threshold), gallery_size, False, "raw threshold given", None, predicted,
                      float(threshold) - RAW_CLOSE_BAND)
    preset = preset or settings.FACEAPP_MATCH_PRESET
    if preset not in PRESETS:
        raise UnknownPreset(f"preset must be one of {', '.join(PRESETS)}")
    target = PRESETS[preset]
    if tail is None:
        fixed = fallback_threshold()
        return Policy(preset, fixed, gallery_size, False, source, target, None, fixed - RAW_CLOSE_BAND)
    chosen = calibration.threshold_for(tail, target, gallery_size)
    close = min(calibration.threshold_for(tail, CLOSE_FAR, gallery_size), chosen)
    normalised = normalisation_for(embedding_model) if normalise else None
    normalisation = None
    if normalised is not None and cohort_people is None:
        from .cohort import people_count  # (cohort imports this module)

        cohort_people = people_count(embedding_model)
    if normalised is not None and cohort_people >= normalised.min_people:
        t = normalised.threshold(target)
        veto = calibration.threshold_for(tail, min(VETO_FACTOR * target, CLOSE_FAR), gallery_size)
        normalisation = Normalisation(normalised.k, t, min(normalised.threshold(CLOSE_FAR), t), normalised.predicted_far(t),
                                      cohort_people, veto)
    return Policy(preset, chosen, gallery_size, True, source, target,
                  calibration.per_search_far(tail, chosen, gallery_size), close, normalisation)


def decide(similarity: float | None, policy_: Policy, *, face_quality: dict | None = None,
           normalised_score: float | None = None) -> Decision:
    """Named, close, unknown or low quality: the verdict on a search's best candidate.

    With a normalising policy and the candidate's `normalised_score`, the verdict is taken on that score
    (and a named face's cosine must still reach the policy's close threshold); otherwise on the cosine.
    """
    if similarity is None:
        return Decision(UNKNOWN, None, "nobody is enrolled to compare with")
    norm = policy_.normalisation
    if norm is not None and normalised_score is not None:
        score, kind, threshold, close = normalised_score, "asnorm", norm.threshold, norm.close_threshold
        vetoed = similarity < norm.veto
        words = f"normalised score {score:.2f} (similarity {similarity:.3f})"
    else:
        score, kind, threshold, close = similarity, "cosine", policy_.threshold, policy_.close_threshold
        vetoed = False
        words = f"similarity {similarity:.3f}"

    def verdict(name, reason):
        return Decision(name, similarity, reason, score, kind, threshold)

    if score >= threshold and not vetoed:
        problems = quality.problems(face_quality) if face_quality is not None else []  # None: not judged on quality
        if policy_.preset == "strict" and problems:
            return verdict(LOW_QUALITY, f"the face is too poor to name at strict ({', '.join(problems)})")
        return verdict(NAMED, f"{words} reaches the threshold {threshold:.3f}")
    if score >= threshold:
        return verdict(CLOSE, f"{words} reaches the threshold {threshold:.3f}, but the similarity is below "
                              f"{norm.veto:.3f}, too low to name anybody at this gallery's size")
    if score >= close:
        return verdict(CLOSE, f"{words} is close to, but below, the threshold {threshold:.3f}")
    return verdict(UNKNOWN, f"{words} is far below the threshold {threshold:.3f}")


def duplicate_policy(*, embedding_model: str, gallery_size: int, cohort_people: int | None = None) -> Policy:
    """The duplicate-face check at enrolment: an open-set decision of its own, always at `strict`.

    Refusing a new person because their face resembles someone else's is a false accept too: with
    `strict`, at most 0.1% of enrolments of new people are refused, whatever the gallery size.
    """
    return policy(embedding_model=embedding_model, gallery_size=gallery_size, preset=settings.FACEAPP_DUPLICATE_PRESET,
                  cohort_people=cohort_people)

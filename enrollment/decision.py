"""The one decision "who is this?": a preset, calibrated to the gallery's size, turned into a threshold.

Presets mean a share of searches by somebody who is NOT enrolled that may return a name:
`strict` 0.1%, `balanced` 1% (the default), `permissive` 5%. Every enrolled face is one more chance of
a false match, so the threshold rises with the number of faces searched (recognition.calibration has
the model). The calibration of the active embedder is, in order: the one `manage.py evaluate
--calibrate` stored for exactly this model, or the one shipped in the model manifest (fitted on
lfw-dev at build time), or, where neither exists, the embedder's fixed fallback threshold (and the
answer says it is uncalibrated). A raw `threshold` from the caller overrides all of this for experts.

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
RAW_CLOSE_BAND = 0.1  # with a raw threshold (uncalibrated), "close" is this far below it
CACHE_SECONDS = 10.0

NAMED, CLOSE, UNKNOWN, LOW_QUALITY = "named", "close", "unknown", "low_quality"


class UnknownPreset(ValueError):
    pass


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

    def as_dict(self) -> dict:
        data = asdict(self)
        data["threshold"] = round(self.threshold, 4)
        data["close_threshold"] = round(self.close_threshold, 4)
        if self.predicted_far is not None:
            data["predicted_far"] = float(f"{self.predicted_far:.3g}")
        return data


@dataclass(frozen=True)
class Decision:
    verdict: str  # named, close, unknown, low_quality
    similarity: float | None
    reason: str

    @property
    def named(self) -> bool:
        return self.verdict == NAMED

    def as_dict(self) -> dict:
        return {"verdict": self.verdict, "similarity": None if self.similarity is None else round(self.similarity, 4), "reason": self.reason}


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
        return calibration.ImpostorTail.from_dict(stored.parameters), f"operator calibration of {stored.created_at:%Y-%m-%d} ({stored.source})"
    name = embedding_model.split(":", 1)[0]
    entry = (read_manifest(settings.FACEAPP_MODEL_DIR) or {}).get("models", {}).get(name, {})
    shipped = entry.get("calibration")
    if shipped and entry.get("sha256", "").startswith(embedding_model.split(":", 1)[-1]):
        tail = calibration.ImpostorTail.from_dict(shipped)
        return tail, f"shipped with the model ({tail.source})"
    return None, "none: the embedder's fixed threshold"


def fallback_threshold() -> float:
    return settings.DEFAULT_MATCH_THRESHOLDS.get(settings.FACEAPP_EMBEDDER, 0.5)


# --- Policies ----------------------------------------------------------------------------------


def policy(*, embedding_model: str | None = None, gallery_size: int, preset: str | None = None,
           threshold: float | None = None) -> Policy:
    """The policy for one search of `gallery_size` faces: a raw `threshold` (expert override), else `preset`."""
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
    return Policy(preset, chosen, gallery_size, True, source, target,
                  calibration.per_search_far(tail, chosen, gallery_size), close)


def decide(similarity: float | None, policy_: Policy, *, face_quality: dict | None = None) -> Decision:
    """Named, close, unknown or low quality: the verdict on a search's best candidate."""
    if similarity is None:
        return Decision(UNKNOWN, None, "nobody is enrolled to compare with")
    if similarity >= policy_.threshold:
        problems = quality.problems(face_quality or {})
        if policy_.preset == "strict" and problems:
            return Decision(LOW_QUALITY, similarity, f"the face is too poor to name at strict ({', '.join(problems)})")
        return Decision(NAMED, similarity, f"similarity {similarity:.3f} reaches the threshold {policy_.threshold:.3f}")
    if similarity >= policy_.close_threshold:
        return Decision(CLOSE, similarity, f"similarity {similarity:.3f} is close to, but below, the threshold {policy_.threshold:.3f}")
    return Decision(UNKNOWN, similarity, f"similarity {similarity:.3f} is far below the threshold {policy_.threshold:.3f}")


def duplicate_policy(*, embedding_model: str, gallery_size: int) -> Policy:
    """The duplicate-face check at enrolment: an open-set decision of its own, always at `strict`.

    Refusing a new person because their face resembles someone else's is a false accept too: with
    `strict`, at most 0.1% of enrolments of new people are refused, whatever the gallery size.
    """
    return policy(embedding_model=embedding_model, gallery_size=gallery_size, preset=settings.FACEAPP_DUPLICATE_PRESET)

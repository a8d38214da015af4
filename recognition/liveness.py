"""Passive single-image liveness: is this face a live person in front of the camera, or a reproduction?

Off by default (FACEAPP_LIVENESS_MODEL=none). Both models available (docs/models.md) are small CNNs without
a licence clear for commercial use, so they also need FACEAPP_ACCEPT_NONCOMMERCIAL_MODELS=1. A face is
called live when the model's score reaches FACEAPP_LIVENESS_THRESHOLD. READ docs/attributes.md (liveness) before relying
on it: what the models were and were not validated against here, and why a passive single-image check is
no security guarantee without an evaluation on the site's own cameras and attacks.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from django.conf import settings

from . import attribute_models, attributes, runtime
from .exceptions import LivenessUnavailable
from .types import Detection


@dataclass(frozen=True)
class LivenessResult:
    score: float  # the model's probability that the face is live (real), 0–1
    threshold: float
    live: bool
    model: str

    def as_dict(self) -> dict:
        return {"score": round(self.score, 4), "threshold": self.threshold, "live": self.live, "model": self.model}


def model():
    """The usable liveness model; LivenessUnavailable says why there is none."""
    chosen = attributes.model_for("liveness")
    if chosen is None:
        name = settings.FACEAPP_LIVENESS_MODEL
        why = ("FACEAPP_LIVENESS_MODEL is 'none'" if name == attributes.NONE
               else f"{name} needs FACEAPP_ACCEPT_NONCOMMERCIAL_MODELS=1")
        raise LivenessUnavailable(f"Liveness checks are not enabled on this server ({why}; see docs/attributes.md (liveness)).")
    return chosen


def check_regions(regions: list[np.ndarray], *, threshold: float | None = None) -> list[LivenessResult]:
    """Face regions (attributes.face_region) → one LivenessResult each."""
    chosen = model()
    threshold = settings.FACEAPP_LIVENESS_THRESHOLD if threshold is None else threshold
    decoded = attribute_models.run(chosen, regions, runtime.get_session(chosen.onnx))
    return [LivenessResult(r["liveness"], threshold, r["liveness"] >= threshold, chosen.name) for r in decoded]


def check(image: np.ndarray, detection: Detection, *, threshold: float | None = None) -> LivenessResult:
    """One detected face of an RGB image → its LivenessResult."""
    return check_regions([attributes.face_region(image, detection)], threshold=threshold)[0]


def check_crop(crop: np.ndarray) -> LivenessResult:
    """A stored 160×160 FaceNet crop (recognition.align; e.g. a pending enrolment's) → its LivenessResult."""
    from .align import CROP_SIZE, DEFAULT_MARGIN

    region = attribute_models.region_from_crop(crop, (CROP_SIZE - DEFAULT_MARGIN) / CROP_SIZE)
    return check_regions([region])[0]

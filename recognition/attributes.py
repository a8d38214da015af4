"""Face attributes (gender, age, emotion): a plain function of a face region, whoever calls it.

    region = attributes.face_region(image, detection)      # the canonical crop (attribute_models.py)
    found = attributes.estimate([region], ["gender", "age"])[0]
    found.as_dict()   # {"gender": "female", "gender_score": 0.93, "age": 31.4, "models": {...}}

The model behind each attribute is a setting (FACEAPP_GENDER_MODEL, FACEAPP_AGE_MODEL, FACEAPP_EMOTION_MODEL;
"none" turns one off). A model without a licence clear for commercial use is refused unless the operator
opted in with FACEAPP_ACCEPT_NONCOMMERCIAL_MODELS=1 (system check recognition.E003, warm-up refusal), as
for the ArcFace embedder. A model that provides two attributes (e.g. age and gender) runs once per face.
Estimates are statistics about appearance, not facts about a person: docs/attributes.md says how accurate
each model was measured to be, and on whom.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

import numpy as np
from django.conf import settings

from . import attribute_models, runtime
from .attribute_models import MODELS, AttributeModel, face_region
from .exceptions import AttributeUnavailable
from .types import Detection

logger = logging.getLogger(__name__)

KINDS = ("gender", "age", "emotion")
GENDERS = ("female", "male")
EMOTIONS = attribute_models.EMOTIONS
NONE = "none"

__all__ = ["KINDS", "FaceAttributes", "estimate", "estimate_crops", "estimate_faces", "face_region", "parse_kinds", "available_kinds"]

_announced: set[str] = set()
_lock = threading.Lock()


@dataclass(frozen=True)
class FaceAttributes:
    gender: str | None = None
    gender_score: float | None = None  # the model's confidence in `gender`, 0.5–1
    age: float | None = None  # years
    emotion: str | None = None
    emotion_score: float | None = None
    emotions: dict | None = None  # every emotion's probability
    models: dict = field(default_factory=dict)  # attribute → model name

    def as_dict(self) -> dict:
        """The API's shape: only the attributes that were asked for (and computed), rounded."""
        out = {}
        if self.gender is not None:
            out["gender"] = self.gender
            out["gender_score"] = round(self.gender_score, 4)
        if self.age is not None:
            out["age"] = round(self.age, 1)
        if self.emotion is not None:
            out["emotion"] = self.emotion
            out["emotion_score"] = round(self.emotion_score, 4)
            out["emotions"] = self.emotions
        if out:
            out["models"] = dict(self.models)
        return out


def setting_for(kind: str) -> str:
    return {"gender": settings.FACEAPP_GENDER_MODEL, "age": settings.FACEAPP_AGE_MODEL,
            "emotion": settings.FACEAPP_EMOTION_MODEL, "liveness": settings.FACEAPP_LIVENESS_MODEL}[kind]


def configuration_problems(accepted: bool | None = None) -> list[str]:
    """Why a configured attribute or liveness model may not be used (empty when every one may)."""
    accepted = settings.FACEAPP_ACCEPT_NONCOMMERCIAL_MODELS if accepted is None else accepted
    problems = []
    for kind in (*KINDS, "liveness"):
        name = setting_for(kind)
        if name == NONE:
            continue
        variable = f"FACEAPP_{kind.upper()}_MODEL"
        model = MODELS.get(name)
        if model is None or kind not in model.provides:
            choices = sorted(m.name for m in MODELS.values() if kind in m.provides)
            problems.append(f"{variable}={name!r} is not one of {', '.join([NONE, *choices])}.")
        elif model.non_commercial and not accepted:
            problems.append(
                f"{variable}={name!r} needs the explicit opt-in FACEAPP_ACCEPT_NONCOMMERCIAL_MODELS=1: the model has "
                f"{model.licence}. Do not use it in a commercial product or service."
            )
    return problems


def model_for(kind: str) -> AttributeModel | None:
    """The usable model configured for `kind`, or None when the attribute is off or not allowed."""
    name = setting_for(kind)
    model = MODELS.get(name)
    if name == NONE or model is None or kind not in model.provides:
        return None
    if model.non_commercial:
        if not settings.FACEAPP_ACCEPT_NONCOMMERCIAL_MODELS:
            return None
        if model.name not in _announced:
            with _lock:
                if model.name not in _announced:
                    _announced.add(model.name)
                    logger.warning("%s model %s enabled by opt-in: %s", kind, model.name, model.licence)
    return model


def available_kinds() -> tuple[str, ...]:
    return tuple(kind for kind in KINDS if model_for(kind) is not None)


def parse_kinds(value) -> tuple[str, ...]:
    """'gender,age' / ['gender', 'age'] / 'all' / '' → validated kinds in KINDS order; ValueError names a bad one."""
    if value in (None, "", [], ()):
        return ()
    items = value.split(",") if isinstance(value, str) else [p for v in value for p in str(v).split(",")]
    items = [item.strip().lower() for item in items if item.strip()]
    if items in (["all"], ["true"], ["1"]):
        return available_kinds()
    unknown = sorted(set(items) - set(KINDS))
    if unknown:
        raise ValueError(f"unknown attribute(s) {', '.join(unknown)}: choose from {', '.join(KINDS)} (or all)")
    return tuple(kind for kind in KINDS if kind in items)


def require(kinds) -> dict[str, AttributeModel]:
    """The model of each requested attribute; AttributeUnavailable names one that has none."""
    chosen = {}
    for kind in kinds:
        model = model_for(kind)
        if model is None:
            name = setting_for(kind)
            why = (f"FACEAPP_{kind.upper()}_MODEL is 'none'" if name == NONE
                   else f"{name} needs FACEAPP_ACCEPT_NONCOMMERCIAL_MODELS=1")
            raise AttributeUnavailable(f"No {kind} model is enabled on this server ({why}; see docs/attributes.md).")
        chosen[kind] = model
    return chosen


def estimate(regions: list[np.ndarray], kinds, *, strict: bool = True) -> list[FaceAttributes]:
    """Face regions (``face_region``) → one FaceAttributes per region, for the requested kinds.

    strict: an attribute without a usable model raises AttributeUnavailable; otherwise it is left out.
    """
    kinds = tuple(kinds)
    if strict:
        chosen = require(kinds)
    else:
        chosen = {kind: model for kind in kinds if (model := model_for(kind)) is not None}
    values = [dict() for _ in regions]
    used = [dict() for _ in regions]
    for model in {m.name: m for m in chosen.values()}.values():
        wanted = [kind for kind, m in chosen.items() if m.name == model.name]
        decoded = attribute_models.run(model, regions, runtime.get_session(model.onnx))
        for i, result in enumerate(decoded):
            for kind in wanted:
                keys = {"gender": ("gender", "gender_score"), "age": ("age",),
                        "emotion": ("emotion", "emotion_score", "emotions")}[kind]
                values[i].update({key: result[key] for key in keys})
                used[i][kind] = model.name
    return [FaceAttributes(**v, models=u) for v, u in zip(values, used)]


def estimate_crops(crops: list[np.ndarray], kinds=KINDS) -> list[FaceAttributes]:
    """Stored 160×160 face crops (recognition.align: an enrolled face's, a sighting's) → their attributes, for the
    requested kinds that have a usable model (the others are left out: a crop is estimated where it can be)."""
    from .align import CROP_SIZE, DEFAULT_MARGIN

    if not crops or not kinds:
        return [FaceAttributes() for _ in crops]
    box_fraction = (CROP_SIZE - DEFAULT_MARGIN) / CROP_SIZE
    return estimate([attribute_models.region_from_crop(c, box_fraction) for c in crops], kinds, strict=False)


def estimate_faces(image: np.ndarray, detections: list[Detection], kinds, *, strict: bool = True) -> list[FaceAttributes]:
    """The attributes of the detected faces of an RGB image."""
    if not detections or not kinds:
        return [FaceAttributes() for _ in detections]
    return estimate([face_region(image, d) for d in detections], kinds, strict=strict)

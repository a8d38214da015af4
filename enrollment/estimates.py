"""Estimated attributes (gender, age, emotion) kept with enrolled faces and sightings, so that the people page, the
sightings and the search of the past can filter by them as the events do.

Estimated once, when the row is made, from its stored 160×160 crop (recognition.attributes.estimate_crops), with the
models the server has (FACEAPP_GENDER_MODEL, ...): a kind without a model is left empty, and an empty estimate fails
every filter on it. `manage.py estimate_attributes` fills the rows made before (or under other models).
Estimates describe how a face looked in one photo, not who a person is: docs/attributes.md.
"""
from __future__ import annotations

import io
import logging

import numpy as np
from django.conf import settings
from django.db import models
from PIL import Image

from recognition import attributes
from recognition.attributes import EMOTIONS, GENDERS, FaceAttributes

logger = logging.getLogger(__name__)

GENDER_CHOICES = [(g, g) for g in GENDERS]
EMOTION_CHOICES = [(e, e) for e in EMOTIONS]


class EstimatedAttributes(models.Model):
    """The indexed estimates of one face (abstract: Face and Sighting carry them)."""

    gender = models.CharField(max_length=8, null=True, blank=True, choices=GENDER_CHOICES, db_index=True)
    gender_score = models.FloatField(null=True, blank=True)
    age = models.FloatField(null=True, blank=True, db_index=True)
    emotion = models.CharField(max_length=16, null=True, blank=True, choices=EMOTION_CHOICES)

    class Meta:
        abstract = True

    @property
    def estimates(self) -> dict | None:
        """What the pages show as badges; None when nothing was estimated."""
        values = {"gender": self.gender, "age": self.age, "emotion": self.emotion}
        return values if any(v is not None for v in values.values()) else None

    def set_estimates(self, found: FaceAttributes) -> None:
        self.gender = found.gender
        self.gender_score = None if found.gender_score is None else round(float(found.gender_score), 4)
        self.age = None if found.age is None else round(float(found.age), 1)
        self.emotion = found.emotion


def kinds(setting: str) -> tuple[str, ...]:
    """The attribute kinds a setting (FACEAPP_FACE_ATTRIBUTES, FACEAPP_SIGHTING_ATTRIBUTES) asks for."""
    return attributes.parse_kinds(getattr(settings, setting))


def of_jpegs(crops: list[bytes], wanted) -> list[FaceAttributes]:
    """Stored crops (JPEG) → their estimates for the wanted kinds that have a model (empty ones otherwise). A crop
    that cannot be decoded gets an empty estimate: an estimate is an extra, never a reason to lose the face or
    sighting it describes."""
    wanted = tuple(wanted)
    found = [FaceAttributes() for _ in crops]
    if not crops or not wanted or not any(attributes.model_for(kind) for kind in wanted):
        return found
    decoded = {i: rgb for i, rgb in enumerate(map(_rgb, crops)) if rgb is not None}
    if decoded:
        for i, estimate in zip(decoded, attributes.estimate_crops(list(decoded.values()), wanted)):
            found[i] = estimate
    return found


def _rgb(jpeg: bytes) -> np.ndarray | None:
    try:
        with Image.open(io.BytesIO(jpeg)) as image:
            return np.asarray(image.convert("RGB"))
    except (OSError, ValueError, Image.DecompressionBombError) as exc:  # UnidentifiedImageError is an OSError
        logger.warning("a stored crop could not be decoded for its estimates (%s): left without", exc)
        return None


def filtered(queryset, *, gender=None, age_min=None, age_max=None, emotion=None):
    """Rows whose estimates meet every given filter (None: no filter); a row without the estimate fails it."""
    if gender is not None:
        queryset = queryset.filter(gender=gender)
    if age_min is not None:
        queryset = queryset.filter(age__gte=age_min)
    if age_max is not None:
        queryset = queryset.filter(age__lte=age_max)
    if emotion is not None:
        queryset = queryset.filter(emotion=emotion)
    return queryset


def fill(queryset, wanted, *, everything: bool = False, batch: int = 64) -> int:
    """Estimate the rows of `queryset` (faces or sightings) from their stored crops: those without any estimate, or
    `everything` (after a change of model). Returns how many rows were estimated; a crop that cannot be read is
    skipped (its row keeps no estimate)."""
    wanted = tuple(wanted)
    if not everything:
        queryset = queryset.filter(gender__isnull=True, age__isnull=True, emotion__isnull=True)
    done = 0
    rows = list(queryset.only("id", "crop").order_by("pk"))
    for start in range(0, len(rows), batch):
        readable, crops = [], []
        for row in rows[start:start + batch]:
            try:
                with row.crop.open("rb") as f:
                    crops.append(f.read())
                readable.append(row)
            except (OSError, ValueError):
                continue
        for row, found in zip(readable, of_jpegs(crops, wanted)):
            row.set_estimates(found)
            row.save(update_fields=["gender", "gender_score", "age", "emotion"])
            done += 1
    return done

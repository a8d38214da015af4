"""Small image conversions shared by the enrolment path, sightings and camera events: a detected face's box as
stored, JPEG encode/decode of crops, thumbnails, and a photo's file suffix."""
from __future__ import annotations

import contextlib
import io

import numpy as np
from PIL import Image

from recognition.types import Face as DetectedFace

THUMBNAIL_SIZE = 96


def box_dict(face: DetectedFace) -> dict:
    x1, y1, x2, y2 = face.detection.box
    return {"x": int(round(x1)), "y": int(round(y1)), "width": int(round(x2 - x1)), "height": int(round(y2 - y1))}


def encode_jpeg(rgb: np.ndarray, quality: int = 95) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def decode_jpeg(data: bytes) -> np.ndarray:
    """A stored JPEG (a crop) → HxWx3 uint8 RGB."""
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert("RGB"))


def make_thumbnail(crop_jpeg: bytes) -> bytes:
    with Image.open(io.BytesIO(crop_jpeg)) as image:
        thumb = image.convert("RGB").resize((THUMBNAIL_SIZE, THUMBNAIL_SIZE), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    thumb.save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


def image_suffix(data: bytes) -> str:
    with contextlib.suppress(Exception), Image.open(io.BytesIO(data)) as image:
        return {"JPEG": ".jpg", "MPO": ".jpg", "PNG": ".png", "WEBP": ".webp", "BMP": ".bmp"}.get(image.format, "")
    return ""

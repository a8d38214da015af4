"""Showing an uploaded photo back without storing it: a downscaled JPEG in a data: URL, and face boxes
as percentages of the photo so that CSS scales them with the image."""
from __future__ import annotations

import base64
import io

from PIL import Image

from recognition import pipeline

PREVIEW_MAX_SIDE = 960


def data_url(image: bytes, *, max_side: int = PREVIEW_MAX_SIDE) -> str:
    """The photo as the pipeline sees it (EXIF orientation applied), at most `max_side` pixels, as a data: URL."""
    rgb = pipeline.decode(image)
    picture = Image.fromarray(rgb)
    picture.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    picture.save(buffer, format="JPEG", quality=82)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def box_percent(box: dict, width: int, height: int) -> dict:
    """{x, y, width, height} in image pixels → {left, top, width, height} in percent of the image, for CSS."""
    return {
        "left": round(100.0 * box["x"] / width, 3),
        "top": round(100.0 * box["y"] / height, 3),
        "width": round(100.0 * box["width"] / width, 3),
        "height": round(100.0 * box["height"] / height, 3),
    }

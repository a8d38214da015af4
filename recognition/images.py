"""Decode uploaded bytes into an RGB pixel array, safely.

Limits are checked before pixels are decoded: the byte size first, then the pixel count from the
header, so a 100 MB upload or a decompression bomb is refused without being expanded in memory.
EXIF orientation is applied, so a phone photo taken sideways is upright before detection.
"""
from __future__ import annotations

import io
import warnings

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .exceptions import EmptyImage, ImageTooLarge, InvalidImage

SUPPORTED_FORMATS = {"JPEG", "MPO", "PNG", "WEBP", "BMP"}


def decode(data: bytes, *, max_bytes: int, max_pixels: int) -> np.ndarray:
    """`data` → HxWx3 uint8 RGB array, or one of the image exceptions with a clear message."""
    if not data:
        raise EmptyImage()
    if len(data) > max_bytes:
        raise ImageTooLarge(f"The image is {len(data):,} bytes; the limit is {max_bytes:,}.")
    try:
        with warnings.catch_warnings():
            # Our own pixel limit applies below; silence Pillow's generic bomb warning.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            if image.format not in SUPPORTED_FORMATS:
                raise InvalidImage(f"{image.format} images are not supported; send JPEG, PNG, WebP or BMP.")
            width, height = image.size
            if width < 1 or height < 1:
                raise InvalidImage("The image has no pixels.")
            if width * height > max_pixels:
                raise ImageTooLarge(f"The image is {width}x{height} pixels; the limit is {max_pixels:,} pixels.")
            image.load()
            image = ImageOps.exif_transpose(image)
            rgb = _to_rgb(image)
    except (InvalidImage, ImageTooLarge):
        raise
    except Image.DecompressionBombError as exc:
        raise ImageTooLarge("The image has too many pixels.") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        raise InvalidImage("The file is not a readable image (corrupt, truncated or not an image).") from exc
    return np.asarray(rgb, dtype=np.uint8)


def _to_rgb(image: Image.Image) -> Image.Image:
    if image.mode == "RGB":
        return image
    if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
        # Transparent areas become white, not black, as a viewer would show them.
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    if image.mode.startswith("I;16") or image.mode == "I":
        array = np.asarray(image, dtype=np.float64)
        scale = 255.0 / max(array.max(), 1.0)
        return Image.fromarray((array * scale).astype(np.uint8)).convert("RGB")
    return image.convert("RGB")

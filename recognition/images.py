"""Decode uploaded bytes into an RGB pixel array, safely.

Limits are checked before pixels are decoded, from the bytes and the header alone: the byte size first, then the
format (only the allow-listed decoders are even tried: no EPS/Ghostscript, PSD, TIFF...), then width, height, their
product and the aspect ratio, so a 100 MB upload, a decompression bomb or a 1 × 39,000,000 strip is refused without
being expanded. Decoding itself is metered per process (`PixelBudget`): a large image waits for room instead of
decoding beside others until memory runs out, while ordinary photos pass. EXIF orientation is applied, so a phone
photo taken sideways is upright before detection. An animated image gives its first frame.
"""
from __future__ import annotations

import contextlib
import io
import threading
import warnings

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .exceptions import EmptyImage, ImageTooLarge, InvalidImage

# Pillow plugins tried when opening (MPO, the JPEG of some cameras, opens through the JPEG plugin).
OPEN_FORMATS = ("JPEG", "PNG", "WEBP", "BMP")
SUPPORTED_FORMATS = {"JPEG", "MPO", "PNG", "WEBP", "BMP"}
MAX_SIDE = 20_000  # pixels, either way
MAX_ASPECT = 20.0  # the longer side over the shorter: a panorama is ~8, a 1 × 39,000,000 strip is an attack


class PixelBudget:
    """At most `pixels` pixels being decoded at once in this process; a decode above the whole budget still runs,
    alone. Waiters queue on a condition: memory stays bounded, small photos are not held up by one big one while
    there is room."""

    def __init__(self, pixels: int):
        self.pixels = max(1, pixels)
        self.in_use = 0
        self._condition = threading.Condition()

    @contextlib.contextmanager
    def hold(self, pixels: int):
        pixels = min(pixels, self.pixels)
        with self._condition:
            self._condition.wait_for(lambda: self.in_use + pixels <= self.pixels)
            self.in_use += pixels
        try:
            yield
        finally:
            with self._condition:
                self.in_use -= pixels
                self._condition.notify_all()


def check_header(width: int, height: int, *, max_pixels: int, max_side: int = MAX_SIDE, max_aspect: float = MAX_ASPECT) -> None:
    """Refuse dimensions read from the header, before any pixel is decoded."""
    if width < 1 or height < 1:
        raise InvalidImage("The image has no pixels.")
    if width * height > max_pixels:
        raise ImageTooLarge(f"The image is {width}x{height} pixels; the limit is {max_pixels:,} pixels.")
    if max(width, height) > max_side:
        raise ImageTooLarge(f"The image is {width}x{height} pixels; no side may exceed {max_side:,} pixels.")
    if max(width, height) / min(width, height) > max_aspect:
        raise ImageTooLarge(f"The image is {width}x{height} pixels; its sides may differ at most {max_aspect:g} times.")


def open_checked(data: bytes, *, max_bytes: int, max_pixels: int, max_side: int = MAX_SIDE,
                 max_aspect: float = MAX_ASPECT) -> Image.Image:
    """`data` opened (its header read, no pixel decoded) and checked: size, format, dimensions."""
    if not data:
        raise EmptyImage()
    if len(data) > max_bytes:
        raise ImageTooLarge(f"The image is {len(data):,} bytes; the limit is {max_bytes:,}.")
    with _image_errors(data):
        image = Image.open(io.BytesIO(data), formats=OPEN_FORMATS)
        if image.format not in SUPPORTED_FORMATS:
            raise InvalidImage(f"{image.format} images are not supported; send JPEG, PNG, WebP or BMP.")
        width, height = image.size
        check_header(width, height, max_pixels=max_pixels, max_side=max_side, max_aspect=max_aspect)
    return image


def to_rgb_array(image: Image.Image, data: bytes = b"") -> np.ndarray:
    """Decode an `open_checked` image: EXIF orientation applied, HxWx3 uint8 RGB."""
    with _image_errors(data):
        image.load()
        image = ImageOps.exif_transpose(image)
        return np.asarray(_to_rgb(image), dtype=np.uint8)


def decode(data: bytes, *, max_bytes: int, max_pixels: int, budget: PixelBudget | None = None,
           max_side: int = MAX_SIDE, max_aspect: float = MAX_ASPECT) -> np.ndarray:
    """`data` → HxWx3 uint8 RGB array, or one of the image exceptions with a clear message."""
    image = open_checked(data, max_bytes=max_bytes, max_pixels=max_pixels, max_side=max_side, max_aspect=max_aspect)
    with budget.hold(image.width * image.height) if budget else contextlib.nullcontext():
        return to_rgb_array(image, data)


@contextlib.contextmanager
def _image_errors(data: bytes):
    """Pillow's failures as the API's image exceptions."""
    try:
        with warnings.catch_warnings():
            # Our own pixel limit applies; silence Pillow's generic bomb warning.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            yield
    except (InvalidImage, ImageTooLarge):
        raise
    except Image.DecompressionBombError as exc:
        raise ImageTooLarge("The image has too many pixels.") from exc
    except UnidentifiedImageError as exc:
        kind = _sniff(data)
        if kind:
            raise InvalidImage(f"{kind} images are not supported; send JPEG, PNG, WebP or BMP.") from exc
        raise InvalidImage("The file is not an image in a supported format (JPEG, PNG, WebP, BMP).") from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise InvalidImage("The file is not a readable image (corrupt, truncated or not an image).") from exc


# Formats recognised by their first bytes only to name them in the refusal: their decoders are never run.
_MAGIC = ((b"GIF87a", "GIF"), (b"GIF89a", "GIF"), (b"II*\x00", "TIFF"), (b"MM\x00*", "TIFF"), (b"%!PS", "EPS"),
          (b"\xc5\xd0\xd3\xc6", "EPS"), (b"8BPS", "PSD"), (b"\x00\x00\x01\x00", "ICO"))


def _sniff(data: bytes) -> str:
    for magic, kind in _MAGIC:
        if data.startswith(magic):
            return kind
    if data[4:12] in (b"ftypheic", b"ftypheix", b"ftypmif1", b"ftypavif"):
        return "HEIC/AVIF"
    return ""


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

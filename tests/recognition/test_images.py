import io

import numpy as np
import pytest
from PIL import Image

from recognition import images
from recognition.exceptions import EmptyImage, ImageTooLarge, InvalidImage
from tests.conftest import read_bytes

LIMITS = {"max_bytes": 15 * 1024 * 1024, "max_pixels": 40_000_000}


def encode(image: Image.Image, fmt: str, **kwargs) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **kwargs)
    return buffer.getvalue()


def sample_image() -> Image.Image:
    return Image.open(io.BytesIO(read_bytes("samples", "obama-240p.jpg"))).convert("RGB")


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "BMP"])
def test_decode_reads_supported_formats_as_rgb(fmt):
    source = sample_image()
    decoded = images.decode(encode(source, fmt), **LIMITS)
    assert decoded.shape == (source.height, source.width, 3)
    assert decoded.dtype == np.uint8


def test_decode_applies_exif_orientation():
    source = sample_image()
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to view
    decoded = images.decode(encode(source, "JPEG", exif=exif.tobytes()), **LIMITS)
    assert decoded.shape[:2] == (source.width, source.height)


def test_decode_refuses_empty_bytes():
    with pytest.raises(EmptyImage):
        images.decode(b"", **LIMITS)


def test_decode_refuses_bytes_that_are_not_an_image():
    with pytest.raises(InvalidImage):
        images.decode(b"%PDF-1.4 this is not an image" * 10, **LIMITS)


def test_decode_refuses_a_truncated_jpeg():
    data = read_bytes("samples", "obama.jpg")
    with pytest.raises(InvalidImage):
        images.decode(data[: len(data) // 3], **LIMITS)


def test_decode_refuses_unsupported_formats():
    with pytest.raises(InvalidImage, match="GIF"):
        images.decode(encode(sample_image(), "GIF"), **LIMITS)


def test_decode_refuses_an_upload_over_the_byte_limit():
    data = read_bytes("samples", "obama.jpg")
    with pytest.raises(ImageTooLarge):
        images.decode(data, max_bytes=len(data) - 1, max_pixels=LIMITS["max_pixels"])


def test_decode_refuses_a_decompression_bomb_before_expanding_it():
    # 20000×20000 of one colour: a few hundred KB of PNG, 1.2 GB once decoded.
    bomb = encode(Image.new("L", (20000, 20000)), "PNG")
    assert len(bomb) < 2_000_000
    with pytest.raises(ImageTooLarge, match="pixels"):
        images.decode(bomb, **LIMITS)


def test_decode_puts_transparent_areas_on_white():
    image = Image.new("RGBA", (8, 8), (0, 0, 0, 0))
    decoded = images.decode(encode(image, "PNG"), **LIMITS)
    assert decoded.shape == (8, 8, 3)
    assert (decoded == 255).all()


def test_decode_expands_greyscale_and_16_bit_images_to_three_channels():
    grey = images.decode(read_bytes("samples", "cameraman.jpg"), **LIMITS)
    assert grey.ndim == 3 and grey.shape[2] == 3
    sixteen = Image.fromarray((np.arange(64 * 64).reshape(64, 64) * 16).astype(np.uint16))
    decoded = images.decode(encode(sixteen, "PNG"), **LIMITS)
    assert decoded.shape == (64, 64, 3) and decoded.max() == 255


def test_decode_refuses_a_thin_strip_and_an_overlong_side_from_the_header():
    strip = (__import__("pathlib").Path(__file__).resolve().parents[1] / "fixtures" / "hostile" / "strip-39000000x1.png").read_bytes()
    with pytest.raises(ImageTooLarge, match="differ at most 20 times"):
        images.decode(strip, max_bytes=LIMITS["max_bytes"], max_pixels=40_000_000, max_side=10**9)
    with pytest.raises(ImageTooLarge, match="no side may exceed 20,000"):
        images.check_header(30_000, 1_500, max_pixels=10**9)
    images.check_header(8_000, 1_000, max_pixels=40_000_000)  # a panorama is fine


def test_decode_never_runs_a_decoder_outside_the_allow_list():
    eps = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 100 100\nshowpage\n"
    with pytest.raises(InvalidImage, match="EPS images are not supported"):
        images.decode(eps, **LIMITS)


def test_pixel_budget_queues_a_large_decode_while_small_ones_pass():
    import threading

    budget = images.PixelBudget(100)
    big_holding, big_release, order = threading.Event(), threading.Event(), []

    def big():
        with budget.hold(80):
            order.append("big")
            big_holding.set()
            big_release.wait(10)

    def second_big():
        with budget.hold(60):
            order.append("second big")

    first = threading.Thread(target=big)
    first.start()
    assert big_holding.wait(10)
    waiting = threading.Thread(target=second_big)
    waiting.start()
    waiting.join(0.2)
    assert waiting.is_alive() and budget.in_use == 80  # 80 + 60 > 100: it waits
    with budget.hold(15):  # 80 + 15 fits: a small photo is not held up
        order.append("small")
    big_release.set()
    first.join(10)
    waiting.join(10)
    assert order == ["big", "small", "second big"] and budget.in_use == 0
    with budget.hold(10_000):  # above the whole budget: runs, alone
        assert budget.in_use == 100

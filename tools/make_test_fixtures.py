"""Make tests/fixtures/data from photos shipped in two pinned PyPI packages (run once, at development time).

    mkdir -p /tmp/fixture-src && cd /tmp/fixture-src
    pip download --no-deps --no-binary :all: face_recognition==1.3.0
    pip download --no-deps scikit-image==0.26.0          # any wheel (or the sdist): skimage/data is the same
    cd - && .venv/bin/python tools/make_test_fixtures.py /tmp/fixture-src

Every source file is checked against the SHA-256 recorded below before it is used, and everything derived
from them (scaled scenes, composites, the clip) is made here by fixed, seeded steps, so the committed files
can be re-made and checked. tests/fixtures/README.md lists each file, where it comes from and its licence.
"""
from __future__ import annotations

import argparse
import hashlib
import io
import sys
import tarfile
import zipfile
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageFilter, ImageOps

OUT = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "data"

FACE_RECOGNITION_SDIST = "face_recognition-1.3.0.tar.gz"
FACE_RECOGNITION_SHA256 = "5e5efdd1686aa566af0d3cc1313b131e4b197657a8ffd03669e6d3fad92705ec"
# face_recognition 1.3.0 (MIT), tests/test_images/
FACE_RECOGNITION_FILES = ("obama.jpg", "obama2.jpg", "obama3.jpg", "obama_partial_face.jpg", "biden.jpg")
# scikit-image 0.26.0 (BSD-3-Clause; each image's own licence in tests/fixtures/README.md), skimage/data/
SKIMAGE_FILES = (
    "astronaut.png", "camera.png", "brick.png", "chelsea.png", "coffee.png", "coins.png", "color.png", "grass.png",
    "gravel.png", "horse.png", "hubble_deep_field.jpg", "moon.png", "page.png", "rocket.jpg", "text.png",
)
# The SHA-256 of each source file as the packages ship it, written by the first run and checked by every later one.
PINNED = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "SOURCES.sha256"

NONFACE_NAMES = {  # skimage name -> our name (the role the tests know it by)
    "chelsea.png": "cat.jpg", "coffee.png": "coffee.jpg", "brick.png": "brick.jpg", "coins.png": "coins.jpg",
    "color.png": "colorwheel.jpg", "grass.png": "grass.jpg", "gravel.png": "gravel.jpg", "horse.png": "horse.jpg",
    "hubble_deep_field.jpg": "hubble_deep_field.jpg", "moon.png": "moon.jpg", "page.png": "page.jpg",
    "rocket.jpg": "rocket.jpg", "text.png": "text.jpg",
}


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_sources(folder: Path) -> dict[str, bytes]:
    sdist = folder / FACE_RECOGNITION_SDIST
    if sha256(sdist.read_bytes()) != FACE_RECOGNITION_SHA256:
        sys.exit(f"{sdist}: unexpected SHA-256 (not the pinned face_recognition 1.3.0 sdist)")
    files: dict[str, bytes] = {}
    with tarfile.open(sdist) as tar:
        for name in FACE_RECOGNITION_FILES:
            files[name] = tar.extractfile(f"face_recognition-1.3.0/tests/test_images/{name}").read()
    archives = sorted(folder.glob("scikit_image-0.26.0*.whl")) or sorted(folder.glob("scikit_image-0.26.0.tar.gz"))
    if not archives:
        sys.exit(f"no scikit-image 0.26.0 wheel or sdist in {folder}")
    archive = archives[0]
    if archive.suffix == ".whl":
        with zipfile.ZipFile(archive) as whl:
            for name in SKIMAGE_FILES:
                files[name] = whl.read(f"skimage/data/{name}")
    else:
        with tarfile.open(archive) as tar:
            for name in SKIMAGE_FILES:
                files[name] = tar.extractfile(f"scikit_image-0.26.0/src/skimage/data/{name}").read()
    pinned = dict(line.split()[::-1] for line in PINNED.read_text().splitlines() if line.strip()) if PINNED.exists() else {}
    for name, data in files.items():
        expected = pinned.get(name)
        if expected and sha256(data) != expected:
            sys.exit(f"{name}: SHA-256 {sha256(data)} is not the pinned {expected}")
    if not pinned:
        PINNED.write_text("".join(f"{sha256(data)}  {name}\n" for name, data in sorted(files.items())))
    return files


def image(data: bytes) -> Image.Image:
    return ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB")


def save_jpeg(picture: Image.Image, path: Path, quality: int = 90) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    picture.save(path, "JPEG", quality=quality, optimize=True)


def wall(size: tuple[int, int], brick: Image.Image) -> Image.Image:
    """A warm, slightly blurred brick wall (skimage's CC0 brick texture) as the scene's background."""
    grey = brick.convert("L")
    tile = grey.resize((grey.width * 2, grey.height * 2))
    canvas = Image.new("L", size)
    for x in range(0, size[0], tile.width):
        for y in range(0, size[1], tile.height):
            canvas.paste(tile, (x, y))
    canvas = canvas.filter(ImageFilter.GaussianBlur(2))
    return ImageOps.colorize(canvas, black=(60, 40, 30), white=(215, 190, 160))


def portrait(picture: Image.Image, face_box, *, above=1.0, below=2.2, side=1.3) -> Image.Image:
    """Head and shoulders around a face box (x1, y1, x2, y2): side/above/below in face widths."""
    x1, y1, x2, y2 = face_box
    w = x2 - x1
    box = (max(0, int(x1 - side * w)), max(0, int(y1 - above * w)), min(picture.width, int(x2 + side * w)), min(picture.height, int(y2 + below * w)))
    return picture.crop(box)


def scaled(picture: Image.Image, factor: float) -> Image.Image:
    return picture.resize((max(1, round(picture.width * factor)), max(1, round(picture.height * factor))), Image.LANCZOS)


# Face boxes found by faceapp's MTCNN in the source photos (x1, y1, x2, y2), used to place crops.
FACES = {
    "obama.jpg": (367, 78, 616, 428),
    "obama2.jpg": (190, 213, 472, 638),
    "obama3.jpg": (637, 242, 914, 611),
    "biden.jpg": (422, 172, 713, 564),
    "astronaut.png": (181, 62, 267, 172),
    "camera.png": (199, 118, 254, 192),
}


def make_samples(files: dict[str, bytes]) -> None:
    samples = OUT / "samples"
    samples.mkdir(parents=True, exist_ok=True)
    for name in FACE_RECOGNITION_FILES:
        (samples / name).write_bytes(files[name])
    save_jpeg(image(files["astronaut.png"]), samples / "astronaut.jpg")
    save_jpeg(Image.open(io.BytesIO(files["camera.png"])).convert("L"), samples / "cameraman.jpg")

    brick = Image.open(io.BytesIO(files["brick.png"]))
    obama3, obama2, biden, astronaut = (image(files[n]) for n in ("obama3.jpg", "obama2.jpg", "biden.jpg", "astronaut.png"))

    # obama-1080p/720p/480p/240p: one scene, Obama (obama3.jpg) on a wall, his face ~250 px wide at 1080p.
    scene = wall((1920, 1080), brick)
    head = scaled(portrait(obama3, FACES["obama3.jpg"], below=1.9), 250 / 277)
    scene.paste(head, (1100, 1080 - head.height))
    for height in (1080, 720, 480, 240):
        save_jpeg(scene.resize((round(1920 * height / 1080), height), Image.LANCZOS), samples / f"obama-{height}p.jpg")

    # biden_biden2.jpg: a second picture of Biden, made from biden.jpg (mirrored, closer, warmer light).
    second = ImageOps.mirror(portrait(biden, FACES["biden.jpg"], above=0.5, below=1.2, side=0.9))
    second = Image.eval(scaled(second, 1.4), lambda v: min(255, int(255 * (v / 255) ** 0.85)))
    save_jpeg(second, samples / "biden_biden2.jpg")

    # two_people.jpg: Obama (obama2.jpg) and the astronaut side by side, faces ~150 px.
    scene = wall((1400, 800), brick)
    left = scaled(portrait(obama2, FACES["obama2.jpg"]), 150 / 282)
    right = scaled(portrait(astronaut, FACES["astronaut.png"]), 150 / 86)
    scene.paste(left, (150, 800 - left.height))
    scene.paste(right, (800, 800 - right.height))
    save_jpeg(scene, samples / "two_people.jpg")

    # obama_and_biden.jpg: Obama (obama3.jpg), Biden (mirrored) and a smaller third face at the lower right
    # (the astronaut, ~100 px: the role of the child in the shared photo of the same name).
    scene = wall((1920, 1280), brick)
    obama_head = scaled(portrait(obama3, FACES["obama3.jpg"], below=1.5), 190 / 277)
    biden_head = scaled(ImageOps.mirror(portrait(biden, FACES["biden.jpg"], below=1.5)), 230 / 291)
    small = scaled(portrait(astronaut, FACES["astronaut.png"], below=1.0, side=0.8), 100 / 86)
    scene.paste(obama_head, (250, 1280 - obama_head.height - 150))
    scene.paste(biden_head, (900, 1280 - biden_head.height - 120))
    scene.paste(small, (1920 - small.width - 80, 1280 - small.height - 40))
    save_jpeg(scene, samples / "obama_and_biden.jpg")


def make_nonfaces(files: dict[str, bytes]) -> None:
    for source, name in NONFACE_NAMES.items():
        save_jpeg(image(files[source]), OUT / "nonfaces" / name)


def make_clip(files: dict[str, bytes]) -> None:
    """video/walkby.mp4: 640x360, 25 fps, 8 s: a stranger (the astronaut) for 2 s, Obama (obama3.jpg) for
    3.6 s, then two strangers (Biden and the cameraman) together; each face drifts and breathes in scale, with
    sensor noise, so that consecutive frames differ as a camera's do. MPEG-4 Part 2, which OpenCV's wheels write."""
    brick = Image.open(io.BytesIO(files["brick.png"]))
    background = np.asarray(wall((640, 360), brick))
    obama3, biden, astronaut = (image(files[n]) for n in ("obama3.jpg", "biden.jpg", "astronaut.png"))
    camera = Image.open(io.BytesIO(files["camera.png"])).convert("RGB")
    stranger = portrait(astronaut, FACES["astronaut.png"], below=1.2)
    obama = portrait(obama3, FACES["obama3.jpg"], below=1.2)
    biden_head = portrait(biden, FACES["biden.jpg"], below=1.2)
    cameraman = portrait(camera, FACES["camera.png"], below=1.2)
    # (start s, end s, [(picture, face width px, face width in picture px, x0, x1)]): x drifts from x0 to x1.
    segments = [
        (0.0, 2.0, [(stranger, 80, 86, 60, 200)]),
        (2.4, 6.0, [(obama, 90, 277, 380, 260)]),
        (6.4, 8.0, [(biden_head, 75, 291, 80, 140), (cameraman, 70, 55, 400, 360)]),
    ]
    fps, seconds = 25, 8.0
    rng = np.random.default_rng(20261203)
    path = OUT / "video" / "walkby.mp4"
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (640, 360))
    assert writer.isOpened(), "OpenCV cannot write MPEG-4 here"
    for index in range(int(fps * seconds)):
        t = index / fps
        frame = Image.fromarray(background.copy())
        for start, end, people in segments:
            if not start <= t < end:
                continue
            progress = (t - start) / (end - start)
            for picture, face_width, source_width, x0, x1 in people:
                breathe = 1.0 + 0.06 * np.sin(2 * np.pi * t / 1.7)
                piece = scaled(picture, face_width * breathe / source_width)
                x = int(x0 + (x1 - x0) * progress)
                frame.paste(piece, (x, 360 - piece.height + 10))
        pixels = np.asarray(frame).astype(np.int16) + rng.normal(0, 3, (360, 640, 3)).astype(np.int16)
        writer.write(cv2.cvtColor(np.clip(pixels, 0, 255).astype(np.uint8), cv2.COLOR_RGB2BGR))
    writer.release()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("packages", type=Path, help="Folder holding the downloaded face_recognition sdist and scikit-image wheel.")
    args = parser.parse_args()
    files = read_sources(args.packages)
    make_samples(files)
    make_nonfaces(files)
    make_clip(files)
    for path in sorted(OUT.rglob("*")):
        if path.is_file():
            print(f"{sha256(path.read_bytes())}  {path.relative_to(OUT)}  {path.stat().st_size:,} bytes")


if __name__ == "__main__":
    main()

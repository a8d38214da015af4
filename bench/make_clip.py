"""Make the benchmark's second clip: several people moving across a still camera's picture.

    .venv/bin/python bench/make_clip.py                 # → var/bench/crowd.mp4 (1280×720, 25 fps, 24 s)

No video of several people moving may be downloaded here, so this one is composed from the shared
sample photos (../shared/data/samples, MIT/BSD: see its README) and lfw-dev photos (research use), moving
across a still background made from a scikit-image sample (brick wall, BSD) — the way a fixed camera
in a corridor sees people pass: they enter, cross each other (two pairs meet head-on), some stop for a
few seconds (a still scene with faces: the motion gate holds their tracks), and leave; sensor noise
(σ 2 grey levels) on every frame, so that "nothing moved" is decided on a noisy picture. Each person
is the head-and-shoulders part of a photo (a rectangle: real faces, not cut out). Deterministic: the
same file each time (git-ignored, under var/). Who appears is printed, with the time on screen.
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"
DEFAULT_OUT = ROOT / "var" / "bench" / "crowd.mp4"
WIDTH, HEIGHT, FPS, SECONDS = 1280, 720, 25, 24


@dataclass(frozen=True)
class Walker:
    photo: str  # under ../shared/data
    crop: tuple[float, float, float, float]  # part of the photo (fractions x1, y1, x2, y2): head and shoulders
    # (the detector's face box widened by 0.8 face widths on each side, 0.5 above, 1.0 below)
    height: int  # sprite height in px
    start: float  # s
    end: float
    path: tuple[tuple[float, float, float], ...]  # (t fraction 0-1, x centre, y centre) key points, fractions of the frame


WALKERS = [
    # Two people meet head-on in the middle and walk on (a crossing).
    Walker("samples/obama.jpg", (0.185, 0.0, 0.896, 0.684), 220, 0.5, 9.0, ((0, -0.1, 0.45), (1, 1.1, 0.45))),
    Walker("samples/biden.jpg", (0.194, 0.0, 0.977, 0.434), 230, 1.0, 9.5, ((0, 1.1, 0.5), (1, -0.1, 0.5))),
    # Walks in, stops for four seconds, walks out.
    Walker("samples/rose_leslie_img1.jpg", (0.335, 0.0, 0.835, 0.882), 200, 3.0, 17.0,
           ((0, 0.2, 1.2), (0.3, 0.3, 0.35), (0.6, 0.3, 0.35), (1, 0.35, -0.2))),
    Walker("samples/lin-manuel-miranda.png", (0.048, 0.0, 1.0, 1.0), 220, 8.0, 18.0, ((0, 1.15, 0.6), (0.5, 0.7, 0.55), (1, -0.15, 0.4))),
    Walker("samples/alex_lacamoire_img1.jpg", (0.093, 0.0, 0.914, 0.794), 190, 10.0, 20.0, ((0, -0.15, 0.35), (1, 1.15, 0.7))),
    # A second crossing, smaller faces (further from the camera).
    Walker("lfw-dev/Bill_Clinton/Bill_Clinton_0002.jpg", (0.0, 0.0, 1.0, 1.0), 150, 13.0, 22.0, ((0, -0.1, 0.3), (1, 1.1, 0.3))),
    Walker("lfw-dev/Hugo_Chavez/Hugo_Chavez_0002.jpg", (0.0, 0.0, 1.0, 1.0), 140, 13.5, 22.5, ((0, 1.1, 0.32), (1, -0.1, 0.28))),
    # Stands still near the end (the last seconds are a still scene with one face).
    Walker("samples/biden_biden2.jpg", (0.03, 0.0, 1.0, 1.0), 190, 19.0, 24.0, ((0, 0.8, 1.2), (0.3, 0.75, 0.55), (1, 0.75, 0.55))),
]


def position(walker: Walker, t: float) -> tuple[float, float] | None:
    if not walker.start <= t <= walker.end:
        return None
    f = (t - walker.start) / (walker.end - walker.start)
    for (f0, x0, y0), (f1, x1, y1) in zip(walker.path, walker.path[1:]):
        if f0 <= f <= f1:
            a = (f - f0) / max(f1 - f0, 1e-9)
            return x0 + a * (x1 - x0), y0 + a * (y1 - y0)
    return walker.path[-1][1:]


def sprite(walker: Walker) -> np.ndarray:
    image = cv2.imread(str(DATA / walker.photo))
    if image is None:
        raise SystemExit(f"cannot read {DATA / walker.photo}")
    h, w = image.shape[:2]
    x1, y1, x2, y2 = walker.crop
    part = image[int(y1 * h): int(y2 * h), int(x1 * w): int(x2 * w)]
    scale = walker.height / part.shape[0]
    return cv2.resize(part, (max(1, round(part.shape[1] * scale)), walker.height), interpolation=cv2.INTER_AREA)


def background() -> np.ndarray:
    wall = cv2.imread(str(DATA / "nonfaces" / "brick.jpg"))
    if wall is None:
        raise SystemExit("cannot read nonfaces/brick.jpg")
    return cv2.resize(wall, (WIDTH, HEIGHT), interpolation=cv2.INTER_LINEAR)


def paste(frame: np.ndarray, image: np.ndarray, cx: float, cy: float) -> None:
    h, w = image.shape[:2]
    x, y = int(cx * WIDTH - w / 2), int(cy * HEIGHT - h / 2)
    fx1, fy1, fx2, fy2 = max(0, x), max(0, y), min(WIDTH, x + w), min(HEIGHT, y + h)
    if fx2 <= fx1 or fy2 <= fy1:
        return
    frame[fy1:fy2, fx1:fx2] = image[fy1 - y: fy2 - y, fx1 - x: fx2 - x]


def make(out: Path) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    base = background()
    sprites = [sprite(w) for w in WALKERS]
    rng = np.random.default_rng(19)
    writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"mp4v"), FPS, (WIDTH, HEIGHT))
    if not writer.isOpened():
        raise SystemExit(f"cannot write {out}")
    for index in range(FPS * SECONDS):
        t = index / FPS
        frame = base.copy()
        for walker, image in zip(WALKERS, sprites):
            where = position(walker, t)
            if where is not None:
                paste(frame, image, *where)
        noise = rng.normal(0, 2, frame.shape)
        writer.write(np.clip(frame + noise, 0, 255).astype(np.uint8))
    writer.release()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output file (default {DEFAULT_OUT.relative_to(ROOT)})")
    args = parser.parse_args()
    path = make(args.out)
    print(f"{path}: {WIDTH}x{HEIGHT}, {FPS} fps, {SECONDS} s, {len(WALKERS)} people")
    for walker in WALKERS:
        print(f"  {walker.photo}: {walker.start:g}-{walker.end:g} s")


if __name__ == "__main__":
    main()

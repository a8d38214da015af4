"""Per-stage timings of the pipeline (decode, detect, crop, embed) on real photos, in-process.

    .venv/bin/python bench/stages.py                       # samples/obama-240p/480p/720p/1080p + 20 lfw-dev photos
    .venv/bin/python bench/stages.py --repeat 30 PATH ...  # any photos

Prints median and p95 per stage in milliseconds. The first run of each photo is a warm-up and not counted.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "faceapp.settings")

DATA = ROOT.parent / "shared" / "data"


def default_photos() -> list[Path]:
    photos = [DATA / "samples" / f"obama-{size}.jpg" for size in ("240p", "480p", "720p", "1080p")]
    lfw = sorted((DATA / "lfw-dev").glob("*/*.jpg"))[:: max(1, len(sorted((DATA / "lfw-dev").glob("*/*.jpg"))) // 20)][:20]
    return [p for p in photos if p.exists()] + lfw


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("photos", nargs="*", type=Path, help="photos to time (default: obama-240p..1080p and 20 lfw-dev photos)")
    parser.add_argument("--repeat", type=int, default=20, help="timed runs per photo (default 20)")
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings

    from recognition import pipeline, runtime

    photos = args.photos or default_photos()
    rows = []
    lfw_rows: dict[str, list[float]] = {}
    for photo in photos:
        data = photo.read_bytes()
        pipeline.analyse_bytes(data)  # warm-up
        stages: dict[str, list[float]] = {}
        faces = 0
        for _ in range(args.repeat):
            analysis = pipeline.analyse_bytes(data)
            faces = len(analysis.faces)
            timings = dict(analysis.timings_ms)
            timings["total"] = sum(timings.values())
            for stage, ms in timings.items():
                stages.setdefault(stage, []).append(ms)
        if "lfw-dev" in photo.parts:
            for stage, values in stages.items():
                lfw_rows.setdefault(stage, []).extend(values)
            continue
        rows.append((photo.name, analysis.width, analysis.height, faces, stages))

    print(f"providers: {runtime.resolve_providers()}  ORT threads: {settings.FACEAPP_ORT_THREADS}  "
          f"detect max side: {settings.FACEAPP_DETECT_MAX_SIDE}  cpus: {os.cpu_count()}  repeat: {args.repeat}")
    header = f"{'photo':<22}{'size':>11}{'faces':>6}" + "".join(f"{s + ' p50/p95':>18}" for s in ("decode", "detect", "crop", "embed", "total"))
    print(header)
    print("-" * len(header))

    def line(name, size, faces, stages):
        cells = "".join(f"{statistics.median(stages[s]):>10.1f}/{percentile(stages[s], 95):<7.1f}" for s in ("decode", "detect", "crop", "embed", "total"))
        print(f"{name:<22}{size:>11}{faces:>6}{cells}")

    for name, width, height, faces, stages in rows:
        line(name, f"{width}x{height}", faces, stages)
    if lfw_rows:
        line(f"lfw-dev ({len(lfw_rows['total']) // args.repeat} photos)", "250x250", 1, lfw_rows)
    print("times in ms (p50/p95)")


if __name__ == "__main__":
    main()

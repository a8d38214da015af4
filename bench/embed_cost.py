"""Embedding cost per face of each embedder, at batch 1 and 8, with and without flip averaging (in-process, no HTTP).

    .venv/bin/python bench/embed_cost.py

Random 160×160 (FaceNets) and 112×112 (ArcFace) crops; ONNX Runtime with the server's settings
(FACEAPP_ORT_THREADS, no spinning). p50 over --runs runs after a warm-up, in ms per call and per face.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "faceapp.settings")


def p50(call, runs: int) -> float:
    call()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    import django

    django.setup()
    from recognition import arcface, embedder, facenet_ms1m

    rng = np.random.default_rng(0)
    crops = [rng.integers(0, 256, (160, 160, 3), dtype=np.uint8) for _ in range(8)]
    aligned = [rng.integers(0, 256, (112, 112, 3), dtype=np.uint8) for _ in range(8)]
    variants = {
        "facenet (CASIA, 512-d)": lambda n: embedder.embed(crops[:n]),
        "facenet-ms1m, no flip": lambda n: facenet_ms1m.embed(crops[:n], flip=False),
        "facenet-ms1m + flip (default)": lambda n: facenet_ms1m.embed(crops[:n], flip=True),
        "arcface-mbf": lambda n: arcface.embed(aligned[:n]),
    }
    print(f"{os.cpu_count()} cores; ms p50 over {args.runs} runs")
    print("| embedder | batch 1 (ms/face) | batch 8 (ms per call) | batch 8 (ms/face) |")
    print("| --- | --- | --- | --- |")
    for name, run in variants.items():
        one, eight = p50(lambda: run(1), args.runs), p50(lambda: run(8), args.runs)
        print(f"| {name} | {one:.1f} | {eight:.1f} | {eight / 8:.1f} |")


if __name__ == "__main__":
    main()

"""Fit each embedder's shipped calibration on lfw-dev and write recognition/model_build/calibrations.json.

    .venv/bin/python bench/calibrate.py            # after bench/embedders.py has cached the vectors

For every embedder: the impostor tail (recognition.calibration.fit_tail over every different-person pair
of lfw-dev's faces) and its margin (recognition.evaluation.calibrate: 2 for photos unlike these, times how
far lfw-dev's own open-set protocol exceeds the balanced target). Then, per preset, the thresholds it
predicts at several gallery sizes, and the stranger rate and miss rate it gives on lfw-dev's strangers
protocol (half enrolled with one photo, the other half as strangers; 10 seeds). build_models copies the
file into the model manifest, so every install ships it; `manage.py evaluate --calibrate` replaces it
with one fitted on the operator's own photos.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import DATA, ROOT  # noqa: E402
from embedders import embed_dataset  # noqa: E402

# The variant each embedder runs as by default → the manifest's model name.
VARIANTS = {"facenet": "facenet", "facenet-ms1m+flip": "facenet_ms1m", "arcface-mbf": "arcface_mbf"}
# Embedders whose decisions use AS-norm (bench/asnorm.py: a clear gain for FaceNet MS-Celeb-1M, none for ArcFace).
NORMALISED = {"facenet-ms1m+flip"}
PRESETS = {"strict": 0.001, "balanced": 0.01, "permissive": 0.05}
SIZES = (100, 1000, 2550, 10000, 1000000)
OUT = ROOT / "recognition" / "model_build" / "calibrations.json"
OUT_NORMALISED = ROOT / "recognition" / "model_build" / "normalisations.json"


def main() -> None:
    from recognition import calibration, evaluation

    datasets = embed_dataset(DATA / "lfw-dev", list(VARIANTS), ROOT / "var" / "bench")
    shipped, normalisations = {}, {}
    for variant, model in VARIANTS.items():
        dataset = datasets[variant]
        tail = evaluation.calibrate(dataset, source=f"lfw-dev ({len(dataset.people)} people, {variant})")
        shipped[model] = tail.as_dict()
        print(f"\n{variant}: u {tail.u:.3f}, σ {tail.sigma:.4f}, ξ {tail.xi:.3f}, {tail.pairs:,} impostor pairs, margin {tail.margin:.2f}")
        print("| preset | " + " | ".join(f"N={n:,}" for n in SIZES) + " | lfw-dev strangers named | enrolled missed |")
        print("| --- |" + " --- |" * (len(SIZES) + 2))
        for preset, target in PRESETS.items():
            named, missed = [], []
            for seed in range(10):
                searches = evaluation.strangers_protocol(dataset, seed=seed)
                t = calibration.threshold_for(tail, target, searches.gallery_size)
                named.append(evaluation.far(searches.stranger_scores(), t))
                missed.append(evaluation.frr(searches.mated_scores(), t))
            thresholds = " | ".join(f"{calibration.threshold_for(tail, target, n):.3f}" for n in SIZES)
            print(f"| {preset} ({target:.1%}) | {thresholds} | {np.mean(named):.2%} | {np.mean(missed):.1%} |")
        print("\nmeasured on lfw-dev's strangers protocol at growing galleries (5 seeds; 100 and 200 are random subsets of the enrolled half):")
        print("| preset | enrolled faces | threshold | strangers named | enrolled missed |")
        print("| --- | --- | --- | --- | --- |")
        for row in evaluation.preset_rows(dataset, tail, PRESETS, sizes=(100, 200, None)):
            print(f"| {row.preset} | {row.gallery_size} | {row.threshold:.3f} | {row.far:.2%} of {row.strangers} | {row.frr:.1%} |")
        if variant in NORMALISED:
            normalisations[model] = normalised_presets(dataset, tail, variant)
    OUT.write_text(json.dumps(shipped, indent=2, sort_keys=True) + "\n")
    OUT_NORMALISED.write_text(json.dumps(normalisations, indent=2, sort_keys=True) + "\n")
    print(f"\nwrote {OUT.relative_to(ROOT)} and {OUT_NORMALISED.relative_to(ROOT)}")


def normalised_presets(dataset, raw_tail, variant) -> dict:
    """Fit the AS-norm calibration (40 random splits) and measure the presets on 40 other splits, with the veto."""
    from recognition import calibration, evaluation, evaluation_asnorm

    normalised = evaluation_asnorm.calibrate(dataset, source=f"lfw-dev ({len(dataset.people)} people, {variant}, AS-norm)")
    tail = normalised.search_tail
    print(f"\n{variant}, AS-norm K={normalised.k} (from {normalised.min_people} people enrolled): strangers' best normalised "
          f"score per search: u {tail.u:.3f}, σ {tail.sigma:.4f}, ξ {tail.xi:.3f}, {tail.pairs:,} searches, margin {tail.margin:.2f}")
    print("measured on 40 other splits (the enrolled half, ~324 people, and a random 300 of them; each decision with the cosine "
          "veto), and the cosine calibration alone on the same splits:")
    print("| preset | normalised threshold | enrolled | strangers named | enrolled missed | cosine alone: named / missed |")
    print("| --- | --- | --- | --- | --- | --- |")
    seeds = range(100, 140)
    rows = evaluation_asnorm.preset_rows(dataset, raw_tail, normalised, PRESETS, sizes=(None, normalised.min_people), seeds=seeds)
    for row in rows:
        raw_named, raw_missed = [], []
        for seed in seeds:
            raw, _ = evaluation_asnorm.strangers(dataset, seed=seed, k=normalised.k, size=row.gallery_size)
            t = calibration.threshold_for(raw_tail, row.target, raw.gallery_size)
            raw_named.append(evaluation.far(raw.stranger_scores(), t))
            raw_missed.append(evaluation.frr(raw.mated_scores(), t))
        print(f"| {row.preset} ({row.target:.1%}) | {row.threshold:.3f} | {row.gallery_size} | {row.far:.2%} | {row.frr:.1%} | "
              f"{np.mean(raw_named):.2%} / {np.mean(raw_missed):.1%} |")
    return normalised.as_dict()


if __name__ == "__main__":
    main()

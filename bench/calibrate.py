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
PRESETS = {"strict": 0.001, "balanced": 0.01, "permissive": 0.05}
SIZES = (100, 1000, 2550, 10000, 1000000)
OUT = ROOT / "recognition" / "model_build" / "calibrations.json"


def main() -> None:
    from recognition import calibration, evaluation

    datasets = embed_dataset(DATA / "lfw-dev", list(VARIANTS), ROOT / "var" / "bench")
    shipped = {}
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
    OUT.write_text(json.dumps(shipped, indent=2, sort_keys=True) + "\n")
    print(f"\nwrote {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()

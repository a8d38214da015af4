"""Adaptive score normalisation (AS-norm) on lfw-dev's strangers protocol: is it worth building?

    .venv/bin/python bench/asnorm.py                 # after bench/embedders.py has cached the vectors
    .venv/bin/python bench/asnorm.py --variants facenet-ms1m+flip --ks 50 100 200

Cohort: the enrolled faces themselves (what a server has). For probe p and enrolled face g with cosine s:
s' = ½((s − μp)/σp + (s − μg)/σg), with μ/σ the mean and standard deviation of the top-K similarities of
p (resp. of g, itself excluded) to the cohort. Each probe is decided on its best normalised score.

Prints, per embedder and K, averaged over 5 splits (half of lfw-dev's people enrolled with one photo, the other
half's photos as strangers): EER, and the share of enrolled people missed where 1%, 0.5% and 0.1% of
strangers are named, raw and normalised (recognition.scoring: the per-person cohort the server uses). Then
whether the normalised score's operating point depends on the gallery's size, which a calibration shipped with
the model would have to follow: the score at which 1% of strangers are named as 100 to 500 people are enrolled.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import DATA, ROOT  # noqa: E402
from embedders import embed_dataset  # noqa: E402

SEEDS = range(5)


def normalise(probe_scores: np.ndarray, gallery: np.ndarray, ids: np.ndarray, k: int) -> np.ndarray:
    from recognition import scoring

    return scoring.normalise_matrix(probe_scores, gallery, ids, min(k, len(ids) - 1))


def decided(scores: np.ndarray, gallery_ids: np.ndarray, truth: np.ndarray):
    from recognition import evaluation

    best = scores.argmax(axis=1)
    return evaluation.Searches(gallery_ids, truth, gallery_ids[best], scores[np.arange(len(best)), best])


def split(dataset, seed: int, size: int | None = None):
    """The strangers protocol's gallery (optionally a random `size` of it), probes and truth."""
    from recognition import evaluation

    searches = evaluation.strangers_protocol(dataset, seed=seed)
    ids = searches.gallery_ids
    if size is not None and size < len(ids):
        ids = np.sort(np.random.default_rng(1000 + seed).choice(ids, size=size, replace=False))
    return _protocol(dataset, ids, set(searches.gallery_ids))


def growing(dataset, seed: int, size: int):
    """`size` people enrolled out of 500, the strangers being the photos of the ~149 people never enrolled."""
    people = [i for i in range(len(dataset.people)) if dataset.faces_of(i)]
    order = np.random.default_rng(seed).permutation(people)
    return _protocol(dataset, np.sort(order[:size]), set(order[:500]))


def _protocol(dataset, ids, excluded: set):
    gallery = np.array([dataset.faces_of(i)[0] for i in ids], dtype=np.float64)
    probes, truth = [], []
    for person in range(len(dataset.people)):
        vectors = dataset.faces_of(person)
        if not vectors:
            continue
        if person in ids and len(vectors) >= 2:
            probes.append(vectors[1])
            truth.append(person)
        elif person not in excluded:
            probes += vectors
            truth += [-1] * len(vectors)
    return gallery, np.asarray(ids), np.array(probes, dtype=np.float64), np.array(truth)


def main() -> None:
    from recognition import evaluation

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--variants", nargs="+", default=["facenet-ms1m+flip", "facenet", "arcface-mbf"])
    parser.add_argument("--ks", nargs="+", type=int, default=[50, 100, 200])
    args = parser.parse_args()
    datasets = embed_dataset(DATA / "lfw-dev", args.variants, ROOT / "var" / "bench")

    print("| embedder | scores | EER | missed @ 1% named | @ 0.5% | @ 0.1% |")
    print("| --- | --- | --- | --- | --- | --- |")
    for variant in args.variants:
        dataset = datasets[variant]
        for label, k in [("raw", None)] + [(f"AS-norm K={k}", k) for k in args.ks]:
            rows = []
            for seed in SEEDS:
                gallery, ids, probes, truth = split(dataset, seed)
                scores = probes @ gallery.T
                if k is not None:
                    scores = normalise(scores, gallery, ids, k)
                s = decided(scores, ids, truth)
                mated, strangers = s.mated_scores(), s.stranger_scores()
                eer = evaluation.equal_error(mated, strangers)
                rows.append([(eer.frr + eer.far) / 2] + [evaluation.at_far(mated, strangers, t).frr for t in (0.01, 0.005, 0.001)])
            r = np.mean(rows, axis=0)
            print(f"| {variant} | {label} | {r[0]:.1%} | {r[1]:.1%} | {r[2]:.1%} | {r[3]:.1%} |")

    print("\nThe score at which 1% of strangers are named, and the share of enrolled people missed there, as the gallery grows "
          "(100 to 500 of lfw-dev's people enrolled, the photos of the ~149 others as strangers; mean over 8 draws):")
    sizes = (100, 200, 300, 400, 500)
    print("| embedder | scores | " + " | ".join(f"{n} enrolled" for n in sizes) + " |")
    print("| --- | --- |" + " --- |" * len(sizes))
    for variant in args.variants:
        dataset = datasets[variant]
        for label, k in [("raw", None)] + [(f"AS-norm K={k}", k) for k in args.ks]:
            cells = []
            for size in sizes:
                if k is not None and size < 2 * k:
                    cells.append("(K too large)")
                    continue
                points, missed = [], []
                for seed in range(8):
                    gallery, ids, probes, truth = growing(dataset, seed, size)
                    scores = probes @ gallery.T
                    if k is not None:
                        scores = normalise(scores, gallery, ids, k)
                    s = decided(scores, ids, truth)
                    op = evaluation.at_far(s.mated_scores(), s.stranger_scores(), 0.01)
                    points.append(op.threshold)
                    missed.append(op.frr)
                cells.append(f"{np.mean(points):.3f} ({np.mean(missed):.0%})")
            print(f"| {variant} | {label} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()

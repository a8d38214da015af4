"""Compare the embedders on lfw-dev: every photo detected once, every variant embedded from the same face.

    .venv/bin/python bench/embedders.py                         # all variants, the table in docs/accuracy.md
    .venv/bin/python bench/embedders.py --variants facenet-ms1m+flip --seeds 0 1 2 3 4

Variants: facenet (CASIA, fixed standardisation), facenet-ms1m (prewhitened), facenet-ms1m+flip (and its
mirror, averaged), arcface-mbf (non-commercial; landmark-aligned). Largest face per photo, the
pipeline's detector and settings. Vectors are kept in --cache (an .npz per variant) for bench/calibration.py.

Reported per variant (recognition.evaluation): rank-1 (first image of every person as gallery, second as
probe); on the strangers protocol (half the people enrolled with one photo, the other half's photos as
strangers; averaged over --seeds): EER and FRR at FAR 1% / 0.1% of strangers; and on all pairs of photos
(every same-person pair, every different-person pair): the pair EER and TAR at a pair FAR of 0.1%.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import DATA, ROOT  # noqa: E402

VARIANTS = ("facenet", "facenet-ms1m", "facenet-ms1m+flip", "arcface-mbf")


def embed_dataset(root: Path, variants, cache: Path):
    import django

    django.setup()
    from recognition import arcface, embedder, evaluation, facenet_ms1m, pipeline

    wanted = {v: cache / f"lfw-{v}.npz" for v in variants}
    todo = [v for v, path in wanted.items() if not path.is_file()]
    people, photos = evaluation.list_folder(root)
    flat = [(i, j, path) for i, paths in enumerate(photos) for j, path in enumerate(paths)]
    if todo:
        crops, aligned, index = [], [], []
        started = time.perf_counter()
        for i, j, path in flat:
            image = pipeline.decode(path.read_bytes())
            faces = pipeline.analyse_image(image, with_embeddings=False).faces
            if faces:
                crops.append(faces[0].crop)
                aligned.append(arcface.align_face(image, faces[0].detection))
                index.append((i, j))
        print(f"detected {len(index)} faces in {len(flat)} photos ({time.perf_counter() - started:.0f} s)")
        embed = {
            "facenet": lambda: embedder.embed(crops),
            "facenet-ms1m": lambda: facenet_ms1m.embed(crops, flip=False),
            "facenet-ms1m+flip": lambda: facenet_ms1m.embed(crops, flip=True),
            "arcface-mbf": lambda: arcface.embed(aligned),
        }
        cache.mkdir(parents=True, exist_ok=True)
        for variant in todo:
            started = time.perf_counter()
            vectors = embed[variant]()
            print(f"{variant}: {len(vectors)} faces embedded in {time.perf_counter() - started:.0f} s")
            np.savez(wanted[variant], vectors=vectors, index=np.array(index, int))
    datasets = {}
    for variant, path in wanted.items():
        stored = np.load(path)
        dataset = evaluation.Dataset(people=people, photos=photos, vectors=[[None] * len(p) for p in photos])
        for (i, j), vector in zip(stored["index"], stored["vectors"]):
            dataset.vectors[i][j] = vector
        datasets[variant] = dataset
    return datasets


def pair_metrics(dataset) -> tuple[float, float]:
    """(pair EER, TAR at pair FAR 0.1%) over every pair of faces."""
    from recognition import evaluation

    vectors, labels = [], []
    for i in range(len(dataset.people)):
        for v in dataset.faces_of(i):
            vectors.append(v)
            labels.append(i)
    vectors, labels = np.array(vectors, dtype=np.float32), np.array(labels)
    scores = vectors @ vectors.T
    upper = np.triu_indices(len(labels), 1)
    same = labels[upper[0]] == labels[upper[1]]
    values = scores[upper]
    eer = evaluation.equal_error(values[same], values[~same])
    tar = evaluation.at_far(values[same], values[~same], 0.001)
    return (eer.frr + eer.far) / 2, 1 - tar.frr


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DATA / "lfw-dev")
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=VARIANTS)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    parser.add_argument("--cache", type=Path, default=ROOT / "var" / "bench")
    args = parser.parse_args()
    from recognition import evaluation

    datasets = embed_dataset(args.data, args.variants, args.cache)
    print(f"\nlfw-dev: {len(next(iter(datasets.values())).people)} people; strangers protocol averaged over seeds {args.seeds}")
    print("| variant | rank-1 | EER | FRR @ FAR 1% | FRR @ FAR 0.1% | pair EER | pair TAR @ FAR 0.1% |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for variant, dataset in datasets.items():
        rank1 = evaluation.rank1_accuracy(evaluation.identification_protocol(dataset))
        eers, frr1, frr01 = [], [], []
        for seed in args.seeds:
            searches = evaluation.strangers_protocol(dataset, seed=seed)
            mated, strangers = searches.mated_scores(), searches.stranger_scores()
            eer = evaluation.equal_error(mated, strangers)
            eers.append((eer.frr + eer.far) / 2)
            frr1.append(evaluation.at_far(mated, strangers, 0.01).frr)
            frr01.append(evaluation.at_far(mated, strangers, 0.001).frr)
        pair_eer, pair_tar = pair_metrics(dataset)
        print(f"| {variant} | {rank1:.3f} | {np.mean(eers):.1%} | {np.mean(frr1):.1%} | {np.mean(frr01):.1%} | {pair_eer:.2%} | {pair_tar:.1%} |")


if __name__ == "__main__":
    main()

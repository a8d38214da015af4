"""Same/different-person similarity on every lfw-dev pair, for one embedder: FAR/TAR by threshold.

    .venv/bin/python bench/pairs.py --embedder facenet
    FACEAPP_ACCEPT_NONCOMMERCIAL_MODELS=1 .venv/bin/python bench/pairs.py --embedder arcface-mbf

Embeds the largest face of every photo with the real pipeline (the embedder's own crop or alignment),
then scores all pairs: every same-person pair and every different-person pair (about 1.8 million).
Prints the thresholds at FAR 1%, 0.1% and 0.01% with their TAR, and FAR/TAR at fixed thresholds.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "faceapp.settings")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--embedder", default="facenet", help="facenet or arcface-mbf")
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "lfw-dev", help="folder per person")
    args = parser.parse_args()
    os.environ["FACEAPP_EMBEDDER"] = args.embedder

    import django

    django.setup()
    from tqdm import tqdm

    from recognition import pipeline

    labels, vectors, no_face = [], [], 0
    photos = sorted(args.data.glob("*/*.jpg"))
    for photo in tqdm(photos, unit="photo", desc=args.embedder):
        face = pipeline.analyse_bytes(photo.read_bytes()).largest_face()
        if face is None:
            no_face += 1
            continue
        labels.append(photo.parent.name)
        vectors.append(face.embedding)
    matrix = np.stack(vectors)
    names = np.array(labels)
    first, second = np.triu_indices(len(matrix), 1)
    similarity = np.einsum("ij,ij->i", matrix[first], matrix[second])
    same = names[first] == names[second]
    genuine, impostor = similarity[same], similarity[~same]
    print(f"\n{args.embedder}: {len(photos)} photos, {no_face} without a face; {len(genuine):,} same-person and {len(impostor):,} different-person pairs")
    print(f"{'operating point':<18}{'threshold':>10}{'TAR':>9}")
    for far in (0.01, 0.001, 0.0001):
        threshold = float(np.quantile(impostor, 1 - far))
        print(f"{'FAR ' + format(far, '.2%'):<18}{threshold:>10.3f}{(genuine >= threshold).mean():>9.2%}")
    print(f"{'threshold':>10}{'FAR':>10}{'TAR':>9}")
    for threshold in (0.25, 0.30, 0.35, 0.40, 0.45, 0.50):
        print(f"{threshold:>10.2f}{(impostor >= threshold).mean():>10.4%}{(genuine >= threshold).mean():>9.2%}")


if __name__ == "__main__":
    main()

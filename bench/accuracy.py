"""Crop margin × normalisation study on lfw-dev: which preprocessing separates same/different pairs best.

    .venv/bin/python bench/accuracy.py                                  # the study in docs/accuracy.md
    .venv/bin/python bench/accuracy.py --margins 32 44@182 --folds 10 --seed 0

Each photo is decoded and detected once (the pipeline's detector and settings, largest face); every
crop variant is cut from that one detection and embedded with both normalisations:

  fixed      (x − 127.5) / 128, what recognition.embedder uses
  prewhiten  per-image (x − mean) / max(std, 1/sqrt(N)), N = 160·160·3 (facenet's `prewhiten`)

A margin M is in pixels of the 160×160 output (recognition.align.crop_face); "M@S" crops at margin M
into S×S and keeps the central 160×160 (44@182 is how FaceNet 20180408-102900 was trained).

Pairs and folds: identities are split into --folds folds (multi-image identities greedily by their
same-person pair count so that folds are as even as the largest identities allow, single-image
identities where different-person pairs are most needed). Same-person pairs: every pair of photos of
one identity. Different-person pairs: in each fold, as many as that fold has same-person pairs, drawn
(--seed) without replacement from all pairs of photos of two different identities of that fold. So
every pair lies inside one fold and no person is on both sides of a train/test split.

Reported per setting: k-fold cross-validated accuracy (threshold that maximises accuracy on the other
folds, applied to the held-out fold; all held-out pairs pooled, ± the sd of the per-fold accuracies)
and its per-fold difference to the best setting, best-threshold accuracy on all pairs, equal error
rate and its threshold, the threshold at which 1% of different-person pairs match (FAR 1%) with the
share of same-person pairs accepted there (TAR), accuracy at the configured FACEAPP_MATCH_THRESHOLD,
and same/different cosine means. The best setting (by cross-validated accuracy)
is then also run with mirror averaging (embedding of crop + embedding of its horizontal mirror,
renormalised) and a threshold sweep is printed for it.
"""
from __future__ import annotations

import argparse
import itertools
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "faceapp.settings")

CROP = 160


# ---------------------------------------------------------------------- preprocessing variants


@dataclass(frozen=True)
class CropVariant:
    margin: int
    size: int = CROP  # crop at `size`, then keep the central 160×160

    @property
    def name(self) -> str:
        return f"{self.margin}" if self.size == CROP else f"{self.margin}@{self.size}→{CROP}"

    def cut(self, image: np.ndarray, detection) -> np.ndarray:
        from recognition import align

        crop = align.crop_face(image, detection, size=self.size, margin=self.margin)
        if self.size != CROP:
            off = (self.size - CROP) // 2
            crop = np.ascontiguousarray(crop[off : off + CROP, off : off + CROP])
        return crop


def parse_variant(text: str) -> CropVariant:
    margin, _, size = text.partition("@")
    variant = CropVariant(int(margin), int(size) if size else CROP)
    if variant.size < CROP or variant.margin < 0 or variant.margin >= variant.size:
        raise argparse.ArgumentTypeError(f"bad crop variant {text!r} (use M or M@S with S ≥ 160)")
    return variant


def fixed(batch: np.ndarray) -> np.ndarray:
    from recognition import embedder

    return embedder.standardise(batch)


def prewhiten(batch: np.ndarray) -> np.ndarray:
    x = batch.astype(np.float32)
    axes = tuple(range(1, x.ndim))
    mean = x.mean(axis=axes, keepdims=True)
    std = x.std(axis=axes, keepdims=True)
    floor = np.float32(1.0 / np.sqrt(x[0].size))
    return (x - mean) / np.maximum(std, floor)


NORMALISATIONS = {"fixed": fixed, "prewhiten": prewhiten}


def run_model(session, inputs: np.ndarray, batch_size: int) -> np.ndarray:
    out = np.concatenate(
        [session.run(["embeddings"], {"input": inputs[i : i + batch_size]})[0] for i in range(0, len(inputs), batch_size)]
    ).astype(np.float32)
    return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)


def unit(vectors: np.ndarray) -> np.ndarray:
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


# ---------------------------------------------------------------------- pairs and folds


def make_folds(people: dict[str, list[int]], folds: int, rng: np.random.Generator) -> dict[str, int]:
    """Identity → fold. Multi-image identities greedily by pair count (largest first, ties in seeded
    random order) to the fold with the fewest same-person pairs; single-image identities to the fold
    with the most same-person pairs per photo (where different-person pairs are scarcest)."""
    names = sorted(people)
    order = rng.permutation(len(names))
    shuffled = [names[i] for i in order]
    pairs = np.zeros(folds)
    photos = np.zeros(folds)
    fold_of: dict[str, int] = {}
    multi = sorted((n for n in shuffled if len(people[n]) > 1), key=lambda n: -len(people[n]))  # stable
    for name in multi:
        k = int(np.argmin(pairs))
        fold_of[name] = k
        n = len(people[name])
        pairs[k] += n * (n - 1) // 2
        photos[k] += n
    for name in (n for n in shuffled if len(people[n]) == 1):
        k = int(np.argmax(pairs / np.maximum(photos, 1)))
        fold_of[name] = k
        photos[k] += 1
    return fold_of


def make_pairs(people: dict[str, list[int]], fold_of: dict[str, int], folds: int, rng: np.random.Generator):
    """→ (i, j, same, fold) arrays over photo indices."""
    rows = []
    for k in range(folds):
        members = sorted(n for n in people if fold_of[n] == k)
        same = [(i, j) for n in members for i, j in itertools.combinations(people[n], 2)]
        photos = [(i, n) for n in members for i in people[n]]
        different = [(a, b) for (a, na), (b, nb) in itertools.combinations(photos, 2) if na != nb]
        take = min(len(same), len(different))
        chosen = rng.choice(len(different), size=take, replace=False) if take else []
        rows += [(i, j, 1, k) for i, j in same]
        rows += [(*different[c], 0, k) for c in sorted(chosen)]
    a = np.asarray(rows, dtype=np.int64).reshape(-1, 4)
    return a[:, 0], a[:, 1], a[:, 2].astype(bool), a[:, 3]


# ---------------------------------------------------------------------- metrics


def best_threshold(scores: np.ndarray, same: np.ndarray) -> tuple[float, float]:
    """(threshold, accuracy) maximising accuracy of `score >= threshold ⇔ same`; threshold is the midpoint
    between the two scores it separates."""
    order = np.argsort(-scores, kind="stable")
    s, y = scores[order], same[order]
    n_diff = int((~y).sum())
    accepted_same = np.cumsum(y)
    accepted_diff = np.cumsum(~y)
    correct = accepted_same + (n_diff - accepted_diff)  # the top i+1 accepted
    boundary = np.append(s[:-1] > s[1:], True)  # only cut between distinct scores
    correct = np.where(boundary, correct, -1)
    i = int(np.argmax(correct))
    if n_diff >= correct[i]:  # accepting nothing is at least as good
        return float(s[0] + 1e-6), n_diff / len(s)
    threshold = (s[i] + s[i + 1]) / 2 if i + 1 < len(s) else s[i] - 1e-6
    return float(threshold), correct[i] / len(s)


def accuracy_at(scores: np.ndarray, same: np.ndarray, threshold: float) -> float:
    return float(np.mean((scores >= threshold) == same))


def equal_error(scores: np.ndarray, same: np.ndarray) -> tuple[float, float]:
    """(EER, threshold): where the share of different pairs accepted equals the share of same pairs rejected."""
    candidates = np.unique(scores)
    diff_sorted, same_sorted = np.sort(scores[~same]), np.sort(scores[same])
    far = (len(diff_sorted) - np.searchsorted(diff_sorted, candidates, "left")) / len(diff_sorted)
    frr = np.searchsorted(same_sorted, candidates, "left") / len(same_sorted)
    i = int(np.argmin(np.abs(far - frr)))
    return float((far[i] + frr[i]) / 2), float(candidates[i])


def at_far(scores: np.ndarray, same: np.ndarray, far: float) -> tuple[float, float, float]:
    """(threshold, actual FAR, TAR): the lowest threshold accepting at most `far` of different pairs."""
    diff = np.sort(scores[~same])[::-1]
    k = int(np.floor(far * len(diff)))  # at most k different pairs may be accepted
    threshold = float((diff[k - 1] + diff[k]) / 2) if k >= 1 else float(diff[0] + 1e-6)
    return threshold, float(np.mean(scores[~same] >= threshold)), float(np.mean(scores[same] >= threshold))


def cross_validated(scores: np.ndarray, same: np.ndarray, fold: np.ndarray, folds: int):
    """(pooled held-out accuracy, per-fold accuracies, per-fold thresholds). Folds differ in size (one
    identity may hold a quarter of all same-person pairs), so the pooled figure counts every pair once."""
    correct = np.zeros(len(scores), dtype=bool)
    accuracies, thresholds = [], []
    for k in range(folds):
        test = fold == k
        if not test.any():
            continue
        threshold, _ = best_threshold(scores[~test], same[~test])
        correct[test] = (scores[test] >= threshold) == same[test]
        thresholds.append(threshold)
        accuracies.append(float(correct[test].mean()))
    return float(correct.mean()), np.asarray(accuracies), np.asarray(thresholds)


def cross_validated_far(scores: np.ndarray, same: np.ndarray, fold: np.ndarray, folds: int, far: float):
    """The FAR-`far` threshold chosen on the other folds, applied to each held-out fold →
    (thresholds, pooled held-out FAR, pooled held-out TAR)."""
    accepted = np.zeros(len(scores), dtype=bool)
    thresholds = []
    for k in range(folds):
        test = fold == k
        if not test.any():
            continue
        threshold, _, _ = at_far(scores[~test], same[~test], far)
        thresholds.append(threshold)
        accepted[test] = scores[test] >= threshold
    return np.asarray(thresholds), float(accepted[~same].mean()), float(accepted[same].mean())


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(c)) for c in column) for column in zip(header, *rows)]
    line = lambda cells: "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths)) + " |"  # noqa: E731
    return "\n".join([line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|"] + [line(r) for r in rows])


def evaluate(vectors: np.ndarray, pairs, folds: int, configured: float) -> dict:
    i, j, same, fold = pairs
    scores = np.sum(vectors[i] * vectors[j], axis=1)
    pooled, cv, cv_thresholds = cross_validated(scores, same, fold, folds)
    best_t, best_acc = best_threshold(scores, same)
    eer, eer_t = equal_error(scores, same)
    far_t, far_actual, tar = at_far(scores, same, 0.01)
    return {
        "scores": scores,
        "cv_mean": pooled,
        "cv_sd": float(cv.std()),
        "cv_folds": cv,
        "cv_t": (float(cv_thresholds.min()), float(cv_thresholds.max())),
        "best_acc": best_acc,
        "best_t": best_t,
        "eer": eer,
        "eer_t": eer_t,
        "far1_t": far_t,
        "far1_actual": far_actual,
        "far1_tar": tar,
        "acc_configured": accuracy_at(scores, same, configured),
        "same_mean": float(scores[same].mean()),
        "diff_mean": float(scores[~same].mean()),
    }


# ---------------------------------------------------------------------- main

def decode(path: Path, settings) -> np.ndarray:
    from recognition import images

    return images.decode(path.read_bytes(), max_bytes=settings.FACEAPP_MAX_UPLOAD_BYTES, max_pixels=settings.FACEAPP_MAX_IMAGE_PIXELS)


def first_pass(files, variants, session, batch_size, settings):
    from recognition import pipeline

    detections = []
    kept: list[tuple[str, Path]] = []
    no_face: list[str] = []
    several = 0
    settings_list = [(v, n) for v in variants for n in NORMALISATIONS]
    vectors = {key: [] for key in settings_list}
    detect_s = embed_s = 0.0
    for person, path in files:
        image = decode(path, settings)
        t0 = time.perf_counter()
        found = pipeline.detect(image, min_face_size=settings.FACEAPP_MIN_FACE_SIZE, min_score=settings.FACEAPP_DETECTION_THRESHOLD)
        detect_s += time.perf_counter() - t0
        if not found:
            no_face.append(f"{person}/{path.name}")
            continue
        several += len(found) > 1
        detections.append(max(found, key=lambda d: d.area))
        kept.append((person, path))
        crops = np.stack([v.cut(image, detections[-1]) for v in variants])
        t0 = time.perf_counter()
        inputs = np.concatenate([normalise(crops) for normalise in NORMALISATIONS.values()])
        out = run_model(session, inputs, batch_size)
        embed_s += time.perf_counter() - t0
        for key, vector in zip([(v, n) for n in NORMALISATIONS for v in variants], out):
            vectors[key].append(vector)
    vectors = {key: np.stack(value) for key, value in vectors.items()}
    return kept, no_face, several, detections, vectors, detect_s, embed_s


def _key_name(key) -> str:
    return f"{key[0].margin}@{key[0].size}/{key[1]}"


def save_cache(path: Path, files, kept, no_face, several, detections, vectors, detect_s, embed_s) -> None:
    np.savez(
        path,
        files=np.array([str(p) for _, p in files]),
        kept=np.array([str(p) for _, p in kept]),
        people=np.array([person for person, _ in kept]),
        no_face=np.array(no_face, dtype=str),
        several=several,
        boxes=np.array([d.box for d in detections]),
        landmarks=np.array([d.landmarks for d in detections]),
        scores=np.array([d.score for d in detections]),
        timings=np.array([detect_s, embed_s]),
        **{"v:" + _key_name(key): value for key, value in vectors.items()},
    )


def load_cache(path: Path, files, settings_list):
    """Pass 1's results from `path` when it holds every wanted setting for these photos; else None."""
    from recognition.types import Detection

    if not path.is_file():
        return None
    data = np.load(path)
    names = {"v:" + _key_name(key) for key in settings_list}
    if not names <= set(data.files) or list(map(str, data["files"])) != [str(p) for _, p in files]:
        return None
    kept = [(person, Path(p)) for person, p in zip(data["people"], data["kept"])]
    detections = [
        Detection(box=tuple(map(float, b)), landmarks=tuple(tuple(map(float, xy)) for xy in lm), score=float(s))
        for b, lm, s in zip(data["boxes"], data["landmarks"], data["scores"])
    ]
    vectors = {key: data["v:" + _key_name(key)] for key in settings_list}
    detect_s, embed_s = map(float, data["timings"])
    return kept, list(map(str, data["no_face"])), int(data["several"]), detections, vectors, detect_s, embed_s




def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "lfw-dev",
                        help="folder of <Person>/<Person>_NNNN.jpg (default ../shared/data/lfw-dev)")
    parser.add_argument("--margins", nargs="+", type=parse_variant, default=[parse_variant(v) for v in ("0", "16", "32", "44", "44@182")],
                        help='crop variants: M (margin in px of the 160 crop) or M@S (crop at S, keep the centre 160); default 0 16 32 44 44@182')
    parser.add_argument("--folds", type=int, default=10, help="cross-validation folds, split by identity (default 10)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the fold split and the different-person pairs (default 0)")
    parser.add_argument("--max-people", type=int, default=None, help="only the first N identities (a quick smoke run)")
    parser.add_argument("--cache", type=Path, default=None, help="keep pass 1 (detections, embeddings) in this .npz and reuse it when it fits")
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings

    from recognition import runtime

    started = time.perf_counter()
    session = runtime.get_session("facenet")
    batch_size = settings.FACEAPP_EMBED_BATCH_SIZE
    configured = settings.FACEAPP_MATCH_THRESHOLD
    variants = list(dict.fromkeys(args.margins))
    settings_list = [(v, n) for v in variants for n in NORMALISATIONS]

    person_dirs = sorted(p for p in args.data.iterdir() if p.is_dir())[: args.max_people]
    files = [(d.name, f) for d in person_dirs for f in sorted(d.glob("*.jpg"))]

    # Pass 1: decode and detect once, embed every crop variant × normalisation in one batch per photo.
    cache = load_cache(args.cache, files, settings_list) if args.cache else None
    if cache is None:
        kept, no_face, several, detections, vectors, detect_s, embed_s = first_pass(files, variants, session, batch_size, settings)
        if args.cache:
            save_cache(args.cache, files, kept, no_face, several, detections, vectors, detect_s, embed_s)
    else:
        kept, no_face, several, detections, vectors, detect_s, embed_s = cache
        print(f"(pass 1 read from {args.cache}: its timings are those of the run that wrote it)")

    people: dict[str, list[int]] = {}
    for index, (person, _) in enumerate(kept):
        people.setdefault(person, []).append(index)
    rng = np.random.default_rng(args.seed)
    fold_of = make_folds(people, args.folds, rng)
    pairs = make_pairs(people, fold_of, args.folds, rng)
    same = pairs[2]
    fold_sizes = np.bincount(pairs[3][same], minlength=args.folds)

    results = {key: evaluate(vectors[key], pairs, args.folds, configured) for key in settings_list}
    best_key = max(settings_list, key=lambda k: (round(results[k]["cv_mean"], 6), -results[k]["eer"]))

    # Pass 2: the best setting with mirror averaging (detections reused).
    variant, norm = best_key
    mirrored = []
    t0 = time.perf_counter()
    for index, (_, path) in enumerate(kept):
        crop = variant.cut(decode(path, settings), detections[index])
        mirrored.append(run_model(session, NORMALISATIONS[norm](crop[None, :, ::-1]), batch_size)[0])
    mirror_s = time.perf_counter() - t0
    mirror_key = (variant, norm + "+mirror")
    vectors[mirror_key] = unit(vectors[best_key] + np.stack(mirrored))
    results[mirror_key] = evaluate(vectors[mirror_key], pairs, args.folds, configured)

    # ------------------------------------------------------------------ report
    print(f"data: {args.data}  photos: {len(files)}  identities: {len(person_dirs)}  "
          f"photos without a face: {len(no_face)}  with several faces (largest used): {several}")
    if no_face:
        print("  no face: " + ", ".join(no_face))
    print(f"pairs: {int(same.sum())} same-person + {int((~same).sum())} different-person  "
          f"folds: {args.folds} by identity (same-person pairs per fold: {' '.join(map(str, fold_sizes))})  seed: {args.seed}")
    print(f"providers: {runtime.resolve_providers()}  ORT threads: {settings.FACEAPP_ORT_THREADS}  cpus: {os.cpu_count()}  "
          f"configured FACEAPP_MATCH_THRESHOLD: {configured}")
    print()
    header = ["margin", "normalisation", "CV acc ± fold sd", "Δ vs * per fold", "CV thresholds", "best acc @ thr",
              "EER @ thr", "thr @ FAR 1% (TAR)", f"acc @ {configured:.2f}", "same / diff mean"]
    rows = []
    for key in settings_list + [mirror_key]:
        r = results[key]
        delta = r["cv_folds"] - results[best_key]["cv_folds"]
        rows.append([
            key[0].name,
            key[1] + (" *" if key == best_key else ""),
            f"{r['cv_mean']:.4f} ± {r['cv_sd']:.4f}",
            "—" if key == best_key else f"{delta.mean():+.4f} ± {delta.std():.4f}",
            f"{r['cv_t'][0]:.3f}–{r['cv_t'][1]:.3f}",
            f"{r['best_acc']:.4f} @ {r['best_t']:.3f}",
            f"{r['eer']:.4f} @ {r['eer_t']:.3f}",
            f"{r['far1_t']:.3f} ({r['far1_tar']:.4f})",
            f"{r['acc_configured']:.4f}",
            f"{r['same_mean']:.3f} / {r['diff_mean']:.3f}",
        ])
    print(markdown_table(header, rows))
    print("(* best by cross-validated accuracy; Δ: per-fold accuracy minus that of *; the last row is * with mirror averaging)")

    for key in (best_key, mirror_key):
        thresholds, held_far, held_tar = cross_validated_far(results[key]["scores"], same, pairs[3], args.folds, 0.01)
        print(f"FAR-1% threshold chosen on {args.folds - 1} folds, applied to the held-out one ({key[0].name} {key[1]}): "
              f"thresholds {thresholds.min():.3f}–{thresholds.max():.3f}, held-out FAR {held_far:.4f}, TAR {held_tar:.4f}")

    print()
    print("threshold sweep (cosine ≥ threshold ⇒ same person):")
    sweep_keys = [best_key, mirror_key]
    print("| threshold | " + " | ".join(f"{k[0].name} {k[1]}: FAR / TAR / acc" for k in sweep_keys) + " |")
    print("|---|" + "---|" * len(sweep_keys))
    for t in np.arange(0.40, 0.801, 0.05):
        cells = []
        for key in sweep_keys:
            s = results[key]["scores"]
            cells.append(f"{np.mean(s[~same] >= t):.4f} / {np.mean(s[same] >= t):.4f} / {accuracy_at(s, same, t):.4f}")
        print(f"| {t:.2f} | " + " | ".join(cells) + " |")

    total = time.perf_counter() - started
    embeddings = len(kept) * len(settings_list)
    print()
    print(f"time: {total:.0f} s in all; detection {detect_s:.0f} s ({1000 * detect_s / len(files):.1f} ms/photo), "
          f"{embeddings} embeddings {embed_s:.0f} s ({1000 * embed_s / max(embeddings, 1):.1f} ms each), "
          f"mirror pass {mirror_s:.0f} s")


if __name__ == "__main__":
    main()

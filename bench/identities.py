"""A generative model of face embeddings (two-level Gaussian, as in PLDA), fitted on lfw-dev: galleries of any size.

    .venv/bin/python bench/identities.py              # fit on each embedder's lfw-dev vectors and compare with the real ones

lfw-dev has 649 people. Questions about galleries of 10,000 or 1,000,000 faces (how a decision threshold
behaves as the gallery grows; how an HNSW index recalls at a million) need many more *identities*, not
near-copies of 649 (copies make every search a search among twins). The model: a person's identity centre
c ~ N(μ, Σ_between); a photo of them x = normalise(c + w), w ~ N(0, Σ_within). Both covariances are estimated
from lfw-dev's vectors (within: deviations from each person's mean, people with ≥ 2 photos; between: the
covariance of the people's means less the within part each mean still holds), each shrunk towards its
average variance so that 128 or 512 dimensions are not fitted on 649 points alone.

It is realistic where it matters for those questions when it reproduces the real score distributions: the
script prints the quantiles of same-person and different-person cosine similarities of real and generated
vectors (the upper tail of the different-person scores decides false accepts and HNSW difficulty).
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

SHRINK = 0.1  # covariance shrinkage towards the mean variance (Ledoit–Wolf style, fixed)


@dataclass(frozen=True)
class IdentityModel:
    mean: np.ndarray  # μ of identity centres (d)
    between: np.ndarray  # Cholesky factor of Σ_between (d × d)
    within: np.ndarray  # Cholesky factor of Σ_within (d × d)
    dimensions: int

    def people(self, count: int, rng) -> np.ndarray:
        """`count` identity centres."""
        return self.mean + rng.standard_normal((count, self.dimensions)) @ self.between.T

    def photos(self, centres: np.ndarray, rng) -> np.ndarray:
        """One unit vector per centre: a photo of that person."""
        x = centres + rng.standard_normal(centres.shape) @ self.within.T
        return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def _shrunk(cov: np.ndarray) -> np.ndarray:
    d = len(cov)
    return (1 - SHRINK) * cov + SHRINK * np.trace(cov) / d * np.eye(d)


def _psd_cholesky(cov: np.ndarray) -> np.ndarray:
    values, vectors = np.linalg.eigh((cov + cov.T) / 2)
    values = np.clip(values, 1e-9, None)
    return vectors * np.sqrt(values)  # L with L Lᵀ = cov (not triangular; enough for sampling)


def fit(people_vectors: list[np.ndarray], dimensions: int) -> IdentityModel:
    """Fit on unit vectors grouped by person (each array: that person's photos × d)."""
    groups = [np.asarray(v, dtype=np.float64)[:, :dimensions] for v in people_vectors if len(v)]
    means = np.array([g.mean(axis=0) for g in groups])
    deviations = np.concatenate([g - g.mean(axis=0) for g in groups if len(g) >= 2])
    dof = sum(len(g) - 1 for g in groups if len(g) >= 2)
    within = deviations.T @ deviations / dof
    counts = np.array([len(g) for g in groups], dtype=np.float64)
    between = np.cov(means.T) - within * np.mean(1.0 / counts)
    # Keep Σ_between positive definite: clip its eigenvalues before shrinking.
    values, vectors = np.linalg.eigh(between)
    between = (vectors * np.clip(values, 1e-9, None)) @ vectors.T
    return IdentityModel(means.mean(axis=0), _psd_cholesky(_shrunk(between)), _psd_cholesky(_shrunk(within)), dimensions)


def generated_gallery(model: IdentityModel, people: int, faces_per_person: int, rng, *, pad_to: int = 512):
    """(vectors padded to `pad_to`, person index per vector) for `people` new identities."""
    centres = model.people(people, rng)
    vectors = np.concatenate([model.photos(centres, rng) for _ in range(faces_per_person)])
    labels = np.tile(np.arange(people), faces_per_person)
    padded = np.zeros((len(vectors), pad_to), dtype=np.float32)
    padded[:, : model.dimensions] = vectors
    return padded, labels


def score_quantiles(vectors: np.ndarray, labels: np.ndarray, rng, pairs: int = 2_000_000):
    """Quantiles of same-person and different-person cosine similarities (random pairs)."""
    i = rng.integers(0, len(vectors), pairs)
    j = rng.integers(0, len(vectors), pairs)
    keep = i != j
    i, j = i[keep], j[keep]
    scores = np.einsum("ij,ij->i", vectors[i], vectors[j])
    same = labels[i] == labels[j]
    qs = (0.5, 0.99, 0.999, 0.9999)
    return np.quantile(scores[same], (0.01, 0.1, 0.5)), np.quantile(scores[~same], qs)


def main() -> None:
    from _common import DATA, ROOT
    from embedders import embed_dataset

    from recognition.embedders import EMBEDDERS

    dims = {"facenet-ms1m+flip": EMBEDDERS["facenet-ms1m"].dimensions, "facenet": 512, "arcface-mbf": 512}
    datasets = embed_dataset(DATA / "lfw-dev", list(dims), ROOT / "var" / "bench")
    print("| embedder | vectors | same-person q01 / q10 / q50 | different-person q50 / q99 / q99.9 / q99.99 |")
    print("| --- | --- | --- | --- |")
    for variant, d in dims.items():
        dataset = datasets[variant]
        groups = [np.array(dataset.faces_of(i)) for i in range(len(dataset.people)) if dataset.faces_of(i)]
        real = np.concatenate(groups).astype(np.float32)
        real_labels = np.concatenate([[k] * len(g) for k, g in enumerate(groups)])
        model = fit(groups, d)
        rng = np.random.default_rng(0)
        fake, fake_labels = generated_gallery(model, 2000, 3, rng)
        for label, (v, lab) in (("lfw-dev", (real, real_labels)), ("generated", (fake, fake_labels))):
            same, diff = score_quantiles(v, lab, np.random.default_rng(1))
            print(f"| {variant} | {label} | " + " / ".join(f"{q:.3f}" for q in same) + " | "
                  + " / ".join(f"{q:.3f}" for q in diff) + " |")


if __name__ == "__main__":
    main()

"""How well recognition works on a folder-per-person dataset: what `manage.py evaluate` runs.

Every photo goes through the same pipeline as the API (decode → detect → largest face → crop → embed,
recognition.batch); the searches are then exact cosine similarity in memory (numpy), so nothing is
stored and enrolled data is never touched. With unit vectors and exact search this is what pgvector's
cosine distance gives, without the approximation of the HNSW index.

Protocols (photos sorted by file name within each person's folder; "first image" means the first in
which a face is found):

- identification: gallery = the first image of every person; probes = the second image of every person
  who has two or more. Rank-1 accuracy: the nearest gallery face is the probe's own person.
- strangers: the people are split in two halves at random (seeded); the first half is enrolled (its
  first images are the gallery), the other half are strangers, all of whose images are probes.
  Mated probes: the second images of the enrolled people.

An open-set search at threshold t accepts its nearest gallery face when the cosine similarity is ≥ t.
FRR(t), the false rejection rate: the share of mated probes NOT answered with their own person at rank 1
with similarity ≥ t (a wrong nearest person counts as a rejection at every threshold). FAR(t), the false
acceptance rate: the share of stranger probes whose nearest gallery face has similarity ≥ t. Both on
the strangers protocol, so they share one gallery; the identification protocol's FRR is also given.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

# Thresholds the sweep table shows by default.
SWEEP = tuple(round(0.30 + 0.05 * i, 2) for i in range(11))


# --- Embedding a dataset -----------------------------------------------------------------------


@dataclass
class Dataset:
    """Per person (folder name, sorted): its photos and, for each, the largest face's vector or None."""

    people: list[str] = field(default_factory=list)
    photos: list[list[Path]] = field(default_factory=list)
    vectors: list[list[np.ndarray | None]] = field(default_factory=list)
    no_face: list[Path] = field(default_factory=list)
    unreadable: list[tuple[Path, str]] = field(default_factory=list)
    several_faces: int = 0

    @property
    def photo_count(self) -> int:
        return sum(len(p) for p in self.photos)

    def faces_of(self, person: int) -> list[np.ndarray]:
        return [v for v in self.vectors[person] if v is not None]


def list_folder(root: Path) -> tuple[list[str], list[list[Path]]]:
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"{root} is not a folder")
    people, photos = [], []
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        files = sorted(f for f in folder.iterdir() if f.is_file() and not f.name.startswith("."))
        if files:
            people.append(folder.name)
            photos.append(files)
    return people, photos


def embed_folder(
    root: Path,
    *,
    executor: Executor | None = None,
    workers: int = 1,
    batch_size: int = 32,
    progress: Callable[[int], None] | None = None,
) -> Dataset:
    """Run every photo of a folder-per-person dataset through the pipeline (largest face)."""
    from recognition import batch

    people, photos = list_folder(root)
    dataset = Dataset(people=people, photos=photos, vectors=[[None] * len(p) for p in photos])
    flat = [(i, j, path) for i, paths in enumerate(photos) for j, path in enumerate(paths)]
    step = batch_size * max(1, workers)
    for start in range(0, len(flat), step):
        chunk = flat[start : start + step]
        datas = [path.read_bytes() for _, _, path in chunk]
        share = -(-len(datas) // max(1, workers))
        parts = [datas[k : k + share] for k in range(0, len(datas), share)]
        if executor is not None:
            results = [photo for part in executor.map(lambda d: batch.analyse_many(d, largest_only=True), parts) for photo in part]
        else:
            results = [photo for part in parts for photo in batch.analyse_many(part, largest_only=True)]
        for (i, j, path), photo in zip(chunk, results):
            if photo.error is not None:
                dataset.unreadable.append((path, str(photo.error)))
            elif not photo.faces:
                dataset.no_face.append(path)
            else:
                dataset.vectors[i][j] = photo.faces[0].embedding
                dataset.several_faces += photo.faces_detected > 1
        if progress is not None:
            progress(len(chunk))
    return dataset


# --- Protocols ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Searches:
    """Probes searched against a gallery: for each probe its true person (-1: a stranger), the nearest
    gallery person and that similarity."""

    gallery_ids: np.ndarray
    truth: np.ndarray
    nearest: np.ndarray
    similarity: np.ndarray
    scores: np.ndarray | None = None  # probes × gallery, kept for `restricted`

    @property
    def gallery_size(self) -> int:
        return len(self.gallery_ids)

    @property
    def mated(self) -> np.ndarray:
        return self.truth >= 0

    def mated_scores(self) -> np.ndarray:
        """Per mated probe: its similarity when rank 1 is its own person, else -inf (never accepted correctly)."""
        m = self.mated
        return np.where(self.nearest[m] == self.truth[m], self.similarity[m], -np.inf)

    def stranger_scores(self) -> np.ndarray:
        return self.similarity[~self.mated]

    def restricted(self, people) -> "Searches":
        """The same probes searched against only `people` of the gallery (needs `scores`).

        Mated probes of people left out are dropped (they are not enrolled any more); strangers stay.
        """
        keep = np.isin(self.gallery_ids, people)
        scores = self.scores[:, keep]
        ids = self.gallery_ids[keep]
        probes = ~self.mated | np.isin(self.truth, ids)
        best = scores[probes].argmax(axis=1)
        return Searches(ids, self.truth[probes], ids[best], scores[probes][np.arange(len(best)), best], scores[probes])


def search(gallery: np.ndarray, gallery_ids: np.ndarray, probes: np.ndarray, truth: np.ndarray) -> Searches:
    """Exact nearest neighbour by cosine similarity (rows are unit vectors)."""
    gallery_ids, truth = np.asarray(gallery_ids), np.asarray(truth)
    if len(probes) == 0 or len(gallery) == 0:
        return Searches(gallery_ids, truth, np.full(len(truth), -1), np.full(len(truth), -np.inf))
    scores = np.asarray(probes, dtype=np.float64) @ np.asarray(gallery, dtype=np.float64).T
    best = scores.argmax(axis=1)
    return Searches(gallery_ids, truth, gallery_ids[best], scores[np.arange(len(best)), best], scores)


def identification_protocol(dataset: Dataset) -> Searches:
    gallery, gallery_ids, probes, truth = [], [], [], []
    for i in range(len(dataset.people)):
        faces = dataset.faces_of(i)
        if faces:
            gallery.append(faces[0])
            gallery_ids.append(i)
        if len(faces) >= 2:
            probes.append(faces[1])
            truth.append(i)
    return search(np.array(gallery).reshape(-1, 512), np.array(gallery_ids, int), np.array(probes).reshape(-1, 512), np.array(truth, int))


def strangers_protocol(dataset: Dataset, *, seed: int = 0) -> Searches:
    with_faces = [i for i in range(len(dataset.people)) if dataset.faces_of(i)]
    order = np.random.default_rng(seed).permutation(len(with_faces))
    enrolled = sorted(with_faces[k] for k in order[: math.ceil(len(with_faces) / 2)])
    strangers = sorted(set(with_faces) - set(enrolled))
    gallery = [dataset.faces_of(i)[0] for i in enrolled]
    probes = [dataset.faces_of(i)[1] for i in enrolled if len(dataset.faces_of(i)) >= 2]
    truth = [i for i in enrolled if len(dataset.faces_of(i)) >= 2]
    for i in strangers:
        probes += dataset.faces_of(i)
        truth += [-1] * len(dataset.faces_of(i))
    return search(np.array(gallery).reshape(-1, 512), np.array(enrolled, int), np.array(probes).reshape(-1, 512), np.array(truth, int))


# --- Metrics (pure numpy) ----------------------------------------------------------------------


def rank1_accuracy(searches: Searches) -> float:
    m = searches.mated
    return float(np.mean(searches.nearest[m] == searches.truth[m])) if m.any() else math.nan


def frr(mated_scores: np.ndarray, threshold: float) -> float:
    """Share of mated probes not accepted as their own person at `threshold`."""
    return float(np.mean(mated_scores < threshold)) if len(mated_scores) else math.nan


def far(stranger_scores: np.ndarray, threshold: float) -> float:
    """Share of stranger probes accepted as somebody at `threshold`."""
    return float(np.mean(stranger_scores >= threshold)) if len(stranger_scores) else math.nan


@dataclass(frozen=True)
class Operating:
    threshold: float
    frr: float
    far: float


def equal_error(mated_scores: np.ndarray, stranger_scores: np.ndarray) -> Operating:
    """The threshold where FRR and FAR are closest (the equal error rate), among the observed scores."""
    finite = mated_scores[np.isfinite(mated_scores)]
    candidates = np.unique(np.concatenate([finite, stranger_scores, [1.0 + 1e-9]]))
    m, s = np.sort(mated_scores), np.sort(stranger_scores)
    frrs = np.searchsorted(m, candidates, "left") / max(len(m), 1)
    fars = (len(s) - np.searchsorted(s, candidates, "left")) / max(len(s), 1)
    k = int(np.argmin(np.abs(frrs - fars)))
    return Operating(float(candidates[k]), float(frrs[k]), float(fars[k]))


def at_far(mated_scores: np.ndarray, stranger_scores: np.ndarray, target: float) -> Operating:
    """The lowest threshold at which at most `target` of the strangers are accepted, and the FRR there.

    With n strangers, FAR can only be measured in steps of 1/n: a target below that is reached only by
    accepting no stranger at all (the threshold just above the highest stranger score).
    """
    s = np.sort(stranger_scores)[::-1]
    allowed = int(math.floor(target * len(s) + 1e-9))  # strangers that may be accepted
    if allowed >= len(s):
        threshold = float(min(s[-1], np.min(mated_scores[np.isfinite(mated_scores)], initial=1.0)))
    else:
        threshold = float(np.nextafter(s[allowed], np.inf))  # above the first stranger that must be refused
    return Operating(threshold, frr(mated_scores, threshold), far(stranger_scores, threshold))


def sweep(mated_scores: np.ndarray, stranger_scores: np.ndarray, thresholds) -> list[Operating]:
    return [Operating(float(t), frr(mated_scores, t), far(stranger_scores, t)) for t in thresholds]


# --- The report --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Report:
    threshold: float
    identification: Searches
    strangers: Searches
    rank1: float
    identification_frr: float
    frr: float
    far: float
    eer: Operating
    far_1: Operating
    far_01: Operating


def evaluate(dataset: Dataset, *, threshold: float, seed: int = 0) -> Report:
    ident = identification_protocol(dataset)
    strangers = strangers_protocol(dataset, seed=seed)
    mated, others = strangers.mated_scores(), strangers.stranger_scores()
    return Report(
        threshold=threshold,
        identification=ident,
        strangers=strangers,
        rank1=rank1_accuracy(ident),
        identification_frr=frr(ident.mated_scores(), threshold),
        frr=frr(mated, threshold),
        far=far(others, threshold),
        eer=equal_error(mated, others),
        far_1=at_far(mated, others, 0.01),
        far_01=at_far(mated, others, 0.001),
    )


def plot(rows: list[Operating], path: Path, *, threshold: float, eer: Operating, title: str = "") -> None:
    """FRR and FAR against the threshold, as a PNG (matplotlib, imported only here)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = [r.threshold for r in rows]
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=120)
    ax.plot(t, [r.frr for r in rows], label="FRR (mated probes rejected)", color="tab:blue")
    ax.plot(t, [r.far for r in rows], label="FAR (strangers accepted)", color="tab:red")
    ax.axvline(threshold, color="grey", linestyle="--", label=f"configured threshold {threshold:.2f}")
    ax.axvline(eer.threshold, color="tab:green", linestyle=":", label=f"equal error {eer.threshold:.3f} ({eer.frr:.1%})")
    ax.set_xlabel("cosine similarity threshold")
    ax.set_ylabel("rate")
    ax.set_ylim(0, 1)
    ax.set_xlim(min(t), max(t))
    ax.grid(alpha=0.3)
    ax.legend(loc="center right", fontsize="small")
    if title:
        ax.set_title(title, fontsize="medium")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


# --- Calibration from a labelled set -----------------------------------------------------------


def labelled_vectors(dataset: Dataset) -> tuple[np.ndarray, np.ndarray]:
    """Every face of the dataset as rows, with its person's index."""
    vectors, labels = [], []
    for i in range(len(dataset.people)):
        for vector in dataset.faces_of(i):
            vectors.append(vector)
            labels.append(i)
    return np.array(vectors, dtype=np.float32).reshape(-1, 512), np.array(labels, dtype=int)


def impostor_scores(vectors: np.ndarray, labels: np.ndarray, *, chunk: int = 1024) -> np.ndarray:
    """The cosine similarity of every pair of faces of two different people (each pair once)."""
    parts = []
    for start in range(0, len(vectors), chunk):
        block = vectors[start : start + chunk] @ vectors.T
        rows = np.arange(start, min(start + chunk, len(vectors)))[:, None]
        keep = (np.arange(len(vectors))[None, :] > rows) & (labels[rows] != labels[None, :])
        parts.append(block[keep])
    return np.concatenate(parts) if parts else np.zeros(0, np.float32)


def calibrate(dataset: Dataset, *, source: str, seeds=range(10), generality: float = 2.0):
    """The impostor tail of the dataset's model, with the margin its own open-set protocol asks for.

    The margin is `generality` (for photos unlike these) times how far the strangers protocol, averaged
    over `seeds`, exceeds 1% of searches at the threshold the uncorrected tail gives for `balanced`.
    """
    from dataclasses import replace

    from . import calibration

    vectors, labels = labelled_vectors(dataset)
    tail = calibration.fit_tail(impostor_scores(vectors, labels), source=source)
    observed = []
    for seed in seeds:
        searches = strangers_protocol(dataset, seed=seed)
        threshold = calibration.threshold_for(tail, 0.01, searches.gallery_size)
        observed.append(far(searches.stranger_scores(), threshold))
    return replace(tail, margin=calibration.validation_margin(float(np.mean(observed)), 0.01, generality=generality))


@dataclass(frozen=True)
class PresetRow:
    preset: str
    target: float
    gallery_size: int
    threshold: float
    far: float  # measured share of stranger searches that named somebody
    frr: float  # measured share of enrolled people's probes not named as themselves
    strangers: int


def preset_rows(dataset: Dataset, tail, presets: dict, *, sizes=(100, 1000, None), seeds=range(5)) -> list[PresetRow]:
    """Each preset measured on the strangers protocol at several gallery sizes (None: all the enrolled half).

    A smaller gallery is a random subset (per seed) of the enrolled half; the strangers stay the same.
    """
    from . import calibration

    rows = []
    for preset, target in presets.items():
        for size in sizes:
            fars, frrs, used, strangers = [], [], 0, 0
            for seed in seeds:
                searches = strangers_protocol(dataset, seed=seed)
                keep = _subset(searches, size, seed)
                n = len(np.unique(keep.gallery_ids))
                threshold = calibration.threshold_for(tail, target, n)
                fars.append(far(keep.stranger_scores(), threshold))
                frrs.append(frr(keep.mated_scores(), threshold))
                used, strangers = n, int((~keep.mated).sum())
            if size is not None and used < size:
                continue  # the set is smaller than this gallery
            rows.append(PresetRow(preset, target, used, calibration.threshold_for(tail, target, used), float(np.mean(fars)),
                                  float(np.mean(frrs)), strangers))
    return rows


def _subset(searches: Searches, size: int | None, seed: int) -> Searches:
    """The same probes against `size` of the gallery's people (a stranger protocol's gallery, re-searched)."""
    if size is None or size >= searches.gallery_size:
        return searches
    return searches.restricted(np.random.default_rng(1000 + seed).choice(searches.gallery_ids, size=size, replace=False))


def det_plot(strangers: Searches, path: Path, *, marks: list[PresetRow] = (), title: str = "") -> None:
    """The detection error trade-off (FRR against FAR, log axes) of the strangers protocol, presets marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    mated, others = strangers.mated_scores(), strangers.stranger_scores()
    rows = sweep(mated, others, np.linspace(-0.2, 1.0, 1201))
    fig, ax = plt.subplots(figsize=(6, 5), dpi=120)
    floor = 1 / max(len(others), 1) / 2
    ax.plot([max(r.far, floor) for r in rows], [max(r.frr, 1e-4) for r in rows], color="tab:blue", label="strangers protocol")
    for row in marks:
        ax.scatter([max(row.far, floor)], [max(row.frr, 1e-4)], zorder=3, label=f"{row.preset} ({row.target:.1%}): t={row.threshold:.3f}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("share of strangers named (FAR per search)")
    ax.set_ylabel("share of enrolled people missed (FRR)")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize="small")
    if title:
        ax.set_title(title, fontsize="medium")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)

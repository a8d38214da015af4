"""How well the attribute models work on labelled photos: what `manage.py evaluate --attributes` and
bench/attributes.py report.

Labels are a CSV with a header: `person` (a sub-folder of the photo folder) and `gender` (female/male)
and/or `age` (years); every photo of a labelled person gets the person's labels (../shared/data's
lfw-dev-gender.csv is such a file, its genders taken from first names). Each photo's largest face goes
through the API's detector and the models' own preparation (recognition.attribute_models), nothing is
stored. People are split in two halves by a hash of their name, so a figure can be given on people that
no choice (such as a crop size) was made on.
"""
from __future__ import annotations

import csv
import hashlib
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import attribute_models, images, pipeline, runtime


@dataclass
class LabelledFaces:
    regions: list[np.ndarray] = field(default_factory=list)
    people: list[str] = field(default_factory=list)
    genders: list[str | None] = field(default_factory=list)
    ages: list[float | None] = field(default_factory=list)
    no_face: int = 0

    def held_out(self) -> np.ndarray:
        """True for the photos of the half of the people that crop sizes were NOT chosen on (a hash of the name)."""
        return np.array([int(hashlib.sha256(p.encode()).hexdigest(), 16) % 2 == 1 for p in self.people])


@dataclass(frozen=True)
class GenderResult:
    model: str
    accuracy: float
    held_out_accuracy: float
    confusion: np.ndarray  # rows: true female/male; columns: predicted female/male
    faces: int
    ms_per_face: float


def read_labels(path: Path) -> dict[str, dict]:
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows or "person" not in rows[0] or not ({"gender", "age"} & set(rows[0])):
        raise ValueError(f"{path}: needs a header with person and gender and/or age")
    labels = {}
    for row in rows:
        gender = (row.get("gender") or "").strip().lower() or None
        if gender not in (None, "female", "male"):
            raise ValueError(f"{path}: gender {gender!r} of {row['person']} is not female or male")
        age = (row.get("age") or "").strip()
        labels[row["person"].strip()] = {"gender": gender, "age": float(age) if age else None}
    return labels


def collect(root: Path, labels: dict[str, dict], *, limit: int | None = None, progress=None) -> LabelledFaces:
    """The face region of every labelled person's photos (largest face)."""
    found = LabelledFaces()
    for person in sorted(labels):
        folder = Path(root) / person
        for photo in sorted(folder.glob("*")) if folder.is_dir() else []:
            if limit is not None and len(found.regions) + found.no_face >= limit:
                return found
            try:
                image = images.decode(photo.read_bytes(), max_bytes=1 << 28, max_pixels=1 << 28)
            except Exception:
                found.no_face += 1
                continue
            face = pipeline.analyse_image(image, with_embeddings=False).largest_face()
            if progress:
                progress()
            if face is None:
                found.no_face += 1
                continue
            found.regions.append(attribute_models.face_region(image, face.detection))
            found.people.append(person)
            found.genders.append(labels[person]["gender"])
            found.ages.append(labels[person]["age"])
    return found


def predict(model: attribute_models.AttributeModel, regions: list[np.ndarray], *, batch: int = 32) -> tuple[list[dict], float]:
    """Every region through one model → (decoded outputs, milliseconds per face)."""
    session = runtime.get_session(model.onnx)
    attribute_models.run(model, regions[:1], session)  # warm-up, not timed
    started = time.perf_counter()
    out = []
    for i in range(0, len(regions), batch):
        out += attribute_models.run(model, regions[i : i + batch], session)
    return out, (time.perf_counter() - started) * 1000 / max(len(regions), 1)


def gender_result(model: attribute_models.AttributeModel, faces: LabelledFaces) -> GenderResult:
    keep = [i for i, g in enumerate(faces.genders) if g is not None]
    decoded, ms = predict(model, [faces.regions[i] for i in keep])
    truth = np.array([faces.genders[i] == "male" for i in keep])
    predicted = np.array([d["gender"] == "male" for d in decoded])
    held = faces.held_out()[keep]
    confusion = np.array([[np.sum(~truth & ~predicted), np.sum(~truth & predicted)],
                          [np.sum(truth & ~predicted), np.sum(truth & predicted)]])
    right = truth == predicted
    return GenderResult(model.name, float(right.mean()), float(right[held].mean()) if held.any() else float("nan"),
                        confusion, len(keep), ms)


def age_mae(model: attribute_models.AttributeModel, faces: LabelledFaces) -> tuple[float, int] | None:
    keep = [i for i, a in enumerate(faces.ages) if a is not None]
    if not keep:
        return None
    decoded, _ = predict(model, [faces.regions[i] for i in keep])
    errors = [abs(d["age"] - faces.ages[i]) for d, i in zip(decoded, keep)]
    return float(np.mean(errors)), len(keep)


def plot_confusion(results: list[GenderResult], path: Path) -> None:
    """One confusion matrix per model, side by side, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(results), figsize=(3.2 * len(results), 3.4), squeeze=False)
    for ax, result in zip(axes[0], results):
        shares = result.confusion / np.maximum(result.confusion.sum(axis=1, keepdims=True), 1)
        ax.imshow(shares, cmap="Blues", vmin=0, vmax=1)
        for (row, col), count in np.ndenumerate(result.confusion):
            ax.text(col, row, f"{count}\n{shares[row, col]:.0%}", ha="center", va="center",
                    color="white" if shares[row, col] > 0.5 else "black", fontsize=9)
        ax.set_xticks([0, 1], ["female", "male"])
        ax.set_yticks([0, 1], ["female", "male"])
        ax.set_xlabel("predicted")
        ax.set_ylabel("label")
        ax.set_title(f"{result.model}\naccuracy {result.accuracy:.3f}", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)

"""Face verification accuracy on lfw-dev with the pipeline's defaults (crop, normalisation, threshold).

Pairs: every same-person pair of lfw-dev photos in which a face was found, and as many different-person
pairs, drawn with a fixed seed (two different identities, including the single-photo distractors,
then one photo of each). The study behind the settings, with cross-validation, is bench/accuracy.py
(docs/accuracy.md).
"""
from __future__ import annotations

import itertools

import numpy as np
import pytest

SEED = 0


@pytest.fixture(scope="module")
def pairs(lfw_embeddings) -> tuple[np.ndarray, np.ndarray]:
    """(cosine similarities, same-person flags) of all same-person pairs and as many different-person pairs."""
    people = sorted(lfw_embeddings)
    vectors = {name: np.stack([v for _, v in lfw_embeddings[name]]) for name in people}
    same_scores = [float(a @ b) for name in people for a, b in itertools.combinations(vectors[name], 2)]
    assert len(same_scores) > 5000, f"only {len(same_scores)} same-person pairs: is lfw-dev complete?"

    rng = np.random.default_rng(SEED)
    chosen: set[tuple[str, int, str, int]] = set()
    while len(chosen) < len(same_scores):
        p, q = rng.choice(len(people), size=2, replace=False)
        a, b = people[p], people[q]
        i, j = int(rng.integers(len(vectors[a]))), int(rng.integers(len(vectors[b])))
        chosen.add(min((a, i, b, j), (b, j, a, i)))
    different_scores = [float(vectors[a][i] @ vectors[b][j]) for a, i, b, j in sorted(chosen)]

    scores = np.array(same_scores + different_scores)
    same = np.array([True] * len(same_scores) + [False] * len(different_scores))
    return scores, same


def best_threshold_accuracy(scores: np.ndarray, same: np.ndarray) -> tuple[float, float]:
    """(accuracy, threshold) of the threshold that maximises accuracy of `cosine >= threshold ⇔ same`."""
    order = np.argsort(-scores, kind="stable")
    s, y = scores[order], same[order]
    n_different = int((~y).sum())
    correct = np.cumsum(y) + n_different - np.cumsum(~y)  # accepting the top k
    correct = np.where(np.append(s[:-1] > s[1:], True), correct, -1)  # cut only between distinct scores
    k = int(np.argmax(correct))
    return float(correct[k] / len(s)), float(s[k])


def test_lfw_dev_verification_accuracy_at_the_best_threshold_is_at_least_97_percent(pairs):
    scores, same = pairs

    accuracy, threshold = best_threshold_accuracy(scores, same)

    assert accuracy >= 0.97, (
        f"best-threshold accuracy {accuracy:.4f} at cosine {threshold:.3f} "
        f"on {int(same.sum())} same + {int((~same).sum())} different pairs"
    )


@pytest.mark.parametrize("preset, target", [("strict", 0.001), ("balanced", 0.01), ("permissive", 0.05)])
def test_lfw_dev_false_accepts_at_each_1_to_1_preset_stay_within_its_rate(pairs, models_ready, preset, target):
    """The suite bounds false accepts, not only accuracy: a model or calibration that accepts more strangers fails here."""
    from recognition import calibration, embedders

    scores, same = pairs
    tail = calibration.ImpostorTail.from_dict(models_ready["models"][embedders.active().model]["calibration"])
    threshold = calibration.threshold_for(tail, target, 1)
    false_accepts = float(np.mean(scores[~same] >= threshold))
    false_rejects = float(np.mean(scores[same] < threshold))
    assert false_accepts <= target, f"{preset}: {false_accepts:.4%} of different-person pairs accepted at {threshold:.3f}"
    assert false_rejects <= {"strict": 0.12, "balanced": 0.06, "permissive": 0.03}[preset], (
        f"{preset}: {false_rejects:.2%} of same-person pairs rejected at {threshold:.3f}")


def test_lfw_dev_verification_accuracy_at_the_balanced_1_to_1_threshold_is_at_least_95_percent(pairs, models_ready):
    from recognition import calibration, embedders

    scores, same = pairs
    tail = calibration.ImpostorTail.from_dict(models_ready["models"][embedders.active().model]["calibration"])
    threshold = calibration.threshold_for(tail, 0.01, 1)

    predicted = scores >= threshold
    accuracy = float(np.mean(predicted == same))
    false_accepts = float(np.mean(predicted[~same]))
    false_rejects = float(np.mean(~predicted[same]))

    assert accuracy >= 0.95, (
        f"accuracy {accuracy:.4f} at the balanced 1:1 threshold {threshold:.3f} "
        f"(false accepts {false_accepts:.4f}, false rejects {false_rejects:.4f})"
    )

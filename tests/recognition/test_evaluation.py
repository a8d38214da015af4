import math
from pathlib import Path

import numpy as np
import pytest

from recognition import evaluation
from tests.conftest import read_bytes, shared_data_path


@pytest.fixture
def models_loaded(models_ready):
    """The sessions exist before the command runs, so its share_cores() leaves them and the settings as they are
    (it would otherwise give every later test in this process one ONNX Runtime thread per session)."""
    from recognition import pipeline

    pipeline.analyse_bytes(read_bytes("samples", "obama.jpg"))


def unit(*rows):
    v = np.asarray(rows, dtype=np.float64)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def dataset_of(vectors_per_person) -> evaluation.Dataset:
    """A Dataset from {name: [vector or None, ...]} (None: a photo without a face)."""
    names = sorted(vectors_per_person)
    return evaluation.Dataset(
        people=names,
        photos=[[Path(f"{n}/{k}.jpg") for k in range(len(vectors_per_person[n]))] for n in names],
        vectors=[[None if v is None else np.asarray(v, dtype=np.float64) for v in vectors_per_person[n]] for n in names],
    )


def axis(i, noise=0.0, dims=512):
    v = np.zeros(dims)
    v[i] = 1.0
    v[(i + 1) % dims] = noise
    return v / np.linalg.norm(v)


def test_search_returns_the_nearest_gallery_person_and_its_cosine():
    gallery = unit([1, 0, 0], [0, 1, 0])
    probes = unit([0.9, 0.1, 0], [0, 0, 1])
    found = evaluation.search(gallery, np.array([7, 8]), probes, np.array([7, -1]))
    assert list(found.nearest[:1]) == [7]
    assert found.similarity[0] == pytest.approx(0.9 / math.hypot(0.9, 0.1))
    assert found.similarity[1] == pytest.approx(0.0)
    assert list(found.mated) == [True, False]


def test_a_wrong_rank_1_answer_is_a_rejection_at_every_threshold():
    found = evaluation.Searches(np.array([0, 1]), np.array([0, 1, -1]), np.array([0, 0, 1]), np.array([0.8, 0.9, 0.3]))
    mated = found.mated_scores()
    assert mated[0] == pytest.approx(0.8) and mated[1] == -np.inf
    assert evaluation.frr(mated, 0.0) == 0.5  # probe 1 is never accepted as itself
    assert evaluation.far(found.stranger_scores(), 0.3) == 1.0 and evaluation.far(found.stranger_scores(), 0.31) == 0.0


def test_rates_at_a_threshold_count_scores_at_or_above_as_accepted():
    mated = np.array([0.2, 0.5, 0.6, 0.9])
    strangers = np.array([0.1, 0.2, 0.5, 0.3])
    assert evaluation.frr(mated, 0.5) == 0.25  # 0.5 is accepted
    assert evaluation.far(strangers, 0.5) == 0.25


def test_equal_error_is_where_frr_and_far_meet():
    mated = np.array([0.3, 0.6, 0.7, 0.8])
    strangers = np.array([0.1, 0.2, 0.4, 0.65])
    point = evaluation.equal_error(mated, strangers)
    assert point.frr == point.far == 0.25
    assert 0.3 < point.threshold <= 0.6


def test_frr_at_far_takes_the_lowest_threshold_accepting_at_most_that_share_of_strangers():
    strangers = np.linspace(0.0, 0.99, 100)  # 100 strangers, highest 0.99, 0.98, ...
    mated = np.array([0.5, 0.97, 0.985, 0.995])
    one = evaluation.at_far(mated, strangers, 0.01)  # one stranger (0.99) may be accepted
    assert one.far == 0.01 and 0.98 < one.threshold <= 0.99 and one.frr == 0.5
    none = evaluation.at_far(mated, strangers, 0.001)  # below 1/100: no stranger may be accepted
    assert none.far == 0.0 and none.threshold > 0.99 and none.frr == 0.75


def test_the_protocols_use_first_images_as_gallery_and_second_images_as_probes():
    people = {f"p{i}": [axis(i), axis(i, 0.3), axis(i, 0.5)] for i in range(6)}
    people["p0"] = [None, axis(0), axis(0, 0.2)]  # no face in the first photo: the next one is the gallery
    people["p5"] = [axis(5)]  # one photo: gallery only
    data = dataset_of(people)

    ident = evaluation.identification_protocol(data)
    assert ident.gallery_size == 6 and int(ident.mated.sum()) == 5
    assert evaluation.rank1_accuracy(ident) == 1.0
    assert ident.similarity[0] == pytest.approx(axis(0) @ axis(0, 0.2))

    strangers = evaluation.strangers_protocol(data, seed=0)
    enrolled = set(strangers.gallery_ids.tolist())
    assert len(enrolled) == 3
    assert set(strangers.truth[strangers.mated].tolist()) == {i for i in enrolled if len(data.faces_of(i)) >= 2}
    assert len(strangers.stranger_scores()) == sum(len(data.faces_of(i)) for i in range(6) if i not in enrolled)
    assert evaluation.strangers_protocol(data, seed=0).gallery_ids.tolist() == sorted(enrolled)  # seeded
    assert {tuple(evaluation.strangers_protocol(data, seed=k).gallery_ids) for k in range(5)} != {tuple(sorted(enrolled))}


def test_evaluate_reports_perfect_separation_on_orthogonal_people():
    data = dataset_of({f"p{i}": [axis(i), axis(i, 0.2)] for i in range(10)})
    report = evaluation.evaluate(data, threshold=0.5)
    assert report.rank1 == 1.0 and report.frr == 0.0 and report.far == 0.0 and report.identification_frr == 0.0
    assert report.eer.frr == report.eer.far == 0.0
    assert report.far_1.frr == 0.0 and report.far_01.frr == 0.0


@pytest.mark.django_db
def test_evaluate_command_on_lfw_people_prints_the_figures_and_writes_a_plot(models_loaded, tmp_path, capsys):
    import shutil

    from django.core.management import call_command

    from tests.conftest import data_path

    for person in ("Aaron_Peirsol", "Frances_Fisher", "Nabil_Shaath", "Thomas_Birmingham", "Abdullah_Gul", "Britney_Spears"):
        shutil.copytree(shared_data_path("lfw-dev", person), tmp_path / "set" / person)
    for extra in sorted((tmp_path / "set" / "Abdullah_Gul").iterdir())[4:] + sorted((tmp_path / "set" / "Britney_Spears").iterdir())[4:]:
        extra.unlink()
    call_command("evaluate", str(tmp_path / "set"), "--sweep", "--plot", str(tmp_path / "plot.png"), "--workers", "2",
                 "--threshold", "0.5", "--det-plot", str(tmp_path / "det.png"))
    out = capsys.readouterr().out
    assert "people: 6  photos: 19" in out
    assert "photos without a face: 3" in out
    assert "rank-1 accuracy" in out and "FRR at 0.50" in out and "FAR at 0.50" in out
    assert "equal error rate" in out and "FRR at FAR = 1%" in out and "FRR at FAR = 0.1%" in out
    assert "| 0.50 ← |" in out
    assert (tmp_path / "plot.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "decision presets (calibration: shipped with the model" in out
    for preset in ("strict (0.1%)", "balanced (1.0%)", "permissive (5.0%)"):
        assert f"| {preset} | 3 |" in out  # 3 of the 6 people enrolled
    assert "predicted thresholds at larger galleries: 10,000 faces:" in out
    assert (tmp_path / "det.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

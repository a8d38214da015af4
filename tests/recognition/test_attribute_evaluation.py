"""Attribute evaluation (recognition.attribute_evaluation) and `manage.py evaluate --attributes`: real photos, real models."""
from __future__ import annotations

import io

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from recognition import attribute_evaluation, attribute_models
from tests.conftest import shared_data_path


@pytest.fixture
def labels_csv(tmp_path):
    path = tmp_path / "labels.csv"
    path.write_text("person,gender,age\nAaron_Peirsol,male,\nAlexandra_Pelosi,female,30\n")
    return path


def test_labels_need_a_person_and_a_gender_or_age_column(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("name,sex\nx,male\n")
    with pytest.raises(ValueError, match="person"):
        attribute_evaluation.read_labels(bad)
    bad.write_text("person,gender\nx,unknown\n")
    with pytest.raises(ValueError, match="female or male"):
        attribute_evaluation.read_labels(bad)


def test_gender_result_counts_a_confusion_matrix(models_ready, labels_csv):
    faces = attribute_evaluation.collect(shared_data_path("lfw-dev"), attribute_evaluation.read_labels(labels_csv))
    result = attribute_evaluation.gender_result(attribute_models.MODELS["mini-xception-gender"], faces)
    assert result.confusion.sum() == result.faces == len(faces.regions)
    assert result.confusion[0].sum() == faces.genders.count("female")
    assert result.accuracy == pytest.approx(np.trace(result.confusion) / result.faces)
    assert result.ms_per_face > 0
    mae = attribute_evaluation.age_mae(attribute_models.MODELS["ssrnet-age"], faces)  # only Alexandra Pelosi has an age
    assert mae is not None and mae[1] == faces.ages.count(30.0) and mae[0] >= 0


def test_evaluate_attributes_prints_accuracy_and_draws_the_confusion_matrix(models_ready, tmp_path):
    plot = tmp_path / "confusion.png"
    out = io.StringIO()
    call_command("evaluate", str(shared_data_path("lfw-dev")), attributes=str(shared_data_path("lfw-dev-gender.csv")), limit=20,
                 confusion_plot=str(plot), stdout=out, stderr=io.StringIO())
    text = out.getvalue()
    assert "gender faceapi-age-gender     accuracy" in text and "held-out half" in text
    assert plot.stat().st_size > 1000


def test_evaluate_refuses_a_non_commercial_model_without_the_opt_in(models_ready, tmp_path, labels_csv):
    with pytest.raises(CommandError, match="FACEAPP_ACCEPT_NONCOMMERCIAL_MODELS"):
        call_command("evaluate", str(tmp_path), attributes=str(labels_csv), attribute_models="faceres", stdout=io.StringIO())
    with pytest.raises(CommandError, match="unknown attribute model"):
        call_command("evaluate", str(tmp_path), attributes=str(labels_csv), attribute_models="nope", stdout=io.StringIO())

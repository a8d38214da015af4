"""Passive liveness (recognition.liveness): off by default, opt-in by licence, a score and a decision. No database."""
from __future__ import annotations

import pytest

from recognition import attributes, liveness, pipeline
from recognition.exceptions import LivenessUnavailable
from tests.conftest import load_rgb


@pytest.fixture
def antispoof(settings):
    settings.FACEAPP_ACCEPT_NONCOMMERCIAL_MODELS = True
    settings.FACEAPP_LIVENESS_MODEL = "antispoof"
    return settings


def _face(photo):
    image = load_rgb("samples", photo)
    return image, pipeline.analyse_image(image, with_embeddings=False).largest_face()


def test_liveness_is_off_by_default(models_ready):
    image, face = _face("obama.jpg")
    with pytest.raises(LivenessUnavailable, match="FACEAPP_LIVENESS_MODEL is 'none'"):
        liveness.check(image, face.detection)


def test_a_liveness_model_without_the_licence_opt_in_is_refused(settings, models_ready):
    settings.FACEAPP_LIVENESS_MODEL = "antispoof"
    assert any("FACEAPP_LIVENESS_MODEL" in p for p in attributes.configuration_problems())
    image, face = _face("obama.jpg")
    with pytest.raises(LivenessUnavailable, match="FACEAPP_ACCEPT_NONCOMMERCIAL_MODELS"):
        liveness.check(image, face.detection)


@pytest.mark.parametrize("photo", ["obama.jpg", "rose_leslie_img1.jpg", "biden.jpg"])
def test_genuine_camera_photos_pass_at_the_default_threshold(antispoof, models_ready, photo):
    image, face = _face(photo)
    result = liveness.check(image, face.detection)
    assert result.live and 0.5 <= result.score <= 1 and result.model == "antispoof"
    assert result.as_dict() == {"score": round(result.score, 4), "threshold": 0.5, "live": True, "model": "antispoof"}


def test_the_decision_follows_the_threshold(antispoof, models_ready):
    image, face = _face("obama.jpg")
    score = liveness.check(image, face.detection).score
    assert not liveness.check(image, face.detection, threshold=score + 0.01).live
    antispoof.FACEAPP_LIVENESS_THRESHOLD = score - 0.01
    assert liveness.check(image, face.detection).live


def test_a_stored_crop_gives_nearly_the_score_of_the_photo(antispoof, models_ready):
    image, face = _face("rose_leslie_img1.jpg")
    direct = liveness.check(image, face.detection).score
    assert abs(liveness.check_crop(face.crop).score - direct) < 0.15


def test_livenessnet_reads_its_classes_in_the_training_codes_order(antispoof, models_ready):
    """leokwu/livenessnet label-encodes the folders 'fake' and 'real' alphabetically: output 1 is 'real'."""
    from recognition import attribute_models

    decoded = attribute_models.MODELS["livenessnet"].decode({"liveness": __import__("numpy").array([[0.2, 0.8]])})
    assert decoded == [{"liveness": 0.8}]

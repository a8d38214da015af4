"""Face attributes (recognition.attributes, recognition.attribute_models): preparation, settings and the licence
opt-in, and the real models on real photos. No database."""
from __future__ import annotations

import numpy as np
import pytest

from recognition import attribute_models, attributes, pipeline
from recognition.exceptions import AttributeUnavailable
from recognition.types import Detection
from tests.conftest import load_rgb

OPTED_IN = {"FACEAPP_ACCEPT_NONCOMMERCIAL_MODELS": True, "FACEAPP_AGE_MODEL": "faceres"}


def _region(*photo):
    image = load_rgb(*photo)
    face = pipeline.analyse_image(image, with_embeddings=False).largest_face()
    return attributes.face_region(image, face.detection)


@pytest.fixture(scope="module")
def regions(models_ready):
    return {name: _region("samples", photo) for name, photo in {
        "obama": "obama.jpg", "rose": "rose_leslie_img1.jpg", "biden": "biden.jpg", "lin": "lin-manuel-miranda.png",
        "alex": "alex_lacamoire_img1.jpg"}.items()}


# --- preparation ---------------------------------------------------------------------------------


def test_face_region_is_a_square_twice_the_box_centred_on_it():
    image = np.zeros((400, 400, 3), dtype=np.uint8)
    image[150:250, 170:230] = 255  # the "face": 60 wide, 100 high
    region = attributes.face_region(image, Detection(box=(170, 150, 230, 250), landmarks=(), score=1.0))
    assert region.shape == (200, 200, 3)  # 2 × the longer side
    assert region[100, 100].tolist() == [255, 255, 255] and region[5, 5].tolist() == [0, 0, 0]
    assert region[50:150, 70:130].min() == 255  # the box sits in the middle half


def test_face_region_past_the_image_edge_repeats_the_border_and_is_capped_in_size():
    image = np.full((300, 300, 3), 80, dtype=np.uint8)
    region = attributes.face_region(image, Detection(box=(0, 0, 290, 290), landmarks=(), score=1.0))
    assert region.shape == (attribute_models.REGION_MAX, attribute_models.REGION_MAX, 3)
    assert region.min() == 80  # no black border


def test_region_from_a_stored_crop_matches_the_region_cut_from_the_photo(regions, models_ready):
    """For a square box (a stored crop stretches any other box square, so only the geometry is compared here)."""
    from recognition import align

    image = load_rgb("samples", "obama.jpg")
    x1, y1, x2, y2 = pipeline.analyse_image(image, with_embeddings=False).largest_face().detection.box
    half, cx, cy = max(x2 - x1, y2 - y1) / 2, (x1 + x2) / 2, (y1 + y2) / 2
    square = Detection(box=(cx - half, cy - half, cx + half, cy + half), landmarks=(), score=1.0)
    direct = attributes.face_region(image, square)
    rebuilt = attribute_models.region_from_crop(align.crop_face(image, square), 128 / 160)
    size = min(direct.shape[0], rebuilt.shape[0])
    import cv2

    direct, rebuilt = (cv2.resize(r, (size, size)) for r in (direct, rebuilt))
    middle = slice(size // 4 + 4, 3 * size // 4 - 4)  # what the crop covers (the box plus a little)
    difference = np.abs(direct[middle, middle].astype(int) - rebuilt[middle, middle].astype(int)).mean()
    assert difference < 12


@pytest.mark.parametrize("colour, scaling, pixel, expected", [
    ("grey", "signed", (255, 255, 255), [2 * 0.9999 - 1]),  # the grey weights sum to 0.9999
    ("grey", "signed", (0, 0, 0), [-1.0]),
    ("rgb", "unit", (255, 0, 51), [1.0, 0.0, 0.2]),
    ("bgr", "byte", (10, 20, 30), [30.0, 20.0, 10.0]),
    ("bgr", "vgg", (123, 116, 103), [103 - 103.939, 116 - 116.779, 123 - 123.68]),
    ("rgb", "faceapi", (255, 117, 0), [(255 - 122.782) / 255, (117 - 117.001) / 255, -104.298 / 255]),
])
def test_pixels_are_scaled_as_each_models_source_does(colour, scaling, pixel, expected):
    model = attribute_models.AttributeModel("x", "x", (), 2, colour, scaling, 1.0, None, False, "")
    batch = attribute_models.scale_pixels(np.full((1, 2, 2, 3), pixel, dtype=np.uint8), model)
    assert batch.dtype == np.float32 and batch.shape == (1, 2, 2, len(expected))
    assert np.allclose(batch[0, 0, 0], expected, atol=1e-5)


def test_each_model_sees_its_input_size(regions):
    for model in attribute_models.MODELS.values():
        batch = attribute_models.model_input([regions["obama"]], model)
        assert batch.shape == (1, model.input_size, model.input_size, 1 if model.colour == "grey" else 3)


# --- settings and licences -----------------------------------------------------------------------


def test_parse_kinds_keeps_the_canonical_order_and_names_unknown_ones():
    assert attributes.parse_kinds("emotion, gender") == ("gender", "emotion")
    assert attributes.parse_kinds(["age", "gender,emotion"]) == ("gender", "age", "emotion")
    assert attributes.parse_kinds("") == ()
    with pytest.raises(ValueError, match="height"):
        attributes.parse_kinds("gender,height")


def test_all_means_the_attributes_this_server_has_models_for(settings):
    assert attributes.parse_kinds("all") == ("gender", "age", "emotion")  # the defaults: face-api's age (MIT)
    settings.FACEAPP_AGE_MODEL = "none"
    assert attributes.parse_kinds("all") == ("gender", "emotion")
    settings.FACEAPP_ACCEPT_NONCOMMERCIAL_MODELS, settings.FACEAPP_AGE_MODEL = True, "faceres"
    assert attributes.parse_kinds("all") == ("gender", "age", "emotion")


def test_the_defaults_need_no_opt_in(settings):
    assert attributes.configuration_problems() == []
    for kind in ("gender", "age", "emotion"):
        assert not attribute_models.MODELS[attributes.setting_for(kind)].non_commercial


def test_a_non_commercial_model_without_the_opt_in_is_a_start_up_error(settings):
    from django.core import checks

    settings.FACEAPP_AGE_MODEL = "faceres"
    problems = attributes.configuration_problems()
    assert len(problems) == 1 and "FACEAPP_ACCEPT_NONCOMMERCIAL_MODELS=1" in problems[0]
    errors = [e for e in checks.run_checks() if e.id == "recognition.E003"]
    assert errors and "FACEAPP_AGE_MODEL" in errors[0].msg
    settings.FACEAPP_ACCEPT_NONCOMMERCIAL_MODELS = True
    assert attributes.configuration_problems() == []


def test_a_model_that_does_not_provide_the_attribute_is_refused(settings):
    settings.FACEAPP_GENDER_MODEL = "mini-xception-emotion"
    settings.FACEAPP_EMOTION_MODEL = "nonsense"
    problems = attributes.configuration_problems(accepted=True)
    assert any("FACEAPP_GENDER_MODEL='mini-xception-emotion'" in p for p in problems)
    assert any("FACEAPP_EMOTION_MODEL='nonsense'" in p for p in problems)


def test_asking_for_an_attribute_without_a_model_says_which_setting(settings, regions):
    settings.FACEAPP_AGE_MODEL = "none"
    with pytest.raises(AttributeUnavailable, match="FACEAPP_AGE_MODEL"):
        attributes.estimate([regions["obama"]], ["age"])
    lenient = attributes.estimate([regions["obama"]], ["gender", "age"], strict=False)[0]
    assert lenient.age is None and lenient.gender is not None


# --- the real models on real photos --------------------------------------------------------------


def test_default_gender_model_tells_the_sample_men_and_women_apart(regions):
    found = attributes.estimate([regions[k] for k in ("obama", "rose", "biden", "lin")], ["gender"])
    assert [f.gender for f in found] == ["male", "female", "male", "male"]
    assert all(0.5 <= f.gender_score <= 1 for f in found)
    assert found[0].models == {"gender": "faceapi-age-gender"}


def test_emotion_is_a_distribution_over_the_seven_fer_classes(regions):
    found = attributes.estimate([regions["obama"], regions["rose"]], ["emotion"])
    for face in found:
        assert set(face.emotions) == set(attribute_models.EMOTIONS)
        assert abs(sum(face.emotions.values()) - 1) < 1e-3
        assert face.emotion == max(face.emotions, key=face.emotions.get)
    assert found[0].emotion == "happy"  # the sample photo of Obama smiles broadly


@pytest.mark.parametrize("age_model", ["faceres", "faceres-deep", "gear", "ssrnet-age", "faceapi-age-gender"])
def test_age_models_order_the_sample_people_by_age(settings, regions, age_model):
    """Rose Leslie (born 1987, photographed in her twenties) < Obama (born 1961, in office) < Biden (born 1942)."""
    settings.FACEAPP_ACCEPT_NONCOMMERCIAL_MODELS, settings.FACEAPP_AGE_MODEL = True, age_model
    rose, obama, biden = (f.age for f in attributes.estimate([regions["rose"], regions["obama"], regions["biden"]], ["age"]))
    assert 10 < rose < obama < biden < 95


def test_face_api_needs_no_opt_in_and_tells_the_sample_men_and_women_apart(settings, regions):
    """MIT-licensed like the defaults: usable for gender and age without FACEAPP_ACCEPT_NONCOMMERCIAL_MODELS."""
    settings.FACEAPP_GENDER_MODEL = settings.FACEAPP_AGE_MODEL = "faceapi-age-gender"
    assert attributes.configuration_problems() == []
    found = attributes.estimate([regions[k] for k in ("obama", "rose", "biden", "lin")], ["gender", "age"])
    assert [f.gender for f in found] == ["male", "female", "male", "male"]
    assert all(0.5 <= f.gender_score <= 1 and 10 < f.age < 95 for f in found)
    assert found[0].models == {"gender": "faceapi-age-gender", "age": "faceapi-age-gender"}


def test_a_model_giving_two_attributes_runs_once_and_both_are_reported(settings, regions):
    settings.FACEAPP_ACCEPT_NONCOMMERCIAL_MODELS = True
    settings.FACEAPP_AGE_MODEL = settings.FACEAPP_GENDER_MODEL = "faceres"
    found = attributes.estimate([regions["rose"]], ["gender", "age"])[0]
    assert found.gender == "female" and found.models == {"gender": "faceres", "age": "faceres"}
    body = found.as_dict()
    assert set(body) == {"gender", "gender_score", "age", "models"}


def test_pipeline_adds_attributes_only_when_asked(models_ready):
    image = load_rgb("samples", "obama_and_biden.jpg")
    plain = pipeline.analyse_image(image, with_embeddings=False)
    assert all(face.attributes is None for face in plain.faces) and "attributes" not in plain.timings_ms
    asked = pipeline.analyse_image(image, with_embeddings=False, attributes=("gender", "emotion"))
    assert [face.attributes.gender for face in asked.faces[:2]] == ["male", "male"]  # Obama and Biden, the largest faces
    assert "attributes" in asked.timings_ms


def test_pipeline_refuses_an_unavailable_attribute_even_without_a_face(settings, models_ready):
    settings.FACEAPP_AGE_MODEL = "none"
    with pytest.raises(AttributeUnavailable):
        pipeline.analyse_image(np.zeros((100, 100, 3), dtype=np.uint8), attributes=("age",))


def test_a_server_refuses_to_warm_up_with_a_non_commercial_attribute_model_but_no_opt_in(settings):
    from django.core.exceptions import ImproperlyConfigured

    from recognition.warmup import warm_up

    settings.FACEAPP_LIVENESS_MODEL = "livenessnet"
    with pytest.raises(ImproperlyConfigured, match="FACEAPP_LIVENESS_MODEL"):
        warm_up()

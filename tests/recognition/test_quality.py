"""Face quality metadata (recognition.quality): the landmark pose estimate and the sharpness measure.

The pose tests use the ArcFace 112×112 five-point template, a frontal upright face, and exact
geometric transforms of it; the sharpness test uses a real face crop from the pipeline.
"""
from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from recognition import quality

# left eye, right eye, nose, left mouth corner, right mouth corner (x, y) in a 112×112 crop
ARCFACE_TEMPLATE = np.array(
    [(38.29, 51.70), (73.53, 51.50), (56.03, 71.74), (41.55, 92.37), (70.73, 92.20)], dtype=np.float64
)
TEMPLATE_SIZE = 112


def mirrored(points: np.ndarray) -> np.ndarray:
    """The horizontal mirror image of a 5-point set, relabelled so 'left' is still on the image's left."""
    flipped = points.copy()
    flipped[:, 0] = TEMPLATE_SIZE - flipped[:, 0]
    return flipped[[1, 0, 2, 4, 3]]


def rotated(points: np.ndarray, degrees: float) -> np.ndarray:
    """Points rotated by `degrees` about the template centre (image coordinates, y down)."""
    angle = math.radians(degrees)
    rotation = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    centre = np.array([TEMPLATE_SIZE / 2, TEMPLATE_SIZE / 2])
    return (rotation @ (points - centre).T).T + centre


def test_frontal_template_has_no_yaw_and_no_roll():
    yaw, pitch, roll = quality.pose(ARCFACE_TEMPLATE)

    assert abs(yaw) < 1.0, yaw
    assert abs(roll) < 1.0, roll
    assert abs(pitch) < 1.0, pitch  # the nose depth of the template is the reference proportion


def test_nose_shifted_sideways_gives_yaw_whose_sign_flips_in_the_mirror_image():
    turned = ARCFACE_TEMPLATE.copy()
    turned[2, 0] += 8.0  # nose tip towards the image's right: the head turned

    yaw, _, _ = quality.pose(turned)
    mirror_yaw, _, mirror_roll = quality.pose(mirrored(turned))

    assert yaw > 10.0, yaw
    assert mirror_yaw < -10.0, mirror_yaw
    assert mirror_yaw == pytest.approx(-yaw, abs=1.0)
    assert abs(mirror_roll) < 1.0


@pytest.mark.parametrize("degrees", [20.0, -20.0])
def test_template_rotated_in_plane_gives_that_roll_and_keeps_yaw_and_pitch(degrees):
    yaw0, pitch0, roll0 = quality.pose(ARCFACE_TEMPLATE)

    yaw, pitch, roll = quality.pose(rotated(ARCFACE_TEMPLATE, degrees))

    assert roll == pytest.approx(degrees, abs=1.0)
    assert roll - roll0 == pytest.approx(degrees, abs=1e-6)
    # roll is undone before yaw and pitch are measured, so they do not move
    assert yaw == pytest.approx(yaw0, abs=1e-6)
    assert pitch == pytest.approx(pitch0, abs=1e-6)


def test_blurred_face_crop_is_less_sharp_than_the_original(models_ready):
    from recognition import pipeline
    from tests.conftest import read_bytes

    face = pipeline.analyse_bytes(read_bytes("samples", "obama.jpg"), with_embeddings=False).largest_face()
    assert face is not None
    blurred = cv2.GaussianBlur(face.crop, (0, 0), sigmaX=2.0)

    original_sharpness = quality.sharpness(face.crop)
    blurred_sharpness = quality.sharpness(blurred)

    assert blurred_sharpness < 0.5 * original_sharpness, (original_sharpness, blurred_sharpness)
    assert face.quality.sharpness == pytest.approx(original_sharpness)


GOOD = {"detection_score": 0.999, "face_size": 90, "sharpness": 60.0, "yaw": 5.0, "pitch": 10.0, "roll": 2.0}


def test_a_frontal_sharp_large_face_has_no_quality_problem():
    assert quality.problems(GOOD) == []


@pytest.mark.parametrize("change, reason", [
    ({"face_size": 30}, "small face"),
    ({"detection_score": 0.96}, "uncertain detection"),
    ({"sharpness": 4.0}, "blurred"),
    ({"yaw": -80.0}, "turned sideways"),
    ({"pitch": 55.0}, "tilted up or down"),
])
def test_each_poor_quality_measure_is_named(change, reason):
    found = quality.problems({**GOOD, **change})
    assert len(found) == 1 and found[0].startswith(reason)


def test_a_profile_photo_is_a_poor_quality_face(models_ready):
    from recognition import pipeline
    from tests.conftest import read_bytes

    face = pipeline.analyse_bytes(read_bytes("samples", "cameraman.jpg")).largest_face()
    assert any(p.startswith("turned sideways") for p in quality.problems(face.quality.as_dict()))


def test_grade_is_poor_with_the_problems_fair_near_them_and_good_otherwise():
    from recognition.quality import grade

    fine = {"face_size": 120, "detection_score": 0.9999, "sharpness": 60.0, "yaw": 5.0, "pitch": 3.0, "roll": 1.0}
    assert grade(fine) == ("good", [])
    assert grade({**fine, "face_size": 60}) == ("fair", ["smallish face (60 px, under 80)"])
    assert grade({**fine, "yaw": -30.0})[1] == ["turned (yaw -30°)"]
    label, reasons = grade({**fine, "sharpness": 4.0, "face_size": 30})
    assert label == "poor" and reasons == ["small face (30 px, under 40)", "blurred"]

"""Per-face quality metadata: detection score, size, sharpness and a pose estimate from landmarks.

The pose is a geometric estimate from the five landmarks, good to tell frontal from profile faces
(roughly ±10°), not a head-pose model. Reference proportions are those of the ArcFace 112×112
landmark template, a frontal face: the nose sits at 0.494 of the way from the eye line to the
mouth line.
"""
from __future__ import annotations

import math

import cv2
import numpy as np

from .types import Detection, Quality

_FRONTAL_NOSE_DEPTH = 0.494


def sharpness(crop: np.ndarray) -> float:
    """Variance of the Laplacian of the grey crop: low for blurred or featureless faces."""
    grey = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY)
    return float(cv2.Laplacian(grey, cv2.CV_64F).var())


def pose(landmarks) -> tuple[float, float, float]:
    """(yaw, pitch, roll) in degrees from 5 landmarks; 0, 0, 0 is a frontal upright face."""
    points = np.asarray(landmarks, dtype=np.float64)
    left_eye, right_eye, nose, left_mouth, right_mouth = points
    roll = math.degrees(math.atan2(right_eye[1] - left_eye[1], right_eye[0] - left_eye[0]))
    # Undo the roll so that yaw and pitch are measured along the face's own axes.
    centre = (left_eye + right_eye) / 2
    angle = -math.radians(roll)
    rotation = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    left_eye, right_eye, nose, left_mouth, right_mouth = (rotation @ (points - centre).T).T
    eye_distance = max(right_eye[0] - left_eye[0], 1e-6)
    eye_y = (left_eye[1] + right_eye[1]) / 2
    mouth_y = (left_mouth[1] + right_mouth[1]) / 2
    # The nose tip swings sideways by about half the eye distance when the head turns 90°.
    yaw = math.degrees(math.asin(float(np.clip(nose[0] / (0.5 * eye_distance), -1, 1))))
    depth = (nose[1] - eye_y) / max(mouth_y - eye_y, 1e-6)
    pitch = math.degrees(math.asin(float(np.clip((depth - _FRONTAL_NOSE_DEPTH) / 0.5, -1, 1))))
    return yaw, pitch, roll


def assess(detection: Detection, crop: np.ndarray) -> Quality:
    yaw, pitch, roll = pose(detection.landmarks)
    return Quality(
        detection_score=float(detection.score),
        face_size=int(round(detection.size)),
        sharpness=sharpness(crop),
        yaw=yaw,
        pitch=pitch,
        roll=roll,
    )


# What an operator is warned about before enrolling a face (the enrol page flags these, it does not drop them).
# Measured on lfw-dev: sharpness of the 160-pixel crops is 21-66 for the 5th-50th percentiles (LFW photos are
# soft), |yaw| is below 44 degrees for 95% of faces; a profile reads about 90.
POOR_QUALITY_LIMITS = {"min_face_size": 40, "min_detection_score": 0.98, "min_sharpness": 10.0, "max_yaw": 45.0, "max_pitch": 40.0}


def problems(quality: dict) -> list[str]:
    """Short reasons why a face (its `Quality.as_dict()`) is poor for enrolment; empty when it is fine."""
    limits = POOR_QUALITY_LIMITS
    found = []
    if quality.get("face_size", 0) < limits["min_face_size"]:
        found.append(f"small face ({quality.get('face_size')} px, under {limits['min_face_size']})")
    if quality.get("detection_score", 1.0) < limits["min_detection_score"]:
        found.append(f"uncertain detection ({quality.get('detection_score')})")
    if quality.get("sharpness", 1e9) < limits["min_sharpness"]:
        found.append("blurred")
    if abs(quality.get("yaw", 0.0)) > limits["max_yaw"]:
        found.append(f"turned sideways (yaw {quality.get('yaw')}°)")
    if abs(quality.get("pitch", 0.0)) > limits["max_pitch"]:
        found.append(f"tilted up or down (pitch {quality.get('pitch')}°)")
    return found


# Between fine and poor: what the operator pages call "fair" (usable, but not the best to enrol): twice the
# poor face size, the sharpness of lfw-dev's 5th percentile (above), a face turned or tilted over 25 degrees.
FAIR_QUALITY_LIMITS = {"min_face_size": 80, "min_detection_score": 0.995, "min_sharpness": 20.0, "max_yaw": 25.0, "max_pitch": 25.0}
GOOD, FAIR, POOR = "good", "fair", "poor"


def grade(quality: dict) -> tuple[str, list[str]]:
    """good, fair or poor, with the reasons for anything less than good (a face's `Quality.as_dict()`)."""
    poor = problems(quality)
    if poor:
        return POOR, poor
    limits = FAIR_QUALITY_LIMITS
    found = []
    if quality.get("face_size", 1e9) < limits["min_face_size"]:
        found.append(f"smallish face ({quality.get('face_size')} px, under {limits['min_face_size']})")
    if quality.get("detection_score", 1.0) < limits["min_detection_score"]:
        found.append(f"detection not quite sure ({quality.get('detection_score')})")
    if quality.get("sharpness", 1e9) < limits["min_sharpness"]:
        found.append(f"soft (sharpness {float(quality.get('sharpness')):.0f})")
    if abs(quality.get("yaw", 0.0)) > limits["max_yaw"]:
        found.append(f"turned (yaw {float(quality.get('yaw')):.0f}°)")
    if abs(quality.get("pitch", 0.0)) > limits["max_pitch"]:
        found.append(f"tilted (pitch {float(quality.get('pitch')):.0f}°)")
    return (FAIR, found) if found else (GOOD, [])


def score(quality: Quality) -> float:
    """One 0-1 figure for a face's usefulness: confident, large, sharp and frontal faces score high.

    A weighted mean of four saturating parts: detection score (0.9 → 0, 1.0 → 1), face size
    (100 px and more → 1), sharpness (Laplacian variance v → v / (v + 100)) and frontality (0° → 1,
    60° of yaw or pitch → 0).
    """
    detection = min(max((quality.detection_score - 0.9) / 0.1, 0.0), 1.0)
    size = min(quality.face_size / 100.0, 1.0)
    sharpness = quality.sharpness / (quality.sharpness + 100.0)
    frontal = max(0.0, 1.0 - max(abs(quality.yaw), abs(quality.pitch)) / 60.0)
    return round(0.2 * detection + 0.25 * size + 0.25 * sharpness + 0.3 * frontal, 4)

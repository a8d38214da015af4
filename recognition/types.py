"""Small frozen values passed between the pipeline stages."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Detection:
    """One face found by the detector, in the pixel coordinates of the decoded image."""

    box: tuple[float, float, float, float]  # x1, y1, x2, y2
    landmarks: tuple[tuple[float, float], ...]  # left eye, right eye, nose, left mouth, right mouth (x, y)
    score: float

    @property
    def width(self) -> float:
        return self.box[2] - self.box[0]

    @property
    def height(self) -> float:
        return self.box[3] - self.box[1]

    @property
    def size(self) -> float:
        """The shorter side of the box: what 'minimum face size' limits."""
        return min(self.width, self.height)

    @property
    def area(self) -> float:
        return max(self.width, 0.0) * max(self.height, 0.0)


@dataclass(frozen=True)
class Quality:
    """Per-face quality metadata, all cheap to compute from the detection and the crop."""

    detection_score: float
    face_size: int  # shorter side of the face box, in pixels of the original image
    sharpness: float  # variance of the Laplacian of the grey crop; higher is sharper
    yaw: float  # degrees, estimated from the landmarks; 0 is frontal
    pitch: float
    roll: float

    def as_dict(self) -> dict:
        return {
            "detection_score": round(self.detection_score, 4),
            "face_size": self.face_size,
            "sharpness": round(self.sharpness, 1),
            "yaw": round(self.yaw, 1),
            "pitch": round(self.pitch, 1),
            "roll": round(self.roll, 1),
        }


@dataclass(frozen=True, eq=False)
class Face:
    """A detected face with its aligned crop, quality and embedding: the pipeline's output."""

    detection: Detection
    crop: np.ndarray = field(repr=False)  # HxWx3 uint8 RGB, the crop the embedder saw
    quality: Quality
    embedding: np.ndarray = field(repr=False)  # (512,) float32, L2-normalised
    attributes: object | None = None  # recognition.attributes.FaceAttributes, when asked for
    liveness: object | None = None  # recognition.liveness.LivenessResult, when asked for

"""Frames → the faces the tracker takes: plan what to detect per camera, detect for all cameras in one
batch, then crop, quality and the camera's filters (region of interest, minimum size and quality).

One round holds at most one frame per camera (frames of one camera depend on each other: where to
look comes from its tracks after the previous frame), so the detector's batch spans the cameras:
P-Net once per distinct level shape, R-Net and O-Net once over every candidate of every camera.
Faces are not embedded here: the tracker asks for the embeddings it needs (`embed`).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import cv2
import numpy as np
from django.conf import settings

from recognition import embedders, pipeline
from recognition import quality as face_quality
from recognition.types import Face

from .planning import STILL, Plan, Planner


@dataclass(eq=False)
class Analysed:
    """One frame's outcome: what was planned, its RGB pixels (None when nothing was detected), and the
    faces kept with their quality scores."""

    frame: object  # processing.Frame
    plan: Plan
    rgb: np.ndarray | None = field(default=None, repr=False)
    faces: list[tuple[Face, float]] = field(default_factory=list)


def quality_score(quality) -> float:
    """One 0-1 figure for a face's usefulness (recognition.quality.score)."""
    return face_quality.score(quality)


class FrameAnalyser:
    """The per-camera planners (motion references, discovery counters) and the batched detection."""

    def __init__(self):
        self.planners: dict[object, tuple[tuple, Planner]] = {}

    def planner(self, config) -> Planner:
        """The camera's planner, made anew when its budget (interval, min face, ROI) changed."""
        key = (config.detect_interval, config.min_face_size, config.roi)
        known = self.planners.get(config.id)
        if known is None or known[0] != key:
            known = (key, Planner(detect_interval=config.detect_interval, min_face_size=config.min_face_size, roi=config.roi))
            self.planners[config.id] = known
        return known[1]

    def forget(self, camera_id) -> None:
        self.planners.pop(camera_id, None)

    def analyse(self, round_: list[tuple[object, object, list]]) -> list[Analysed]:
        """(frame, camera config, the camera's live tracks) for each camera of a round → one Analysed each."""
        analysed = [Analysed(frame, self.planner(config).plan(frame.image, tracks, frame.timestamp)) for frame, config, tracks in round_]
        todo = [a for a in analysed if a.plan.kind != STILL]
        for item in todo:
            item.rgb = cv2.cvtColor(item.frame.image, cv2.COLOR_BGR2RGB)
        found = pipeline.detect_regions([(a.rgb, a.plan.regions) for a in todo], min_score=settings.FACEAPP_DETECTION_THRESHOLD)
        configs = {id(frame): config for frame, config, _ in round_}
        for item, detections in zip(todo, found):
            config = configs[id(item.frame)]
            height, width = item.rgb.shape[:2]
            kept = [d for d in detections if d.size >= config.min_face_size and _in_roi(d.box, config.roi, width, height)]
            for face in pipeline.describe(item.rgb, kept):
                score = quality_score(face.quality)
                if score >= config.min_quality:
                    item.faces.append((face, score))
            self.planner(config).analysed(item.plan, (height, width))
        return analysed


def embed(rgb: np.ndarray, faces: list[Face]) -> list[Face]:
    """The faces with their embeddings (one batch of the active embedder)."""
    if not faces:
        return []
    chosen = embedders.active()
    vectors = chosen.embed(embedders.prepare_faces(rgb, [f.detection for f in faces], crops=[f.crop for f in faces], chosen=chosen))
    return [dataclasses.replace(face, embedding=vector) for face, vector in zip(faces, vectors)]


def _in_roi(box, roi, width: int, height: int) -> bool:
    if not roi:
        return True
    x1, y1, x2, y2 = box
    cx, cy = (x1 + x2) / 2 / width, (y1 + y2) / 2 / height
    return roi[0] <= cx <= roi[2] and roi[1] <= cy <= roi[3]

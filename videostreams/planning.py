"""What to detect in each frame of a camera: the cheap video path's decisions, per camera.

Full detection of every sampled frame is what a camera cost before (nearly all of it MTCNN over the
whole picture). Most of that work finds nothing new: the background did not change, and the faces
already tracked are where they were a moment ago. So, per frame (``Planner.plan``):

- **still**: nothing moved since the last analysed frame (``motion.MotionDetector``): no detection;
  the faces seen then are still there (the tracker holds them);
- **full**: the camera's first frame, a cut or camera move (most of the picture changed: faces are
  then also checked by embedding before they continue a track), or regions that would cost most of
  what the whole picture costs anyway: the whole picture (its region of interest);
- **regions**: otherwise, only
  - a window around each tracked face, where it is predicted to be (2.5 times its size, looking for
    faces from 0.65 to 1.5 times its size: a face moves and grows less than that in a sampled frame's
    time once its velocity is known): this is the tracker between detections, and it keeps
    landmarks, quality and best shots as exact as full detection;
  - the moving parts of the picture, with a margin, to find new faces: at once for motion no tracked
    face explains (someone walks in), and every ``detect_interval`` frames for motion next to tracked
    faces (someone walking beside them).

``detect_interval`` 1 turns all of it off: the whole picture every frame (the reference the cheap path
is measured against in ``bench/video.py``). Pure: no Django, no models.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from recognition.detector import Region

from .motion import Motion, MotionDetector, roi_box
from .tracker import Track

STILL, FULL, REGIONS = "still", "full", "regions"


@dataclass
class Plan:
    kind: str
    regions: list[Region] = field(default_factory=list)
    motion: Motion | None = None
    cut: bool = False  # most of the picture changed: positions say little, faces are checked by embedding
    small: np.ndarray | None = field(default=None, repr=False)  # the frame's small grey copy (motion reference)


class Planner:
    def __init__(
        self,
        *,
        detect_interval: int = 5,
        min_face_size: int = 40,
        roi: Sequence[float] | None = None,
        motion: MotionDetector | None = None,
        full_share: float = 0.5,
        window: float = 0.75,
        lost_after: float = 0.6,
    ):
        self.detect_interval = max(1, int(detect_interval))
        self.min_face_size = min_face_size
        self.roi = tuple(roi) if roi else None
        self.motion = motion or MotionDetector()
        self.full_share = full_share  # regions covering more than this share of the picture: detect it all
        self.window = window  # margin around a tracked face, in face sizes on each side
        self.lost_after = lost_after  # seconds without the face in its window before the window is dropped
        self._since_discovery = 0

    def plan(self, image: np.ndarray, tracks: Sequence[Track], timestamp: float) -> Plan:
        height, width = image.shape[:2]
        whole = roi_box(self.roi, width, height)
        if self.detect_interval <= 1:
            return Plan(FULL, [Region(whole, self.min_face_size)])
        motion, small = self.motion.compare(image, self.roi)
        if not motion.moved:
            return Plan(STILL, motion=motion, small=small)
        if motion.cut:
            return self._full(whole, motion, small, cut=True)

        # A face not found in its window for a while (turned away, left, hidden) is looked for by the
        # next discovery pass or full detection, not in a window every frame.
        windows = [self._window(track, timestamp, width, height) for track in tracks if timestamp - track.last_observed <= self.lost_after]
        self._since_discovery += 1
        due = self._since_discovery >= self.detect_interval or not tracks
        blobs = [b for b in motion.boxes if due or not any(_overlaps(b, w.box) for w in windows)]
        blobs = [b for b in blobs if not any(_inside(b, w.box) for w in windows)]
        discovery = [Region(box, self.min_face_size) for box in _merge([self._margin(b, width, height) for b in blobs])]
        if due:
            self._since_discovery = 0
        regions = windows + discovery
        if not regions:
            return Plan(STILL, motion=motion, small=small)
        # Detection costs about area / min_face² (the pyramid's first level): regions costing more than
        # `full_share` of the whole picture's cost are not worth cutting out.
        cost = sum(_area(r.box) / r.min_face_size**2 for r in regions)
        if cost > self.full_share * _area(whole) / self.min_face_size**2:
            return self._full(whole, motion, small)
        return Plan(REGIONS, regions, motion, small=small)

    def analysed(self, plan: Plan, shape: tuple[int, int]) -> None:
        """The frame was analysed: it becomes the motion reference."""
        if plan.small is not None:
            self.motion.accept(plan.small, shape)

    def _full(self, whole, motion, small, *, cut: bool = False) -> Plan:
        self._since_discovery = 0
        return Plan(FULL, [Region(whole, self.min_face_size)], motion, cut, small)

    def _window(self, track: Track, timestamp: float, width: int, height: int) -> Region:
        x1, y1, x2, y2 = track.predicted_box(timestamp)
        side = track.size
        reach = side * (0.5 + self.window)
        cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
        box = (max(0, int(cx - reach)), max(0, int(cy - reach)), min(width, int(cx + reach) + 1), min(height, int(cy + reach) + 1))
        # On the whole picture's pyramid (base: the camera's minimum face), so that the face gets the box
        # full detection would give it.
        shorter = min(x2 - x1, y2 - y1)  # what min_face_size limits (Detection.size)
        return Region(box, max(self.min_face_size, shorter * 0.65), side * 1.5, base_face_size=self.min_face_size)

    def _margin(self, box, width: int, height: int) -> tuple[int, int, int, int]:
        x1, y1, x2, y2 = box
        pad = max(self.min_face_size, 0.25 * max(x2 - x1, y2 - y1))
        return (max(0, int(x1 - pad)), max(0, int(y1 - pad)), min(width, int(x2 + pad)), min(height, int(y2 + pad)))


def _area(box) -> float:
    return max(0, box[2] - box[0]) * max(0, box[3] - box[1])


def _overlaps(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _inside(a, b) -> bool:
    return a[0] >= b[0] and a[1] >= b[1] and a[2] <= b[2] and a[3] <= b[3]


def _merge(boxes: list) -> list:
    """Overlapping boxes → their unions (so one face is not searched in two pieces)."""
    boxes = list(boxes)
    merged = True
    while merged:
        merged = False
        for i in range(len(boxes)):
            for j in range(i + 1, len(boxes)):
                if _overlaps(boxes[i], boxes[j]):
                    a, b = boxes[i], boxes.pop(j)
                    boxes[i] = (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))
                    merged = True
                    break
            if merged:
                break
    return boxes

"""Follow faces across frames of one camera: match each new face to a live track by box overlap and
embedding similarity, keep each track's best shot by quality, and end tracks not seen for a while.

Pure: no Django, no database. Each track carries an opaque `best` payload chosen by the caller
(the processing stage keeps the frame and the face there) and any state the caller attaches.

Matching is greedy on a combined score, best pairs first. A pair qualifies when the boxes overlap
(IoU ≥ `min_iou`) and the faces do not look like different people (cosine ≥ `min_similarity_overlap`),
or, without overlap (a fast move, a skipped frame), when the faces look alike (cosine ≥
`min_similarity`) and the track was seen within `max_age`. A face matching no track starts one.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import numpy as np

_ids = itertools.count(1)


def iou(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    x1, y1 = max(a[0], b[0]), max(a[1], b[1])
    x2, y2 = min(a[2], b[2]), min(a[3], b[3])
    inter = max(0.0, x2 - x1) * max(0.0, y2 - y1)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


@dataclass
class Observation:
    """One face in one frame, as the tracker needs it."""

    box: tuple[float, float, float, float]
    embedding: np.ndarray
    quality: float
    timestamp: float  # seconds
    payload: Any = None


@dataclass(eq=False)
class Track:
    id: str
    first_seen: float
    last_seen: float
    box: tuple[float, float, float, float]
    embedding: np.ndarray  # running mean of the observations' unit vectors, renormalised
    best: Observation
    frames: int = 1
    best_changed: bool = True  # the best shot changed in the last update
    state: dict = field(default_factory=dict)  # the caller's (e.g. the event id in realtime mode)
    shots: list[Observation] = field(default_factory=list)  # the best `keep_shots` observations, best first

    def __post_init__(self):
        if not self.shots:
            self.shots = [self.best]

    def add(self, observation: Observation, *, keep_shots: int = 5) -> None:
        self.last_seen = observation.timestamp
        self.box = observation.box
        mean = self.embedding * self.frames + observation.embedding
        self.embedding = mean / max(float(np.linalg.norm(mean)), 1e-12)
        self.frames += 1
        self.best_changed = observation.quality > self.best.quality
        if self.best_changed:
            self.best = observation
        # The shots that vote on the track's name: the best few by quality, from different frames.
        self.shots = sorted([*self.shots, observation], key=lambda o: o.quality, reverse=True)[:keep_shots]


class Tracker:
    def __init__(self, *, max_age: float = 2.0, min_iou: float = 0.2, min_similarity_overlap: float = 0.3, min_similarity: float = 0.6,
                 prefix: str = "", keep_shots: int = 5):
        self.keep_shots = keep_shots
        self.max_age = max_age
        self.min_iou = min_iou
        self.min_similarity_overlap = min_similarity_overlap
        self.min_similarity = min_similarity
        self.prefix = prefix
        self.tracks: list[Track] = []

    def update(self, observations: list[Observation], timestamp: float) -> tuple[list[Track], list[Track]]:
        """Add one frame's faces → (tracks updated or started by this frame, tracks ended before it)."""
        ended = self.expire(timestamp)
        pairs = []
        for t_index, track in enumerate(self.tracks):
            for o_index, obs in enumerate(observations):
                overlap = iou(track.box, obs.box)
                similarity = float(np.dot(track.embedding, obs.embedding))
                if (overlap >= self.min_iou and similarity >= self.min_similarity_overlap) or similarity >= self.min_similarity:
                    pairs.append((overlap + similarity, t_index, o_index))
        pairs.sort(reverse=True)
        used_tracks: set[int] = set()
        used_obs: set[int] = set()
        touched: list[Track] = []
        for _, t_index, o_index in pairs:
            if t_index in used_tracks or o_index in used_obs:
                continue
            used_tracks.add(t_index)
            used_obs.add(o_index)
            track = self.tracks[t_index]
            track.add(observations[o_index], keep_shots=self.keep_shots)
            touched.append(track)
        for o_index, obs in enumerate(observations):
            if o_index in used_obs:
                continue
            track = Track(
                id=f"{self.prefix}{next(_ids)}",
                first_seen=obs.timestamp,
                last_seen=obs.timestamp,
                box=obs.box,
                embedding=obs.embedding.astype(np.float32),
                best=obs,
            )
            self.tracks.append(track)
            touched.append(track)
        return touched, ended

    def expire(self, timestamp: float) -> list[Track]:
        """End (and return) the tracks not seen for more than max_age seconds before `timestamp`."""
        ended = [t for t in self.tracks if timestamp - t.last_seen > self.max_age]
        if ended:
            self.tracks = [t for t in self.tracks if t not in ended]
        return ended

    def flush(self) -> list[Track]:
        """End every live track (the stream stopped)."""
        ended, self.tracks = self.tracks, []
        return ended

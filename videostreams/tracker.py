"""Follow faces across frames of one camera: match each new face to a live track by box overlap with
where the track is predicted to be and by embedding similarity, keep each track's best shots by
quality, and end tracks not seen for a while.

Pure: no Django, no database. Each track carries an opaque `payload` per observation chosen by the
caller (the processing stage keeps the frame and the face there) and any state the caller attaches.

Prediction: a track moves at its recent velocity (the centre's motion between its last two
observations, smoothed, damped while it is not seen), so a face crossing the frame is looked for
where it is going, not where it was — which is what keeps two faces crossing each other apart
(SORT's constant-velocity idea without the full Kalman filter: faces are observed almost every frame).

Matching is greedy on a combined score, best pairs first, in two passes:
1. a pair qualifies when the boxes overlap (IoU with the predicted or the last box ≥ `min_iou`) and,
   where both have embeddings, the faces do not look like different people (cosine ≥
   `min_similarity_overlap`); a face that overlaps no track by at least `sure_iou` is embedded before
   this pass, so that weak overlap alone never carries a track over to another person;
2. observations left over, once embedded, match a live track without overlap (a fast move, a skipped
   frame) when the faces look alike (cosine ≥ `min_similarity`).
A face matching no track starts one.

Embeddings are optional: the cheap video path embeds only what it needs. `update(..., embed=fn)` calls
`fn` with the observations lacking an embedding that matching needs: faces overlapping no track well
(new faces, a face that moved far, anything after a cut: `verify`) before the first pass, and those
still unmatched before the second. A track keeps its best `keep_shots` observations by quality
whether embedded or not; the caller embeds them when it needs them (to name the track, or to store its
best shot), so a track's shots are the very ones full embedding of every face would keep.
"""
from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

_ids = itertools.count(1)
_VELOCITY_SMOOTHING = 0.5  # weight of the newest velocity in the running estimate
_MAX_SPEED = 10.0  # box widths per second (a face crossing a 720p frame in a second); faster is not a move


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
    embedding: np.ndarray | None
    quality: float
    timestamp: float  # seconds
    payload: Any = None


@dataclass(eq=False)
class Track:
    id: str
    first_seen: float
    last_seen: float
    box: tuple[float, float, float, float]
    embedding: np.ndarray  # running mean of the embedded observations' unit vectors, renormalised (see learn)
    best: Observation
    frames: int = 1
    best_changed: bool = True  # the best shot changed in the last update
    state: dict = field(default_factory=dict)  # the caller's (e.g. the event id in realtime mode)
    shots: list[Observation] = field(default_factory=list)  # the best `keep_shots` observations, best first (maybe not embedded yet)
    velocity: tuple[float, float] = (0.0, 0.0)  # centre's px per second
    last_observed: float = 0.0  # when a face was last matched to it (last_seen also moves when a still frame holds it)
    embedded: int = 1  # observations embedded
    last: Observation | None = None  # the latest observation

    def __post_init__(self):
        if not self.shots:
            self.shots = [self.best]
        if self.last is None:
            self.last = self.best
        if not self.last_observed:
            self.last_observed = self.last_seen

    @property
    def size(self) -> float:
        return max(self.box[2] - self.box[0], self.box[3] - self.box[1])

    def predicted_box(self, timestamp: float) -> tuple[float, float, float, float]:
        """Where the face should be at `timestamp`, moving at its velocity since it was last observed."""
        dt = max(0.0, timestamp - self.last_observed)
        dx, dy = self.velocity[0] * dt, self.velocity[1] * dt
        x1, y1, x2, y2 = self.box
        return (x1 + dx, y1 + dy, x2 + dx, y2 + dy)

    def add(self, observation: Observation, *, keep_shots: int = 5) -> None:
        dt = observation.timestamp - self.last_observed
        if dt > 0:
            (ox1, oy1, ox2, oy2), (nx1, ny1, nx2, ny2) = self.box, observation.box
            vx = ((nx1 + nx2) - (ox1 + ox2)) / 2 / dt
            vy = ((ny1 + ny2) - (oy1 + oy2)) / 2 / dt
            limit = _MAX_SPEED * max(nx2 - nx1, 1.0)
            vx, vy = max(-limit, min(limit, vx)), max(-limit, min(limit, vy))
            a = _VELOCITY_SMOOTHING if self.frames > 1 else 1.0
            self.velocity = (a * vx + (1 - a) * self.velocity[0], a * vy + (1 - a) * self.velocity[1])
        self.last_seen = self.last_observed = observation.timestamp
        self.box = observation.box
        self.last = observation
        self.frames += 1
        if observation.embedding is not None:
            self.learn(observation.embedding)
        self.best_changed = observation.quality > self.best.quality
        if self.best_changed:
            self.best = observation
        # The shots that vote on the track's name: the best few by quality, from different frames.
        self.shots = sorted([*self.shots, observation], key=lambda o: o.quality, reverse=True)[:keep_shots]

    def learn(self, embedding: np.ndarray) -> None:
        """Fold one more embedded observation into the track's mean embedding (what matching compares)."""
        mean = self.embedding * self.embedded + embedding
        self.embedding = mean / max(float(np.linalg.norm(mean)), 1e-12)
        self.embedded += 1

    def hold(self, timestamp: float, *, keep_shots: int = 5) -> None:
        """Nothing moved since the last frame: the face is still where it was, as it was.

        One more frame seen, with the same observation again (what detecting the unchanged picture
        would give: the same face, quality and embedding), so a face standing still gathers the votes
        it would gather were every frame detected.
        """
        self.last_seen = timestamp
        self.frames += 1
        self.best_changed = False
        again = dataclasses.replace(self.last, timestamp=timestamp)
        self.shots = sorted([*self.shots, again], key=lambda o: o.quality, reverse=True)[:keep_shots]
        self.last = again


Embed = Callable[[list[Observation]], None]


class Tracker:
    def __init__(self, *, max_age: float = 2.0, min_iou: float = 0.2, min_similarity_overlap: float = 0.3, min_similarity: float = 0.6,
                 prefix: str = "", keep_shots: int = 5, sure_iou: float = 0.5):
        self.keep_shots = keep_shots
        self.sure_iou = sure_iou  # overlap with a track's predicted box above which no embedding is needed to match
        self.max_age = max_age
        self.min_iou = min_iou
        self.min_similarity_overlap = min_similarity_overlap
        self.min_similarity = min_similarity
        self.prefix = prefix
        self.tracks: list[Track] = []
        self.last_update: float | None = None
        self.embedded = 0  # observations embedded through `embed` callbacks (a cost figure)

    def update(self, observations: list[Observation], timestamp: float, *, embed: Embed | None = None,
               verify: bool = False) -> tuple[list[Track], list[Track]]:
        """Add one frame's faces → (tracks updated or started by this frame, tracks ended before it).

        Observations without an embedding are embedded through `embed` when one is needed (see the
        module's docstring); without `embed`, every observation must come embedded. `verify` embeds
        them all before matching (the picture cut to another scene: positions say nothing).
        """
        ended = self.expire(timestamp)
        self.last_update = timestamp
        # Overlap alone is not trusted where it is weak (or after a cut, `verify`): those faces are
        # embedded first, so that a different person stepping into a track's place starts a track of his own.
        unsure = [obs for obs in observations if obs.embedding is None and (verify or not any(
            max(iou(t.predicted_box(timestamp), obs.box), iou(t.box, obs.box)) >= self.sure_iou for t in self.tracks))]
        self._embed(unsure, embed)
        matched = self._match(self.tracks, observations, timestamp, by_overlap=True)
        # Then the unmatched (new or re-found faces).
        self._embed([obs for i, obs in enumerate(observations) if obs.embedding is None and i not in matched], embed)
        free_tracks = [t for t in self.tracks if t not in matched.values()]
        free_obs = [i for i in range(len(observations)) if i not in matched]
        if free_tracks and free_obs:
            rest = self._match(free_tracks, [observations[i] for i in free_obs], timestamp, by_overlap=False)
            matched.update({free_obs[j]: track for j, track in rest.items()})
        touched: list[Track] = []
        for i, obs in enumerate(observations):
            track = matched.get(i)
            if track is not None:
                track.add(obs, keep_shots=self.keep_shots)
            else:
                track = Track(id=f"{self.prefix}{next(_ids)}", first_seen=obs.timestamp, last_seen=obs.timestamp, box=obs.box,
                              embedding=np.asarray(obs.embedding, np.float32), best=obs)
                self.tracks.append(track)
            touched.append(track)
        return touched, ended

    def _embed(self, needed: list[Observation], embed: Embed | None) -> None:
        if not needed:
            return
        if embed is None:
            raise ValueError("observations without embeddings need an embed callback")
        embed(needed)
        self.embedded += len(needed)

    def _match(self, tracks: list[Track], observations: list[Observation], timestamp: float, *, by_overlap: bool) -> dict[int, Track]:
        pairs = []
        for t_index, track in enumerate(tracks):
            predicted = track.predicted_box(timestamp)
            for o_index, obs in enumerate(observations):
                similarity = None if obs.embedding is None else float(np.dot(track.embedding, obs.embedding))
                if by_overlap:
                    overlap = max(iou(predicted, obs.box), iou(track.box, obs.box))
                    if overlap >= self.min_iou and (similarity is None or similarity >= self.min_similarity_overlap):
                        pairs.append((overlap + (similarity or 0.0), t_index, o_index))
                elif similarity is not None and similarity >= self.min_similarity:
                    pairs.append((similarity, t_index, o_index))
        pairs.sort(key=lambda p: p[0], reverse=True)
        used_tracks: set[int] = set()
        matched: dict[int, Track] = {}
        for _, t_index, o_index in pairs:
            if t_index in used_tracks or o_index in matched:
                continue
            used_tracks.add(t_index)
            matched[o_index] = tracks[t_index]
        return matched

    def hold(self, timestamp: float) -> list[Track]:
        """A frame in which nothing moved: the tracks seen in the last analysed frame are seen again.

        Returns the tracks ended before it (not seen for max_age).
        """
        ended = self.expire(timestamp)
        if self.last_update is not None:
            for track in self.tracks:
                if track.last_seen >= self.last_update:
                    track.hold(timestamp, keep_shots=self.keep_shots)
        self.last_update = timestamp
        return ended

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

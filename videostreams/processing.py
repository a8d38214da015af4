"""Frames → events: the one processing path of the camera runner and of `manage.py process_video`.

A batch of frames (from one camera or several) is taken in rounds of at most one frame per camera.
Per round `videostreams.analysis` decides what to detect in each frame (nothing when nothing moved,
windows around the tracked faces, the moving parts, or the whole picture: `videostreams.planning`),
detects for every camera in one batch, crops and filters (region of interest, minimum size and
quality). Then each frame's faces go to its camera's tracker in time order, which asks for the
embeddings it needs: faces that start or re-find a track, and those good enough to be among the
track's best shots (a camera with ``detect_interval`` 1 detects the whole picture and embeds every
face of every frame: the reference the cheap path is measured against).

Per track the best shot (highest quality score) is kept with the frame it came from. A track makes
no event (and fires no rule) before it has been seen in ``min_track_frames`` frames; a shorter track
is dropped as noise (counted). The camera's mode decides when the event is written:

- ``realtime``: as soon as the track's best shots name somebody (decided when the track reaches
  ``min_track_frames``, then again when its best shot improves, at most every ``REDECIDE_SECONDS``),
  updated with better shots later; a track that never matches becomes an unknown event when it ends.
  A track's best shots are embedded when a decision needs them, not when they are seen.
- ``best_shot``: one event when the track ends, from its best shot.

Rules run when an event is created (`videostreams.rules.dispatch`); their failures are logged and
never stop processing.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

import cv2
import numpy as np
from django.conf import settings
from django.db import transaction

from enrollment import decision, gallery, identification
from faceapp import metrics
from enrollment.models import Face as EnrolledFace
from enrollment.services import current_embedding_model
from recognition.types import Face

from . import analysis, corrections, mqtt, sightings, voting
from .eventstore import apply_match, apply_shot, delete_files, when
from .analysis import quality_score  # noqa: F401  (part of this module's interface)
from .models import Camera, Event
from .planning import STILL
from .tracker import Observation, Track, Tracker

logger = logging.getLogger(__name__)

# A realtime event is decided again (votes, name, best shot) when its track's best shot improves, at
# most this often: each decision embeds the new best shots and searches them.
REDECIDE_SECONDS = 1.0


@dataclass(frozen=True)
class CameraConfig:
    """A snapshot of a camera's analysis settings (what the processing thread reads per frame)."""

    id: object
    name: str
    mode: str = Camera.Mode.REALTIME
    sample_fps: float = 5.0
    min_face_size: int = 40
    min_quality: float = 0.3
    roi: tuple | None = None
    match_threshold: float | None = None
    preset: str = ""  # empty: FACEAPP_MATCH_PRESET
    watchlist_ids: tuple = ()
    source: str = ""
    attributes: tuple = ()  # face attributes estimated once per best shot (recognition.attributes.KINDS)
    detect_interval: int = 5  # 1: the whole picture every frame, every face embedded (the reference)
    min_track_frames: int = 1

    @classmethod
    def from_camera(cls, camera: Camera) -> "CameraConfig":
        return cls(
            id=camera.id,
            name=camera.name,
            mode=camera.mode,
            sample_fps=camera.sample_fps,
            min_face_size=camera.min_face_size,
            min_quality=camera.min_quality,
            roi=tuple(camera.roi) if camera.roi else None,
            match_threshold=camera.match_threshold,
            preset=camera.preset,
            watchlist_ids=tuple(sorted(str(w.id) for w in camera.watchlists.all())),
            source=camera.source,
            attributes=tuple(camera.attributes or ()),
            detect_interval=camera.detect_interval,
            min_track_frames=camera.min_track_frames,
        )


@dataclass(eq=False)
class Frame:
    """One sampled frame: BGR pixels as OpenCV reads them, and when it was captured (epoch seconds)."""

    camera_id: object
    image: np.ndarray = field(repr=False)
    timestamp: float
    index: int = 0


@dataclass
class CameraCounters:
    frames: int = 0  # frames taken from the queue (analysed, or skipped because nothing moved)
    faces: int = 0
    events: int = 0
    still: int = 0  # frames in which nothing moved: no detection at all
    full: int = 0  # frames detected whole
    regions: int = 0  # frames detected in windows and moving parts only
    embedded: int = 0  # faces embedded
    short_tracks: int = 0  # tracks that ended before min_track_frames: no event


@dataclass(frozen=True, eq=False)
class Shot:
    """What a track keeps of its best shot: the face and the frame it was cut from."""

    face: Face
    frame: Frame
    score: float


class Processor:
    """Trackers and counters per camera; turns frame batches into stored events. One thread uses it."""

    def __init__(self, *, embedding_model: str | None = None, track_max_age: float | None = None):
        self.embedding_model = embedding_model or current_embedding_model()
        self.track_max_age = settings.FACEAPP_TRACK_MAX_AGE_SECONDS if track_max_age is None else track_max_age
        self.configs: dict[object, CameraConfig] = {}
        self.trackers: dict[object, Tracker] = {}
        self.counters: dict[object, CameraCounters] = {}
        self.analyser = analysis.FrameAnalyser()
        self._lock = threading.Lock()  # guards configs (the runner swaps them from its own thread)

    # --- configuration ---------------------------------------------------------------------------

    def set_config(self, config: CameraConfig) -> None:
        with self._lock:
            self.configs[config.id] = config
            self.trackers.setdefault(config.id, Tracker(max_age=self.track_max_age, prefix=f"{str(config.id)[:8]}-"))
            self.counters.setdefault(config.id, CameraCounters())

    def config(self, camera_id) -> CameraConfig | None:
        with self._lock:
            return self.configs.get(camera_id)

    # --- the work --------------------------------------------------------------------------------

    def process(self, frames: list[Frame]) -> list[Event]:
        """Analyse a batch of frames and track, recognise and store what they show → events written."""
        frames = sorted((f for f in frames if self.config(f.camera_id) is not None), key=lambda f: f.timestamp)
        written: list[Event] = []
        for round_ in _rounds(frames):
            items = [(frame, self.config(frame.camera_id), self.trackers[frame.camera_id].tracks) for frame in round_]
            for (_, config, _), analysed in zip(items, self.analyser.analyse(items)):
                written += self._track(config, analysed)
        return written

    def _track(self, config: CameraConfig, analysed: analysis.Analysed) -> list[Event]:
        frame, tracker, counters = analysed.frame, self.trackers[config.id], self.counters[config.id]
        counters.frames += 1
        metrics.camera_frames.labels(config.name).inc()
        if analysed.plan.kind == STILL:
            counters.still += 1
            ended = tracker.hold(frame.timestamp)
            touched = [t for t in tracker.tracks if t.last_seen == frame.timestamp]
        else:
            setattr(counters, analysed.plan.kind, getattr(counters, analysed.plan.kind) + 1)
            faces = analysed.faces
            counters.faces += len(faces)
            if config.detect_interval <= 1:  # the reference: every face embedded
                faces = list(zip(analysis.embed(analysed.rgb, [f for f, _ in faces]), [s for _, s in faces]))
                counters.embedded += len(faces)
            observations = [Observation(box=face.detection.box, embedding=face.embedding, quality=score, timestamp=frame.timestamp,
                                        payload=Shot(face, frame, score)) for face, score in faces]

            def embed(needed: list[Observation]) -> None:
                counters.embedded += len(needed)
                for obs, face in zip(needed, analysis.embed(analysed.rgb, [o.payload.face for o in needed])):
                    obs.embedding, obs.payload = face.embedding, Shot(face, frame, obs.quality)

            touched, ended = tracker.update(observations, frame.timestamp, embed=embed, verify=analysed.plan.cut)
        written: list[Event] = []
        for track in ended:
            written += self._safely(self._track_ended, config.id, track)
        for track in touched:
            written += self._safely(self._track_seen, config.id, track)
        return written

    def expire(self, now: float) -> list[Event]:
        """End the tracks not seen for track_max_age seconds (cameras that went quiet)."""
        written = []
        for camera_id, tracker in list(self.trackers.items()):
            for track in tracker.expire(now):
                written += self._safely(self._track_ended, camera_id, track)
        return written

    def flush(self, camera_id=None) -> list[Event]:
        """End every live track (of one camera, or of all): the stream stopped or the runner is stopping."""
        written = []
        for cid, tracker in list(self.trackers.items()):
            if camera_id is None or cid == camera_id:
                for track in tracker.flush():
                    written += self._safely(self._track_ended, cid, track)
                self.analyser.forget(cid)  # the next frame starts afresh: detected whole
        return written

    def forget(self, camera_id) -> list[Event]:
        """Flush and drop a camera that was disabled or deleted."""
        written = self.flush(camera_id)
        with self._lock:
            self.configs.pop(camera_id, None)
            self.trackers.pop(camera_id, None)
            self.counters.pop(camera_id, None)
        self.analyser.forget(camera_id)
        return written

    # --- tracks → events -------------------------------------------------------------------------

    def _safely(self, handler, camera_id, track: Track) -> list[Event]:
        try:
            event = handler(camera_id, track)
        except Exception:
            logger.exception("could not store the event of track %s on camera %s", track.id, camera_id)
            return []
        return [event] if event is not None else []

    def _track_seen(self, camera_id, track: Track) -> Event | None:
        config = self.config(camera_id)
        if config is None or config.mode != Camera.Mode.REALTIME or track.frames < config.min_track_frames:
            return None
        decided = track.state.get("decided_at")
        if decided is not None and not (track.best_changed and track.last_seen - decided >= REDECIDE_SECONDS):
            return None  # nothing new to show, or shown less than REDECIDE_SECONDS ago
        track.state["decided_at"] = track.last_seen
        match = self._decide_track(config, track)
        shot: Shot = track.best.payload  # after the decision, which embeds the best shots
        event_id = track.state.get("event_id")
        if event_id is None:
            if match is None:
                return None  # realtime waits for a match; an unknown face becomes an event when its track ends
            event = self._create_event(config, track, shot, match, closed=False)
            track.state["event_id"] = event.id
            self._dispatch(event, shot)
            return event
        return self._update_event(event_id, track, shot, match, closed=False)

    def _track_ended(self, camera_id, track: Track) -> Event | None:
        config = self.config(camera_id)
        if config is None:
            return None
        event_id = track.state.get("event_id")
        if event_id is not None:
            match = self._decide_track(config, track)
            shot: Shot = track.best.payload
            newer = shot if track.state.get("shown") is not track.best else None  # a better shot since the last update
            return self._update_event(event_id, track, newer, match, closed=True)
        if track.frames < config.min_track_frames:
            self.counters[camera_id].short_tracks += 1
            return None
        match = self._decide_track(config, track)
        shot = track.best.payload
        event = self._create_event(config, track, shot, match, closed=True)
        self._dispatch(event, shot)
        return event

    def _embed_shots(self, camera_id, track: Track) -> None:
        """Embed the track's best shots that are not yet (the tracker keeps them unembedded until needed)."""
        missing = [o for o in {id(o): o for o in [*track.shots, track.best]}.values() if o.embedding is None]
        shots: dict[int, list[Observation]] = {}  # one shot may stand for several frames (a still face held)
        for observation in missing:
            shots.setdefault(id(observation.payload), []).append(observation)
        by_frame: dict[int, list[list[Observation]]] = {}
        for same in shots.values():
            by_frame.setdefault(id(same[0].payload.frame), []).append(same)
        for groups in by_frame.values():
            frame = groups[0][0].payload.frame
            rgb = cv2.cvtColor(frame.image, cv2.COLOR_BGR2RGB)
            for same, face in zip(groups, analysis.embed(rgb, [g[0].payload.face for g in groups])):
                shot = Shot(face, frame, same[0].quality)
                for observation in same:
                    observation.embedding, observation.payload = face.embedding, shot
                track.learn(face.embedding)
        counters = self.counters.get(camera_id)
        if counters is not None:
            counters.embedded += len(shots)

    def _decide_track(self, config: CameraConfig, track: Track) -> gallery.Match | None:
        """The track's name by vote of its best shots (videostreams.voting); the outcome is kept for the event."""
        self._embed_shots(config.id, track)
        faces = EnrolledFace.objects.filter(person__watchlists__in=config.watchlist_ids).distinct() if config.watchlist_ids else None
        size = gallery.gallery_size(embedding_model=self.embedding_model, faces=faces, key=config.watchlist_ids or None)
        policy = decision.policy(embedding_model=self.embedding_model, gallery_size=size, preset=config.preset or None,
                                 threshold=config.match_threshold)
        searched = track.state.setdefault("searched", {})  # id(observation) → (vote, match): each shot is searched once
        votes, matches = [], {}
        for observation in track.shots:
            key = id(observation)
            if key not in searched:
                face = observation.payload.face
                found = identification.search_face(face, policy=policy, embedding_model=self.embedding_model, faces=faces)
                match = found.candidates[0] if found.candidates else None
                weight = voting.vote_weight(clearance=found.decision.clearance, face_size=face.detection.size,
                                            named=match is not None)
                searched[key] = (voting.Vote(str(match.person.id) if match else None, found.decision.score,
                                             int(face.detection.size), weight), match)
            vote, match = searched[key]
            votes.append(vote)
            if match is not None:
                matches.setdefault(vote.person_id, match)
        # An operator's "not this person" on the track's event holds for every later decision of the open track (one
        # indexed query per decision of a track that has an event).
        excluded = corrections.excluded_people(track.state["event_id"]) if track.state.get("event_id") else set()
        current = track.state.get("named")
        if excluded:
            votes = voting.without(votes, excluded)
            current = None if current in excluded else current
        outcome = voting.tally(votes, min_votes=settings.FACEAPP_TRACK_MIN_VOTES, current=current)
        track.state["named"] = outcome.person_id
        track.state["outcome"] = {**outcome.as_json(), "preset": policy.preset, "threshold": round(policy.threshold, 4),
                                  "gallery_size": size, "score": policy.score_kind,
                                  "normalised_threshold": round(policy.normalisation.threshold, 3) if policy.normalisation else None}
        return matches.get(outcome.person_id) if outcome.person_id else None

    def _create_event(self, config: CameraConfig, track: Track, shot: Shot, match, *, closed: bool) -> Event:
        event = Event(
            camera_id=config.id,
            track_id=track.id,
            first_seen=when(track.first_seen),
            last_seen=when(track.last_seen),
            frames_seen=track.frames,
            closed=closed,
            embedding_model=self.embedding_model,
        )
        apply_match(event, match)
        event.votes = track.state.get("outcome", {})
        written = apply_shot(event, shot, config.attributes)
        track.state["shown"] = track.best
        try:
            with transaction.atomic():
                event.save()
        except BaseException:
            delete_files(written)
            raise
        self.counters[config.id].events += 1
        if closed:
            sightings.keep(event, config.name)
        mqtt.publish_event(event, "end" if closed else "new")
        metrics.camera_events.labels(config.name, str(event.matched).lower()).inc()
        return event

    def _update_event(self, event_id, track: Track, shot: Shot | None, match, *, closed: bool) -> Event | None:
        event = Event.objects.filter(pk=event_id).first()
        if event is None:  # deleted meanwhile (retention, an operator)
            return None
        event.last_seen = when(track.last_seen)
        event.frames_seen = track.frames
        event.closed = closed
        if "outcome" in track.state:
            event.votes = track.state["outcome"]
            apply_match(event, match)  # the vote decides; a name changes only when another person's votes overtake it
        old_files = []
        if shot is not None:
            old_files = event.image_names()
            config = self.config(event.camera_id)
            apply_shot(event, shot, config.attributes if config else ())
            track.state["shown"] = track.best
        event.save()
        delete_files(old_files)
        if closed:
            config = self.config(event.camera_id)
            sightings.keep(event, config.name if config else "")
        mqtt.publish_event(event, "end" if closed else "update")
        return event

    def _dispatch(self, event: Event, shot: Shot) -> None:
        from . import rules

        rules.dispatch(event, shot.face)


def _rounds(frames: list[Frame]) -> list[list[Frame]]:
    """Frames in time order → rounds holding at most one frame per camera, in the same order."""
    rounds: list[list[Frame]] = []
    current: list[Frame] = []
    seen: set = set()
    for frame in frames:
        if frame.camera_id in seen:
            rounds.append(current)
            current, seen = [], set()
        current.append(frame)
        seen.add(frame.camera_id)
    if current:
        rounds.append(current)
    return rounds

"""Frames → events: the one processing path of the camera runner and of `manage.py process_video`.

For a batch of frames (from one camera or several): detect faces in each frame with the same
pipeline as the photo API (`recognition.pipeline.analyse_image`), drop faces outside the camera's
region of interest or below its minimum quality, embed every remaining face of the whole batch in
one FaceNet call (batching across frames and cameras is where video gains over photos: one ONNX
run for many crops), then feed each frame's faces to its camera's tracker in time order.

Per track the best shot (highest quality score) is kept with the frame it came from. The camera's
mode decides when the event is written:

- ``realtime``: as soon as the track's best shot matches somebody (search runs again each time the
  best shot improves), updated with better shots later; a track that never matches becomes an
  unknown event when it ends.
- ``best_shot``: one event when the track ends, from its best shot.

Rules run when an event is created (`videostreams.rules.dispatch`); their failures are logged and
never stop processing.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import threading
from dataclasses import dataclass, field

import cv2
import numpy as np
from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction

from enrollment import decision, gallery, identification
from faceapp import metrics
from enrollment.models import Face as EnrolledFace
from enrollment.services import current_embedding_model, encode_jpeg, make_thumbnail
from recognition import embedders, pipeline
from recognition.types import Face, Quality

from . import voting
from .models import Camera, Event
from .tracker import Observation, Track, Tracker

logger = logging.getLogger(__name__)


def quality_score(quality: Quality) -> float:
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
    frames: int = 0
    faces: int = 0
    events: int = 0


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

    def analyse(self, frames: list[Frame]) -> list[list[tuple[Face, float]]]:
        """Detect in each frame, filter, and embed all kept faces in one batch → per frame [(face, score)]."""
        per_frame: list[list[tuple[Face, float]]] = []
        chosen = embedders.active()
        inputs: list[np.ndarray] = []
        for frame in frames:
            config = self.config(frame.camera_id)
            rgb = cv2.cvtColor(frame.image, cv2.COLOR_BGR2RGB)
            analysis = pipeline.analyse_image(rgb, min_face_size=config.min_face_size, with_embeddings=False)
            kept = []
            for face in analysis.faces:
                if face.detection.size < config.min_face_size or not _in_roi(face, config.roi, analysis.width, analysis.height):
                    continue
                score = quality_score(face.quality)
                if score >= config.min_quality:
                    kept.append((face, score))
            per_frame.append(kept)
            inputs += embedders.prepare_faces(rgb, [f.detection for f, _ in kept], crops=[f.crop for f, _ in kept], chosen=chosen)
        # One embedding batch across all the frames' faces.
        vectors = iter(chosen.embed(inputs))
        return [[(dataclasses.replace(face, embedding=next(vectors)), score) for face, score in kept] for kept in per_frame]

    def process(self, frames: list[Frame]) -> list[Event]:
        """Analyse a batch of frames and track, recognise and store what they show → events written."""
        frames = [f for f in frames if self.config(f.camera_id) is not None]
        if not frames:
            return []
        analysed = self.analyse(frames)
        written: list[Event] = []
        for frame, faces in sorted(zip(frames, analysed), key=lambda pair: pair[0].timestamp):
            counters = self.counters[frame.camera_id]
            counters.frames += 1
            counters.faces += len(faces)
            metrics.camera_frames.labels(self.config(frame.camera_id).name).inc()
            observations = [
                Observation(box=face.detection.box, embedding=face.embedding, quality=score, timestamp=frame.timestamp, payload=Shot(face, frame, score))
                for face, score in faces
            ]
            touched, ended = self.trackers[frame.camera_id].update(observations, frame.timestamp)
            for track in ended:
                written += self._safely(self._track_ended, frame.camera_id, track)
            for track in touched:
                written += self._safely(self._track_seen, frame.camera_id, track)
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
        return written

    def forget(self, camera_id) -> list[Event]:
        """Flush and drop a camera that was disabled or deleted."""
        written = self.flush(camera_id)
        with self._lock:
            self.configs.pop(camera_id, None)
            self.trackers.pop(camera_id, None)
            self.counters.pop(camera_id, None)
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
        if config is None or config.mode != Camera.Mode.REALTIME or not track.best_changed:
            return None
        shot: Shot = track.best.payload
        match = self._decide_track(config, track)
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
        shot: Shot = track.best.payload
        event_id = track.state.get("event_id")
        if event_id is not None:
            return self._update_event(event_id, track, None, self._decide_track(config, track), closed=True)
        match = self._decide_track(config, track)
        event = self._create_event(config, track, shot, match, closed=True)
        self._dispatch(event, shot)
        return event

    def _decide_track(self, config: CameraConfig, track: Track) -> gallery.Match | None:
        """The track's name by vote of its best shots (videostreams.voting); the outcome is kept for the event."""
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
                weight = voting.vote_weight(score=found.decision.similarity, threshold=policy.threshold,
                                            face_size=face.detection.size, named=match is not None)
                searched[key] = (voting.Vote(str(match.person.id) if match else None, found.decision.similarity,
                                             int(face.detection.size), weight), match)
            vote, match = searched[key]
            votes.append(vote)
            if match is not None:
                matches.setdefault(vote.person_id, match)
        outcome = voting.tally(votes, min_votes=settings.FACEAPP_TRACK_MIN_VOTES, current=track.state.get("named"))
        track.state["named"] = outcome.person_id
        track.state["outcome"] = {**outcome.as_json(), "preset": policy.preset, "threshold": round(policy.threshold, 4),
                                  "gallery_size": size}
        return matches.get(outcome.person_id) if outcome.person_id else None

    def _create_event(self, config: CameraConfig, track: Track, shot: Shot, match, *, closed: bool) -> Event:
        event = Event(
            camera_id=config.id,
            track_id=track.id,
            first_seen=_when(track.first_seen),
            last_seen=_when(track.last_seen),
            frames_seen=track.frames,
            closed=closed,
            embedding_model=self.embedding_model,
        )
        _apply_match(event, match)
        event.votes = track.state.get("outcome", {})
        written = _apply_shot(event, shot)
        try:
            with transaction.atomic():
                event.save()
        except BaseException:
            _delete_files(written)
            raise
        self.counters[config.id].events += 1
        metrics.camera_events.labels(config.name, str(event.matched).lower()).inc()
        return event

    def _update_event(self, event_id, track: Track, shot: Shot | None, match, *, closed: bool) -> Event | None:
        event = Event.objects.filter(pk=event_id).first()
        if event is None:  # deleted meanwhile (retention, an operator)
            return None
        event.last_seen = _when(track.last_seen)
        event.frames_seen = track.frames
        event.closed = closed
        if "outcome" in track.state:
            event.votes = track.state["outcome"]
            _apply_match(event, match)  # the vote decides; a name changes only when another person's votes overtake it
        old_files = []
        if shot is not None:
            old_files = event.image_names()
            _apply_shot(event, shot)
        event.save()
        _delete_files(old_files)
        return event

    def _dispatch(self, event: Event, shot: Shot) -> None:
        from . import rules

        rules.dispatch(event, shot.face)


def _apply_match(event: Event, match) -> None:
    event.person = match.person if match else None
    event.similarity = round(match.similarity, 4) if match else None
    event.matched = match is not None


def _apply_shot(event: Event, shot: Shot) -> list[str]:
    """Put the shot's crop, thumbnail, full frame and metadata on the event (files written now)."""
    face = shot.face
    x1, y1, x2, y2 = face.detection.box
    event.box = {"x": int(round(x1)), "y": int(round(y1)), "width": int(round(x2 - x1)), "height": int(round(y2 - y1))}
    event.quality = shot.score
    event.quality_details = face.quality.as_dict()
    event.frame_height, event.frame_width = shot.frame.image.shape[:2]
    event.embedding = face.embedding.tolist()
    crop_jpeg = encode_jpeg(face.crop, quality=90)
    ok, frame_jpeg = cv2.imencode(".jpg", shot.frame.image, [cv2.IMWRITE_JPEG_QUALITY, settings.FACEAPP_EVENT_FRAME_JPEG_QUALITY])
    if not ok:
        raise RuntimeError("could not encode the frame as JPEG")
    written = []
    name = f"{event.id}-{shot.frame.index}.jpg"
    event.crop.save(name, ContentFile(crop_jpeg), save=False)
    written.append(event.crop.name)
    event.thumbnail.save(name, ContentFile(make_thumbnail(crop_jpeg)), save=False)
    written.append(event.thumbnail.name)
    event.frame.save(name, ContentFile(frame_jpeg.tobytes()), save=False)
    written.append(event.frame.name)
    return written


def _delete_files(names: list[str]) -> None:
    from django.core.files.storage import default_storage

    for name in names:
        try:
            default_storage.delete(name)
        except OSError:
            logger.warning("could not delete %s", name)


def _in_roi(face: Face, roi, width: int, height: int) -> bool:
    if not roi:
        return True
    x1, y1, x2, y2 = face.detection.box
    cx, cy = (x1 + x2) / 2 / width, (y1 + y2) / 2 / height
    return roi[0] <= cx <= roi[2] and roi[1] <= cy <= roi[3]


def _when(timestamp: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(timestamp, tz=dt.timezone.utc)

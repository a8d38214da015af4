import time

import numpy as np

import pytest

from tests.videostreams.conftest import clip_path
from enrollment.models import Watchlist
from recognition.types import Quality
from videostreams.models import Camera, Event
from videostreams.processing import CameraConfig, Frame, Processor, quality_score
from videostreams.sources import file_frames

pytestmark = pytest.mark.django_db(transaction=True)


def frames_of(camera_id, fps=3, until=None):
    base = time.time()
    for index, position, image in file_frames(clip_path(), fps):
        if until is not None and position > until:
            return
        yield Frame(camera_id=camera_id, image=image, timestamp=base + position, index=index)


def run(processor, frames, batch=4):
    frames = list(frames)
    for start in range(0, len(frames), batch):
        processor.process(frames[start : start + batch])


def test_quality_prefers_large_sharp_frontal_confident_faces():
    good = Quality(detection_score=0.999, face_size=120, sharpness=400, yaw=2, pitch=3, roll=1)
    small = Quality(detection_score=0.999, face_size=30, sharpness=400, yaw=2, pitch=3, roll=1)
    profile = Quality(detection_score=0.999, face_size=120, sharpness=400, yaw=55, pitch=3, roll=1)
    blurred = Quality(detection_score=0.999, face_size=120, sharpness=10, yaw=2, pitch=3, roll=1)
    assert quality_score(good) > max(quality_score(small), quality_score(profile), quality_score(blurred))
    assert 0 <= quality_score(blurred) <= quality_score(good) <= 1


def test_realtime_mode_writes_the_event_as_soon_as_the_face_is_recognised_and_updates_it(obama):
    camera = Camera.objects.create(name="rt", source="x", mode=Camera.Mode.REALTIME)
    processor = Processor()
    processor.set_config(CameraConfig.from_camera(camera))
    frames = list(frames_of(camera.id))
    # Obama is in view from 2.4 s: run until he has been seen in min_track_frames (3) sampled frames (3 frames/s),
    # long before he leaves.
    assert camera.min_track_frames == 3
    run(processor, [f for f in frames if f.timestamp - frames[0].timestamp < 4.0])
    live = Event.objects.filter(camera=camera, person=obama, closed=False)
    assert live.exists(), "no event while the face is still in view"
    event = live.get()
    run(processor, [f for f in frames if f.timestamp - frames[0].timestamp >= 4.0])
    processor.flush()
    event.refresh_from_db()
    assert event.closed and event.frames_seen > 3 and event.last_seen > event.first_seen


def test_best_shot_mode_writes_one_event_per_track_only_when_it_ends(obama):
    camera = Camera.objects.create(name="bs", source="x", mode=Camera.Mode.BEST_SHOT)
    processor = Processor()
    processor.set_config(CameraConfig.from_camera(camera))
    run(processor, frames_of(camera.id, until=5))
    open_tracks = len(processor.trackers[camera.id].tracks)
    assert open_tracks >= 1
    before = Event.objects.filter(camera=camera).count()
    processor.flush()
    events = Event.objects.filter(camera=camera)
    assert events.count() == before + open_tracks and all(e.closed for e in events)
    assert events.filter(person=obama).exists()


def test_a_camera_matches_only_its_watchlists(obama):
    others = Watchlist.objects.create(name="others")
    camera = Camera.objects.create(name="wl", source="x", mode=Camera.Mode.BEST_SHOT)
    camera.watchlists.add(others)
    processor = Processor()
    processor.set_config(CameraConfig.from_camera(camera))
    run(processor, frames_of(camera.id, until=5))
    processor.flush()
    assert Event.objects.filter(camera=camera).exists()
    assert not Event.objects.filter(camera=camera, matched=True).exists()


def test_faces_outside_the_region_of_interest_or_below_min_quality_are_ignored(models_ready):
    left = Camera.objects.create(name="left-edge", source="x", roi=[0.0, 0.0, 0.05, 1.0])
    strict = Camera.objects.create(name="strict", source="x", min_quality=0.99)
    everything = Camera.objects.create(name="all", source="x")
    processor = Processor()
    for camera in (left, strict, everything):
        processor.set_config(CameraConfig.from_camera(camera))
    frames = list(frames_of(None, until=4))
    for camera in (left, strict, everything):
        run(processor, [Frame(camera_id=camera.id, image=f.image, timestamp=f.timestamp, index=f.index) for f in frames])
    assert processor.counters[everything.id].faces > 0
    assert processor.counters[left.id].faces == 0 and processor.counters[strict.id].faces == 0
    assert processor.counters[left.id].frames == len(frames)


def still_frames(camera_id, count, name="obama-480p.jpg", start=1000.0):
    from tests.conftest import load_rgb

    image = np.ascontiguousarray(load_rgb("samples", name)[:, :, ::-1])
    return [Frame(camera_id=camera_id, image=image.copy(), timestamp=start + i * 0.2, index=i) for i in range(count)]


def test_a_static_scene_is_detected_once_and_its_face_held_until_it_ends(models_ready):
    camera = Camera.objects.create(name="still", source="x", mode=Camera.Mode.BEST_SHOT)
    processor = Processor()
    processor.set_config(CameraConfig.from_camera(camera))
    run(processor, still_frames(camera.id, 20))
    counters = processor.counters[camera.id]
    assert counters.frames == 20 and counters.full == 1 and counters.still == 19 and counters.regions == 0
    processor.flush()
    (event,) = Event.objects.filter(camera=camera)
    assert event.frames_seen == 20 and event.closed
    assert counters.embedded <= 2


def test_a_track_shorter_than_min_track_frames_makes_no_event(models_ready):
    camera = Camera.objects.create(name="short", source="x", mode=Camera.Mode.BEST_SHOT, min_track_frames=3)
    processor = Processor()
    processor.set_config(CameraConfig.from_camera(camera))
    frames = still_frames(camera.id, 2)
    run(processor, frames)
    processor.flush()
    assert not Event.objects.filter(camera=camera).exists()
    assert processor.counters[camera.id].short_tracks == 1
    run(processor, still_frames(camera.id, 3, start=1010.0))  # the stream again after a flush: detected afresh
    processor.flush()
    assert Event.objects.filter(camera=camera).count() == 1


def test_full_detection_on_every_frame_embeds_every_face(models_ready):
    camera = Camera.objects.create(name="reference", source="x", mode=Camera.Mode.BEST_SHOT, detect_interval=1)
    processor = Processor()
    processor.set_config(CameraConfig.from_camera(camera))
    run(processor, still_frames(camera.id, 4))
    counters = processor.counters[camera.id]
    assert counters.full == 4 and counters.still == 0 and counters.embedded == counters.faces == 4

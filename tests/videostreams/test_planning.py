"""videostreams.planning: what to detect in each frame, from motion and the tracks."""
import numpy as np

from tests.conftest import load_rgb
from videostreams.planning import FULL, REGIONS, STILL, Planner
from videostreams.tracker import Observation, Tracker


def scene():
    """A 640×480 BGR frame: the brick wall with a photo of Obama pasted at (x, y)."""
    wall = np.ascontiguousarray(load_rgb("nonfaces", "brick.jpg")[:, :, ::-1])
    wall = np.ascontiguousarray(np.resize(wall, (480, 640, 3)))
    face = np.ascontiguousarray(load_rgb("samples", "obama-240p.jpg")[:, :, ::-1][40:200, 150:290])

    def at(x: int, y: int = 150) -> np.ndarray:
        frame = wall.copy()
        frame[y: y + face.shape[0], x: x + face.shape[1]] = face
        return frame
    return at


def track_at(x, t=0.0):
    tracker = Tracker()
    tracker.update([Observation((x + 40, 170, x + 100, 240), np.ones(4, np.float32) / 2, 0.5, t)], t)
    return tracker


def test_a_static_scene_analyses_almost_no_frames():
    at = scene()
    planner = Planner(detect_interval=5, min_face_size=40)
    tracker = track_at(200)
    kinds = []
    for i in range(50):
        plan = planner.plan(at(200), tracker.tracks, i * 0.2)
        kinds.append(plan.kind)
        if plan.kind != STILL:
            planner.analysed(plan, (480, 640))
    assert kinds[0] == FULL and kinds[1:] == [STILL] * 49


def test_a_moving_face_is_looked_for_in_a_window_where_it_goes():
    at = scene()
    planner = Planner(detect_interval=5, min_face_size=40)
    first = planner.plan(at(200), [], 0.0)
    planner.analysed(first, (480, 640))
    tracker = track_at(200)
    plan = planner.plan(at(215), tracker.tracks, 0.2)
    assert plan.kind == REGIONS
    window = plan.regions[0]
    x1, y1, x2, y2 = window.box
    assert x1 < 240 and x2 > 300 and y1 < 170 and y2 > 240  # around the face
    assert (x2 - x1) * (y2 - y1) < 0.2 * 640 * 480
    assert window.base_face_size == 40 and window.max_face_size < 200


def test_interval_one_detects_the_whole_picture_every_frame():
    at = scene()
    planner = Planner(detect_interval=1, min_face_size=40, roi=(0.25, 0, 1, 1))
    for i in range(5):
        plan = planner.plan(at(200), [], i * 0.2)
        assert plan.kind == FULL and plan.regions[0].box == (160, 0, 640, 480)


def test_a_cut_detects_the_whole_picture_and_asks_for_embeddings():
    at = scene()
    planner = Planner(detect_interval=5, min_face_size=40)
    planner.analysed(planner.plan(at(200), [], 0.0), (480, 640))
    other = np.ascontiguousarray(np.resize(load_rgb("nonfaces", "coffee.jpg")[:, :, ::-1], (480, 640, 3)))
    plan = planner.plan(other, track_at(200).tracks, 0.2)
    assert plan.kind == FULL and plan.cut

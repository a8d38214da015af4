import numpy as np

from videostreams.tracker import Observation, Tracker, iou


def unit(seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=512).astype(np.float32)
    return v / np.linalg.norm(v)


def near(v: np.ndarray, seed: int, noise: float = 0.3) -> np.ndarray:
    w = v + noise * unit(seed)
    return (w / np.linalg.norm(w)).astype(np.float32)


def obs(box, vector, quality, t):
    return Observation(box=box, embedding=vector, quality=quality, timestamp=t, payload=f"shot@{t}")


def test_iou():
    assert iou((0, 0, 10, 10), (0, 0, 10, 10)) == 1.0
    assert iou((0, 0, 10, 10), (20, 20, 30, 30)) == 0.0
    assert abs(iou((0, 0, 10, 10), (5, 0, 15, 10)) - 1 / 3) < 1e-9


def test_a_moving_face_stays_one_track_and_keeps_its_best_shot():
    tracker = Tracker(max_age=1.0)
    face = unit(1)
    qualities = [0.4, 0.7, 0.5, 0.6]
    for i, q in enumerate(qualities):
        touched, ended = tracker.update([obs((10 + 5 * i, 10, 60 + 5 * i, 60), near(face, 100 + i), q, i * 0.2)], i * 0.2)
        assert len(touched) == 1 and ended == []
    assert len(tracker.tracks) == 1
    track = tracker.tracks[0]
    assert track.frames == 4 and track.best.quality == 0.7 and track.best.payload == "shot@0.2"
    assert track.first_seen == 0.0 and abs(track.last_seen - 0.6) < 1e-9


def test_two_faces_side_by_side_get_two_tracks_even_when_they_cross():
    tracker = Tracker()
    a, b = unit(1), unit(2)
    tracker.update([obs((0, 0, 50, 50), a, 0.5, 0.0), obs((100, 0, 150, 50), b, 0.5, 0.0)], 0.0)
    first_ids = {tuple(t.embedding[:3]): t.id for t in tracker.tracks}
    assert len(first_ids) == 2
    # They swap places between two sampled frames: similarity keeps them apart, not position.
    touched, _ = tracker.update([obs((100, 0, 150, 50), near(a, 5, 0.1), 0.5, 0.2), obs((0, 0, 50, 50), near(b, 6, 0.1), 0.5, 0.2)], 0.2)
    assert len(tracker.tracks) == 2
    by_box = {t.box[0]: t for t in touched}
    assert float(np.dot(by_box[100].embedding, a)) > 0.9 and float(np.dot(by_box[0].embedding, b)) > 0.9


def test_a_different_person_at_the_same_place_starts_a_new_track():
    tracker = Tracker()
    tracker.update([obs((0, 0, 50, 50), unit(1), 0.5, 0.0)], 0.0)
    tracker.update([obs((0, 0, 50, 50), unit(2), 0.5, 0.2)], 0.2)  # random 512-d vectors: cosine ≈ 0
    assert len(tracker.tracks) == 2


def test_a_face_unseen_for_max_age_ends_its_track():
    tracker = Tracker(max_age=1.0)
    tracker.update([obs((0, 0, 50, 50), unit(1), 0.5, 0.0)], 0.0)
    touched, ended = tracker.update([], 0.9)
    assert ended == [] and len(tracker.tracks) == 1
    touched, ended = tracker.update([], 1.1)
    assert len(ended) == 1 and tracker.tracks == []
    tracker.update([obs((0, 0, 50, 50), unit(3), 0.5, 2.0)], 2.0)
    assert len(tracker.expire(5.0)) == 1
    tracker.update([obs((0, 0, 50, 50), unit(4), 0.5, 6.0)], 6.0)
    assert len(tracker.flush()) == 1 and tracker.tracks == []

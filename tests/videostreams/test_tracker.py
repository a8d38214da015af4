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


def embedder_for(vectors: dict):
    """An embed callback that gives each observation the vector of the face it shows (payload = face name)."""
    calls = []

    def embed(observations):
        calls.append(len(observations))
        for o in observations:
            o.embedding = vectors[o.payload]
    return embed, calls


def moving(x: float, y: float = 100, size: float = 60):
    return (x, y, x + size, y + size)


def test_a_face_crossing_the_frame_keeps_one_track_and_is_embedded_only_when_needed():
    tracker = Tracker(max_age=1.0)
    embed, calls = embedder_for({"a": unit(1)})
    for i in range(20):  # 45 px a frame, 0.75 of its width: overlap with the last box alone would fall below 0.5
        t = i * 0.2
        tracker.update([Observation(moving(45 * i), None, 0.5, t, payload="a")], t, embed=embed)
    assert len(tracker.tracks) == 1 and tracker.tracks[0].frames == 20
    # The first frame is embedded (a new face); the predicted box covers every later one.
    assert sum(calls) <= 2
    assert tracker.tracks[0].velocity[0] > 200


def test_two_faces_crossing_each_other_keep_their_tracks_without_embeddings():
    tracker = Tracker(max_age=1.0)
    embed, calls = embedder_for({"a": unit(1), "b": unit(2)})
    ids = None
    for i in range(16):
        t = i * 0.2
        a = Observation(moving(40 * i), None, 0.5, t, payload="a")  # left to right
        b = Observation(moving(600 - 40 * i, 110), None, 0.5, t, payload="b")  # right to left, a little lower
        touched, _ = tracker.update([a, b], t, embed=embed)
        now = {o.payload: track.id for o, track in zip([a, b], touched)}
        ids = ids or now
        assert now == ids, f"frame {i}: tracks swapped"
    assert len(tracker.tracks) == 2
    # In the frames where they overlap, each face overlaps the wrong track too: matching leans on the predicted boxes.
    assert sum(calls) <= 6


def test_after_a_cut_a_different_person_in_the_same_place_starts_a_new_track():
    tracker = Tracker(max_age=2.0)
    embed, _ = embedder_for({"a": unit(1), "b": unit(2)})
    tracker.update([Observation(moving(100), None, 0.5, 0.0, payload="a")], 0.0, embed=embed)
    first = tracker.tracks[0]
    tracker.update([Observation(moving(100), None, 0.5, 0.2, payload="b")], 0.2, embed=embed, verify=True)
    assert len(tracker.tracks) == 2 and first.frames == 1


def test_a_track_keeps_its_best_shots_unembedded_until_asked():
    tracker = Tracker(max_age=1.0, keep_shots=3)
    embed, _ = embedder_for({"a": unit(1)})
    for i, q in enumerate([0.3, 0.9, 0.5, 0.7, 0.2]):
        tracker.update([Observation(moving(10 * i), None, q, i * 0.2, payload="a")], i * 0.2, embed=embed)
    track = tracker.tracks[0]
    assert [o.quality for o in track.shots] == [0.9, 0.7, 0.5]
    assert track.best.quality == 0.9 and track.best.embedding is None  # the caller embeds shots when a decision needs them


def test_a_still_frame_holds_the_faces_seen_in_the_last_analysed_frame():
    tracker = Tracker(max_age=1.0)
    tracker.update([obs((0, 0, 50, 50), unit(1), 0.5, 0.0)], 0.0)
    for t in (0.5, 1.0, 1.5, 2.0):
        assert tracker.hold(t) == []
    assert tracker.tracks[0].frames == 5 and tracker.tracks[0].last_seen == 2.0
    # A face already gone before the still frames ages as usual.
    tracker.update([obs((300, 0, 350, 50), unit(2), 0.5, 2.2)], 2.2)
    tracker.update([obs((300, 0, 350, 50), unit(2), 0.5, 2.4)], 2.4)
    ended = [t for s in (2.8, 3.2, 3.6) for t in tracker.hold(s)]
    assert [t.frames for t in ended] == [5]

"""videostreams.motion: what changed between frames, on noisy pictures."""
import numpy as np

from tests.conftest import load_rgb
from videostreams.motion import MotionDetector


def noisy(image: np.ndarray, seed: int, sigma: float = 3.0) -> np.ndarray:
    noise = np.random.default_rng(seed).normal(0, sigma, image.shape)
    return np.clip(image + noise, 0, 255).astype(np.uint8)


def background() -> np.ndarray:
    return np.ascontiguousarray(load_rgb("nonfaces", "brick.jpg")[:, :, ::-1])


def test_the_first_frame_counts_as_changed_everywhere():
    motion, _ = MotionDetector().compare(background())
    assert motion.moved and motion.cut and motion.fraction == 1.0


def test_sensor_noise_alone_is_no_motion():
    detector = MotionDetector()
    frame = background()
    detector.accept(detector.compare(noisy(frame, 0))[1], frame.shape[:2])
    for seed in range(1, 10):
        motion, _ = detector.compare(noisy(frame, seed))
        assert not motion.moved and motion.fraction == 0.0


def test_a_moving_patch_is_one_blob_where_it_moved():
    detector = MotionDetector()
    frame = background()
    height, width = frame.shape[:2]
    detector.accept(detector.compare(frame)[1], frame.shape[:2])
    moved = frame.copy()
    moved[100:200, 150:230] = (40, 200, 40)
    motion, _ = detector.compare(moved)
    assert len(motion.boxes) == 1 and not motion.cut
    x1, y1, x2, y2 = motion.boxes[0]
    assert x1 <= 150 and y1 <= 100 and x2 >= 230 and y2 >= 200  # covers the change, with the dilation's margin
    assert (x2 - x1) * (y2 - y1) < 0.15 * width * height


def test_another_scene_is_a_cut_even_where_it_keeps_dark_areas_dark():
    detector = MotionDetector()
    frame = background()
    detector.accept(detector.compare(frame)[1], frame.shape[:2])
    other = np.ascontiguousarray(load_rgb("nonfaces", "coffee.jpg")[:, :, ::-1])
    other = np.ascontiguousarray(np.resize(other, frame.shape))
    assert detector.compare(other)[0].cut


def test_motion_outside_the_region_of_interest_is_ignored():
    detector = MotionDetector()
    frame = background()
    detector.accept(detector.compare(frame, roi=(0.5, 0, 1, 1))[1], frame.shape[:2])
    moved = frame.copy()
    moved[100:200, 20:100] = 255  # in the left half
    assert not detector.compare(moved, roi=(0.5, 0, 1, 1))[0].moved
    assert detector.compare(moved)[0].moved

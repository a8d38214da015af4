import io

from django.core.management import call_command
from PIL import Image

from tests.videostreams.conftest import clip_path
from tests.conftest import data_path
from videostreams.models import Camera, Event


def test_process_video_matches_barack_obama_with_best_shot_and_frame(obama):
    clip = clip_path()
    out = io.StringIO()
    call_command("process_video", str(clip), "--camera", "lobby", "--fps", "3", stdout=out)

    camera = Camera.objects.get(name="lobby")
    assert not camera.enabled  # a camera made for a file run is not picked up by run_cameras
    matched = Event.objects.filter(camera=camera, person=obama)
    assert matched.exists(), out.getvalue()
    event = matched.order_by("-similarity").first()
    assert event.matched and event.similarity >= 0.5
    assert event.closed and event.last_seen >= event.first_seen
    with event.crop.open("rb") as f:
        crop = Image.open(io.BytesIO(f.read()))
        assert crop.format == "JPEG" and crop.size == (160, 160)
    with event.frame.open("rb") as f:
        frame = Image.open(io.BytesIO(f.read()))
        assert frame.format == "JPEG" and frame.size == (640, 360) == (event.frame_width, event.frame_height)
    assert event.thumbnail
    box = event.box
    assert 0 <= box["x"] < 640 and 0 <= box["y"] < 360 and box["width"] >= camera.min_face_size
    assert "Barack Obama" in out.getvalue()

"""The dashboard, cameras, rules and events in the operator pages (real database, a real video file as a camera)."""
from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from enrollment.models import Person, Watchlist
from tests.conftest import FIXTURES_DIR, shared_data_path
from videostreams.models import Camera, Event, Rule, WebhookDelivery

pytestmark = pytest.mark.django_db


def jpeg(size=(64, 48)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 100, 50)).save(buffer, format="JPEG")
    return buffer.getvalue()


def make_event(camera, *, person=None, at=None, closed=True) -> Event:
    at = at or timezone.now()
    event = Event(camera=camera, track_id="t", first_seen=at, last_seen=at + dt.timedelta(seconds=4), person=person,
                  matched=person is not None, similarity=0.8 if person else None, quality=0.7,
                  quality_details={"face_size": 90, "detection_score": 0.999, "sharpness": 40.0, "yaw": 3.0, "pitch": 1.0, "roll": 0.0},
                  box={"x": 8, "y": 6, "width": 20, "height": 20}, frame_width=64, frame_height=48, closed=closed)
    event.crop.save("c.jpg", ContentFile(jpeg((32, 32))), save=False)
    event.thumbnail.save("t.jpg", ContentFile(jpeg((16, 16))), save=False)
    event.frame.save("f.jpg", ContentFile(jpeg()), save=False)
    event.save()
    return event


@pytest.fixture
def scene(db):
    door = Camera.objects.create(name="door", source="rtsp://127.0.0.1:9/door", status=Camera.Status.RUNNING, frames_per_second=4.5,
                                 status_updated_at=timezone.now(), last_frame_at=timezone.now())
    hall = Camera.objects.create(name="hall", source="0", status=Camera.Status.ERROR, last_error="cannot open 0", status_updated_at=timezone.now())
    vip = Watchlist.objects.create(name="VIP")
    ann, bob = Person.objects.create(name="Ann Smith"), Person.objects.create(name="Bob Jones")
    ann.watchlists.add(vip)
    events = [make_event(door, person=ann), make_event(door), make_event(hall, person=bob),
              make_event(hall, at=timezone.now() - dt.timedelta(days=3))]
    return {"door": door, "hall": hall, "vip": vip, "ann": ann, "bob": bob, "events": events}


def test_dashboard_shows_faces_today_the_recognised_share_camera_health_and_the_queue(operator, scene):
    page = operator.get(reverse("ui:dashboard")).content.decode()
    assert '<span class="value">3</span><span class="label">faces seen today' in page
    assert "67%" in page and "recognised (2)" in page
    assert "tasks waiting in the queue" in page
    assert 'class="badge running"' in page and 'class="badge error"' in page and "cannot open 0" in page
    live = operator.get(reverse("ui:dashboard-live")).content.decode()
    assert "faces seen today" in live and "<html" not in live


def test_dashboard_queue_depth_counts_django_q_tasks(operator, db):
    from django_q.tasks import async_task

    from faceapp.queue import queue_depth

    before = queue_depth()
    async_task("math.floor", 1.5)
    assert queue_depth() == before + 1


def test_camera_list_shows_live_status_and_refreshes_its_rows(operator, scene):
    page = operator.get(reverse("ui:cameras")).content.decode()
    assert "door" in page and "hall" in page and "4.5" in page and "cannot open 0" in page
    assert 'data-poll="/ui/cameras/live/"' in page
    rows = operator.get(reverse("ui:cameras-live")).content.decode()
    assert rows.count("<tr>") == 2 and "data-snapshot" in rows


def test_a_camera_that_stopped_reporting_is_shown_stale(operator, scene):
    Camera.objects.filter(id=scene["door"].id).update(status_updated_at=timezone.now() - dt.timedelta(minutes=5))
    assert 'class="badge stale"' in operator.get(reverse("ui:cameras-live")).content.decode()


def test_test_connection_opens_the_typed_source_and_shows_its_first_frame_without_saving(operator, db):
    clip = str(shared_data_path("video", "short_hamilton_clip.mp4"))
    response = operator.post(reverse("ui:camera-new"), {"action": "test", "name": "clip", "source": clip})
    page = response.content.decode()
    assert response.status_code == 200 and "Connected: " in page and 'src="data:image/jpeg;base64,' in page
    assert f'value="{clip}"' in page and not Camera.objects.exists()
    missing = str(FIXTURES_DIR / "video" / "no-such-video.mp4")  # inside FACEAPP_VIDEO_FILE_ROOT, but not there
    bad = operator.post(reverse("ui:camera-new"), {"action": "test", "name": "x", "source": missing}).content.decode()
    assert f"Cannot open {missing}" in bad
    outside = operator.post(reverse("ui:camera-new"), {"action": "test", "name": "x", "source": "/etc/passwd"}).content.decode()
    assert "Refused: the video file is outside FACEAPP_VIDEO_FILE_ROOT" in outside


def test_add_edit_and_delete_a_camera(operator, scene):
    data = {"action": "save", "name": "gate", "source": " rtsp://127.0.0.1:9/gate ", "enabled": "on", "mode": "realtime", "sample_fps": "5",
            "min_face_size": "40", "min_quality": "0.3", "roi": "0, 0.2, 1, 1", "preset": "strict", "watchlists": [scene["vip"].id]}
    response = operator.post(reverse("ui:camera-new"), data)
    gate = Camera.objects.get(name="gate")
    assert response["Location"] == reverse("ui:camera", args=[gate.id])
    assert (gate.source, gate.roi, gate.preset, list(gate.watchlists.all())) == ("rtsp://127.0.0.1:9/gate", [0, 0.2, 1, 1], "strict", [scene["vip"]])
    bad = operator.post(reverse("ui:camera", args=[gate.id]), {**data, "roi": "0.5, 0, 0.2, 1"})
    assert bad.status_code == 400 and "0 &lt;= x1 &lt; x2 &lt;= 1" in bad.content.decode()
    operator.post(reverse("ui:camera-delete", args=[gate.id]))
    assert not Camera.objects.filter(name="gate").exists()


def test_snapshot_of_a_camera_is_a_fresh_jpeg_or_says_why_not(operator, scene):
    clip = Camera.objects.create(name="clip", source=str(shared_data_path("video", "short_hamilton_clip.mp4")))
    response = operator.get(reverse("ui:camera-snapshot", args=[clip.id]))
    assert response.status_code == 200 and response.content[:2] == b"\xff\xd8"
    failed = operator.get(reverse("ui:camera-snapshot", args=[scene["door"].id]))
    assert failed.status_code == 502 and "Cannot open rtsp://127.0.0.1:9/door" in failed.content.decode()


def test_rules_are_made_in_the_page_and_show_their_delivery_log(operator, scene):
    response = operator.post(reverse("ui:rule-new"), {"name": "VIP at the door", "enabled": "on", "trigger": "match",
                                                      "cameras": [scene["door"].id], "watchlists": [scene["vip"].id],
                                                      "webhook_url": "http://127.0.0.1:9/hook", "webhook_secret": "s3cret"})
    rule = Rule.objects.get(name="VIP at the door")
    assert response["Location"] == reverse("ui:rule", args=[rule.id]) and rule.webhook_secret == "s3cret"
    WebhookDelivery.objects.create(rule=rule, event=scene["events"][0], url=rule.webhook_url, payload={}, status="failed",
                                   attempts=5, last_error="ConnectionRefusedError: refused")
    page = operator.get(reverse("ui:rule", args=[rule.id])).content.decode()
    assert "Webhook delivery log" in page and "Failed (gave up)" in page and "ConnectionRefusedError" in page
    listing = operator.get(reverse("ui:rules")).content.decode()
    assert "VIP at the door" in listing and "webhook" in listing


def test_events_are_filtered_by_camera_person_watchlist_time_and_unknown(operator, scene):
    def shown(**query):
        page = operator.get(reverse("ui:events"), query).content.decode()
        return sum(page.count(f"/ui/events/{e.id}/\"") > 0 for e in scene["events"])

    assert shown() == 4
    assert shown(camera=scene["door"].id) == 2
    assert shown(person="ann") == 1
    assert shown(watchlist=scene["vip"].id) == 1
    assert shown(unknown="on") == 2
    since = (timezone.now() - dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    assert shown(since=since) == 3


def test_times_typed_in_the_filter_are_in_the_browsers_zone(operator, scene):
    operator.cookies["tz"] = "Asia/Tokyo"  # UTC+9, no summer time
    tokyo_now = timezone.now().astimezone(dt.timezone(dt.timedelta(hours=9)))
    page = operator.get(reverse("ui:events"), {"until": (tokyo_now - dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")}).content.decode()
    assert f"/ui/events/{scene['events'][3].id}/" in page and f"/ui/events/{scene['events'][0].id}/" not in page


def test_events_live_fragment_and_an_events_frame_crop_and_box(operator, scene):
    rows = operator.get(reverse("ui:events-live"), {"camera": scene["door"].id}).content.decode()
    assert rows.count("<tr") == 2 and "<html" not in rows
    event = scene["events"][0]
    page = operator.get(reverse("ui:event", args=[event.id])).content.decode()
    assert "Ann Smith on door" in page and reverse("ui:event-image", args=[event.id, "frame"]) in page
    assert '<rect x="12.5%" y="12.5%" width="31.25%" height="41.667%"' in page
    for kind in ("frame", "crop", "thumbnail"):
        assert b"".join(operator.get(reverse("ui:event-image", args=[event.id, kind])).streaming_content)[:2] == b"\xff\xd8"


def test_a_new_camera_form_starts_with_the_models_defaults(operator, db):
    page = operator.get(reverse("ui:camera-new")).content.decode()
    assert 'name="sample_fps" value="5.0"' in page and 'name="min_face_size" value="40"' in page and 'name="min_quality" value="0.3"' in page


def test_not_this_person_on_an_open_event_is_remembered_for_its_track(operator, scene):
    from faceapp.audit.models import AuditEntry
    from videostreams.models import EventNotPerson

    live = make_event(scene["door"], person=scene["bob"], closed=False)
    page = operator.get(reverse("ui:event", args=[live.id])).content.decode()
    assert 'id="event-not-person"' in page and "Not Bob Jones" in page
    response = operator.post(reverse("ui:event-not-person", args=[live.id]), follow=True)
    assert "not Bob Jones; the camera will not name it Bob Jones again" in response.content.decode()
    assert Event.objects.get(pk=live.pk).person_id is None
    assert EventNotPerson.objects.filter(event=live, person=scene["bob"]).exists()
    assert AuditEntry.objects.filter(action="event.not_person", username="operator").exists()
    assert 'id="event-not-person"' not in response.content.decode()

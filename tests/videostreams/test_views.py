import datetime as dt
import io

import pytest
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from PIL import Image

from enrollment.models import Person, Watchlist
from tests.conftest import assert_error
from videostreams.models import Camera, Event

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 11, 26, 9, 0, tzinfo=dt.timezone.utc)


def jpeg(colour=(200, 100, 50), size=(32, 32)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="JPEG")
    return buffer.getvalue()


def make_event(camera, *, person=None, minutes=0, similarity=0.7) -> Event:
    event = Event(
        camera=camera, track_id="t", first_seen=T0 + dt.timedelta(minutes=minutes), last_seen=T0 + dt.timedelta(minutes=minutes, seconds=5),
        person=person, matched=person is not None, similarity=similarity if person else None, quality=0.8,
        box={"x": 1, "y": 2, "width": 30, "height": 30}, frame_width=64, frame_height=48, closed=True,
    )
    event.crop.save("c.jpg", ContentFile(jpeg()), save=False)
    event.thumbnail.save("t.jpg", ContentFile(jpeg(size=(16, 16))), save=False)
    event.frame.save("f.jpg", ContentFile(jpeg(size=(64, 48))), save=False)
    event.save()
    return event


@pytest.fixture
def cast():
    door, stage = Camera.objects.create(name="door", source="0"), Camera.objects.create(name="stage", source="rtsp://cam/stage")
    vip = Watchlist.objects.create(name="VIP")
    ann, bob = Person.objects.create(name="Ann"), Person.objects.create(name="Bob")
    ann.watchlists.add(vip)
    events = {
        "ann-door": make_event(door, person=ann, minutes=0),
        "bob-door": make_event(door, person=bob, minutes=10),
        "unknown-stage": make_event(stage, minutes=20),
        "ann-stage": make_event(stage, person=ann, minutes=30),
    }
    return {"door": door, "stage": stage, "vip": vip, "ann": ann, "bob": bob, "events": events}


def ids(response):
    assert response.status_code == 200, response.json()
    return {item["id"] for item in response.json()["results"]}


def test_create_a_camera_and_read_its_status(api_client):
    vip = Watchlist.objects.create(name="VIP")
    response = api_client.post(
        "/api/v1/cameras",
        {"name": "lobby", "source": "rtsp://user:pw@10.0.0.5/stream1", "sample_fps": 4, "min_face_size": 50, "min_quality": 0.4,
         "roi": [0.1, 0.0, 0.9, 1.0], "match_threshold": 0.55, "watchlists": [str(vip.id)], "mode": "best_shot"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "stopped" and body["frames_dropped"] == 0 and body["last_error"] == ""
    camera = Camera.objects.get(name="lobby")
    assert camera.mode == "best_shot" and camera.roi == [0.1, 0.0, 0.9, 1.0] and list(camera.watchlists.all()) == [vip]
    # The status is the runner's to write, not the client's.
    response = api_client.patch(f"/api/v1/cameras/{camera.id}", {"status": "running", "enabled": False}, format="json")
    assert response.status_code == 200
    camera.refresh_from_db()
    assert camera.status == "stopped" and camera.enabled is False


@pytest.mark.parametrize(
    "change, field",
    [
        ({"roi": [0.5, 0.5, 0.2, 0.9]}, "roi"),
        ({"roi": "all"}, "roi"),
        ({"sample_fps": 0}, "sample_fps"),
        ({"min_quality": 2}, "min_quality"),
        ({"source": "  "}, "source"),
        ({"mode": "sometimes"}, "mode"),
    ],
)
def test_bad_camera_settings_are_refused_with_the_field_named(api_client, change, field):
    response = api_client.post("/api/v1/cameras", {"name": "x", "source": "0", **change}, format="json")
    body = assert_error(response, 400, "invalid_request")
    assert field in body["fields"]


def test_a_camera_name_is_unique(api_client):
    Camera.objects.create(name="door", source="0")
    body = assert_error(api_client.post("/api/v1/cameras", {"name": "door", "source": "1"}, format="json"), 400)
    assert "name" in body["fields"]


def test_events_filter_by_camera_person_watchlist_matched_and_time(api_client, cast):
    e = {k: str(v.id) for k, v in cast["events"].items()}
    assert ids(api_client.get("/api/v1/events")) == set(e.values())
    assert ids(api_client.get("/api/v1/events", {"camera": cast["door"].id})) == {e["ann-door"], e["bob-door"]}
    assert ids(api_client.get("/api/v1/events", {"person": cast["ann"].id})) == {e["ann-door"], e["ann-stage"]}
    assert ids(api_client.get("/api/v1/events", {"watchlist": cast["vip"].id})) == {e["ann-door"], e["ann-stage"]}
    assert ids(api_client.get("/api/v1/events", {"matched": "false"})) == {e["unknown-stage"]}
    assert ids(api_client.get("/api/v1/events", {"matched": "true", "camera": cast["stage"].id})) == {e["ann-stage"]}
    window = {"since": (T0 + dt.timedelta(minutes=5)).isoformat(), "until": (T0 + dt.timedelta(minutes=25)).isoformat()}
    assert ids(api_client.get("/api/v1/events", window)) == {e["bob-door"], e["unknown-stage"]}


def test_events_are_newest_first_and_paginated(api_client, cast):
    response = api_client.get("/api/v1/events", {"page_size": 3})
    body = response.json()
    assert body["count"] == 4 and len(body["results"]) == 3 and body["next"]
    assert [r["first_seen"] for r in body["results"]] == sorted((r["first_seen"] for r in body["results"]), reverse=True)
    second = api_client.get(body["next"]).json()
    assert len(second["results"]) == 1 and second["previous"]


def test_an_event_shows_its_person_and_links_its_images(api_client, cast):
    event = cast["events"]["ann-door"]
    body = api_client.get(f"/api/v1/events/{event.id}").json()
    assert body["person"]["name"] == "Ann" and body["similarity"] == 0.7 and body["camera_name"] == "door"
    assert body["box"] == {"x": 1, "y": 2, "width": 30, "height": 30}
    for kind, size in (("crop", (32, 32)), ("thumbnail", (16, 16)), ("frame", (64, 48))):
        response = api_client.get(body[f"{kind}_url"])
        assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
        assert Image.open(io.BytesIO(b"".join(response.streaming_content))).size == size


@pytest.mark.parametrize("params", [{"since": "yesterday"}, {"camera": "not-a-uuid"}, {"matched": "maybe"}])
def test_bad_event_filters_are_refused(api_client, params):
    assert_error(api_client.get("/api/v1/events", params), 400, "invalid_request")


def test_deleting_an_event_deletes_its_images(api_client, cast, django_capture_on_commit_callbacks):
    from django.core.files.storage import default_storage

    event = cast["events"]["bob-door"]
    names = event.image_names()
    assert all(default_storage.exists(n) for n in names)
    with django_capture_on_commit_callbacks(execute=True):  # the images go once the deletion commits
        assert api_client.delete(f"/api/v1/events/{event.id}").status_code == 204
    assert not Event.objects.filter(pk=event.pk).exists()
    assert not any(default_storage.exists(n) for n in names)


def test_a_rule_needs_an_action_and_pending_enrolment_is_for_unknown_faces(api_client):
    body = assert_error(api_client.post("/api/v1/rules", {"name": "nothing"}, format="json"), 400)
    assert "webhook_url" in body["fields"]
    body = assert_error(
        api_client.post("/api/v1/rules", {"name": "x", "trigger": "match", "create_pending_enrollment": True}, format="json"), 400
    )
    assert "create_pending_enrollment" in body["fields"]
    response = api_client.post(
        "/api/v1/rules", {"name": "hook", "trigger": "unknown", "webhook_url": "http://127.0.0.1:9/h", "webhook_secret": "k"}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["has_webhook_secret"] is True and "webhook_secret" not in response.json()


def test_unknown_event_is_a_404_in_the_envelope(api_client):
    assert_error(api_client.get("/api/v1/events/00000000-0000-0000-0000-000000000000"), 404, "not_found")


def test_the_events_feed_is_for_staff_only_and_its_old_page_is_the_operator_events_page(client, cast):
    response = client.get("/videostreams/events/", follow=True)
    assert response.redirect_chain[0][0] == "/ui/events/" and "/accounts/login/" in response.redirect_chain[-1][0]
    assert client.get("/videostreams/events/feed.json").status_code == 302
    staff = get_user_model().objects.create_user("operator", password="pw-operator-1", is_staff=True)
    client.force_login(staff)
    page = client.get("/videostreams/events/", follow=True)
    assert page.status_code == 200 and b"<h1>Events" in page.content


def test_the_feed_json_gives_events_updated_after_a_time(client, cast):
    client.force_login(get_user_model().objects.create_user("op", password="pw-op-12345", is_staff=True))
    everything = client.get("/videostreams/events/feed.json").json()["events"]
    assert len(everything) == 4 and everything[0]["thumbnail_url"].endswith("/thumbnail.jpg")
    newest = everything[0]["updated_at"]
    assert client.get("/videostreams/events/feed.json", {"after": newest}).json()["events"] == []
    event = cast["events"]["ann-door"]
    event.closed = True
    event.save()
    updated = client.get("/videostreams/events/feed.json", {"after": newest}).json()["events"]
    assert [e["id"] for e in updated] == [str(event.id)]
    assert client.get(updated[0]["thumbnail_url"]).status_code == 200


@pytest.mark.parametrize("query", [{"camera": "zzz"}, {"after": "2026-02-30T10:00:00Z"}, {"after": "yesterday"},
                                   {"camera": "1" * 40}, {"age_min": "old"}])
def test_the_feed_json_answers_bad_parameters_with_a_400_not_a_500(client, cast, query):
    client.force_login(get_user_model().objects.create_user("op", password="pw-op-12345", is_staff=True))
    response = client.get("/videostreams/events/feed.json", query)
    assert response.status_code == 400 and next(iter(query)) in response.json()["error"]


def test_deleting_a_camera_deletes_its_events_and_their_images(api_client, cast, django_capture_on_commit_callbacks):
    from django.core.files.storage import default_storage

    door = cast["door"]
    names = [n for e in door.events.all() for n in e.image_names()]
    assert names and all(default_storage.exists(n) for n in names)
    with django_capture_on_commit_callbacks(execute=True):
        assert api_client.delete(f"/api/v1/cameras/{door.id}").status_code == 204
    assert not Event.objects.filter(camera_id=door.id).exists()
    assert not any(default_storage.exists(n) for n in names)
    assert Event.objects.count() == 2  # the other camera's


def test_any_deletion_path_deletes_event_images(cast, django_capture_on_commit_callbacks):
    from django.core.files.storage import default_storage

    names = [n for e in Event.objects.all() for n in e.image_names()]
    assert names and all(default_storage.exists(n) for n in names)
    with django_capture_on_commit_callbacks(execute=True):
        Camera.objects.all().delete()  # a plain cascade, as the admin or a shell would do it
    assert not Event.objects.exists()
    assert not any(default_storage.exists(n) for n in names)


def test_the_video_api_needs_a_key_and_changing_cameras_or_rules_needs_the_admin_scope(db, api_key):
    from rest_framework.test import APIClient

    from tests.conftest import assert_error, client_with_key

    assert_error(APIClient().get("/api/v1/cameras"), 401, "unauthenticated")
    assert_error(APIClient().get("/api/v1/events"), 401, "unauthenticated")
    enroll = client_with_key(api_key("enroll"))
    assert enroll.get("/api/v1/cameras").status_code == 200
    assert_error(enroll.post("/api/v1/cameras", {"name": "door", "source": "0"}, format="json"), 403, "forbidden")
    assert_error(enroll.post("/api/v1/rules", {"name": "r"}, format="json"), 403, "forbidden")

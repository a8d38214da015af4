"""Face attributes on cameras, events and rules: stored once per best shot, filtered, and conditions of rules."""
from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from tests.conftest import assert_error
from tests.videostreams.test_processing import frames_of, run
from tests.videostreams.test_views import make_event
from videostreams import rules
from videostreams.models import Camera, Event, Rule
from videostreams.processing import CameraConfig, Processor

pytestmark = pytest.mark.django_db


def with_attributes(event: Event, gender=None, age=None, emotion=None) -> Event:
    event.gender, event.age, event.emotion = gender, age, emotion
    event.save()
    return event


@pytest.fixture
def seen():
    camera = Camera.objects.create(name="door", source="0")
    return {
        "woman-25": with_attributes(make_event(camera, minutes=0), "female", 25.0, "happy"),
        "woman-41": with_attributes(make_event(camera, minutes=1), "female", 41.0, "neutral"),
        "man-30": with_attributes(make_event(camera, minutes=2), "male", 30.0, "happy"),
        "none": make_event(camera, minutes=3),
    }


def ids(response):
    assert response.status_code == 200, response.json()
    return {item["id"] for item in response.json()["results"]}


def test_events_filter_by_attribute_ranges(api_client, seen):
    e = {k: str(v.id) for k, v in seen.items()}
    assert ids(api_client.get("/api/v1/events", {"gender": "female"})) == {e["woman-25"], e["woman-41"]}
    assert ids(api_client.get("/api/v1/events", {"gender": "female", "age_min": 20, "age_max": 30})) == {e["woman-25"]}
    assert ids(api_client.get("/api/v1/events", {"age_min": 28})) == {e["woman-41"], e["man-30"]}
    assert ids(api_client.get("/api/v1/events", {"emotion": "happy"})) == {e["woman-25"], e["man-30"]}
    assert len(ids(api_client.get("/api/v1/events"))) == 4  # no filter: also the event without attributes


def test_events_show_their_attributes(api_client, seen):
    body = api_client.get(f"/api/v1/events/{seen['woman-25'].id}").json()
    assert (body["gender"], body["age"], body["emotion"]) == ("female", 25.0, "happy")


@pytest.mark.parametrize("params", [{"gender": "other"}, {"age_min": 40, "age_max": 30}, {"emotion": "bored"}, {"age_min": -1}])
def test_bad_attribute_filters_are_refused(api_client, params):
    assert_error(api_client.get("/api/v1/events", params), 400, "invalid_request")


def test_the_events_feed_filters_by_attributes_and_shows_them(client, seen):
    client.force_login(get_user_model().objects.create_user("op", password="pw-op-12345", is_staff=True))
    events = client.get("/videostreams/events/feed.json", {"gender": "female", "age_max": 30}).json()["events"]
    assert [e["id"] for e in events] == [str(seen["woman-25"].id)]
    assert (events[0]["gender"], events[0]["age"], events[0]["emotion"]) == ("female", 25.0, "happy")
    assert client.get("/videostreams/events/feed.json", {"age_min": "old"}).status_code == 400
    page = client.get("/ui/events/", {"gender": "female", "age_max": 30}).content.decode()
    assert 'name="age_min"' in page and 'name="emotion"' in page
    assert page.count('class="attr-badge gender-female"') == 1 and "~25 y" in page  # woman-25 only, with her badges


def test_a_camera_asks_for_every_attribute_by_default_and_refuses_unknown_ones(api_client):
    response = api_client.post("/api/v1/cameras", {"name": "lobby", "source": "0"}, format="json")
    assert response.status_code == 201 and response.json()["attributes"] == ["gender", "age", "emotion"]
    body = assert_error(api_client.post("/api/v1/cameras", {"name": "x", "source": "0", "attributes": ["height"]}, format="json"), 400)
    assert "attributes" in body["fields"]
    response = api_client.patch(f"/api/v1/cameras/{response.json()['id']}", {"attributes": []}, format="json")
    assert response.status_code == 200 and response.json()["attributes"] == []


def test_rule_conditions_on_attributes(seen):
    rule = Rule(name="young women", trigger=Rule.Trigger.ANY, gender="female", age_min=18, age_max=30, webhook_url="http://127.0.0.1:9/")
    assert rules.applies(rule, seen["woman-25"])
    assert not rules.applies(rule, seen["woman-41"]) and not rules.applies(rule, seen["man-30"])
    assert not rules.applies(rule, seen["none"])  # an estimate the event lacks fails the condition
    happy = Rule(name="happy", trigger=Rule.Trigger.ANY, emotion="happy", webhook_url="http://127.0.0.1:9/")
    assert rules.applies(happy, seen["man-30"]) and not rules.applies(happy, seen["woman-41"])
    assert rules.applies(Rule(name="all", trigger=Rule.Trigger.ANY, webhook_url="http://127.0.0.1:9/"), seen["none"])


def test_a_rule_with_an_empty_age_range_is_refused(api_client):
    response = api_client.post("/api/v1/rules", {"name": "r", "trigger": "any", "webhook_url": "http://127.0.0.1:9/",
                                                 "age_min": 50, "age_max": 20}, format="json")
    body = assert_error(response, 400, "invalid_request")
    assert "age_min" in body["fields"]


def test_webhook_payload_carries_the_attributes(seen):
    event = seen["woman-25"]
    event.attributes = {"gender": "female", "gender_score": 0.9, "age": 25.0, "models": {"gender": "x", "age": "y"}}
    assert rules.event_payload(event)["event"]["attributes"]["age"] == 25.0
    assert rules.event_payload(seen["none"])["event"]["attributes"] is None


@pytest.mark.django_db(transaction=True)
def test_best_shot_events_carry_the_best_shots_attributes_and_a_camera_can_turn_them_off(obama):
    on = Camera.objects.create(name="on", source="x", mode=Camera.Mode.BEST_SHOT)
    off = Camera.objects.create(name="off", source="x", mode=Camera.Mode.BEST_SHOT, attributes=[])
    processor = Processor()
    processor.set_config(CameraConfig.from_camera(on))
    processor.set_config(CameraConfig.from_camera(off))
    frames = list(frames_of(on.id, until=6))  # the committed clip shows Barack Obama from 2.4 s to 6 s
    run(processor, frames)
    # the same frames on the camera that wants no attributes
    run(processor, [type(f)(camera_id=off.id, image=f.image, timestamp=f.timestamp, index=f.index) for f in frames])
    processor.flush()
    seen_obama = Event.objects.get(camera=on, person=obama)
    assert seen_obama.gender == "male" and seen_obama.emotion is not None and 35 < seen_obama.age < 75
    assert seen_obama.attributes["models"] == {"gender": "faceapi-age-gender", "age": "faceapi-age-gender",
                                               "emotion": "mini-xception-emotion"}
    assert Event.objects.filter(camera=off).exists()
    assert not Event.objects.filter(camera=off).exclude(gender=None).exists()

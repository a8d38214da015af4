"""Rules on unknown groups (videostreams.unknown_rules): seen N times, on N distinct days; once per group."""
import datetime as dt
import json

import pytest
from django.utils import timezone

from enrollment import sightings
from enrollment.identification import current_embedding_model
from enrollment.models import Sighting
from recognition import pipeline
from tests.conftest import read_bytes
from tests.videostreams.test_rules import Receiver, process_clip, sync_queue  # noqa: F401 (a fixture)
from videostreams import unknown_rules
from videostreams.models import Camera, Event, Rule, RuleGroupFiring


@pytest.mark.django_db(transaction=True)
def test_a_rule_fires_once_per_unknown_group_seen_for_the_nth_time_with_the_group_in_the_webhook(models_ready, sync_queue):  # noqa: F811
    with Receiver() as receiver:
        Rule.objects.create(name="regulars", trigger=Rule.Trigger.UNKNOWN, webhook_url=receiver.url, unknown_min_sightings=2)
        for camera in ("lobby", "door", "yard"):  # the clip's strangers pass three cameras
            process_clip(camera, mode="best_shot")
    payloads = [json.loads(body) for _, body in receiver.received]
    assert payloads, "no stranger was seen twice"
    groups = [p["event"]["unknown_group"]["id"] for p in payloads]
    assert len(groups) == len(set(groups))  # once per group
    for payload in payloads:
        group = payload["event"]["unknown_group"]
        assert payload["type"] == "face.unknown" and group["id"].startswith("U-") and group["sightings"] >= 2
        assert group["best_shot_url"].startswith("/api/v1/sightings/")
    assert RuleGroupFiring.objects.count() == len(groups)


@pytest.mark.django_db
def test_a_rule_on_distinct_days_fires_when_the_group_was_seen_on_enough_days(models_ready):
    camera = Camera.objects.create(name="back door", source="x", enabled=False)
    rule = Rule.objects.create(name="every night", trigger=Rule.Trigger.UNKNOWN, webhook_url="http://127.0.0.1:9/", unknown_min_days=2)
    face = pipeline.analyse_bytes(read_bytes("samples", "astronaut.jpg")).largest_face()
    now = timezone.now()

    def seen_at(when):
        event = Event.objects.create(camera=camera, track_id=str(when), first_seen=when, last_seen=when, quality=0.8,
                                     crop="events/crops/x.jpg", thumbnail="events/thumbs/x.jpg")
        sightings.record(embedding=face.embedding, embedding_model=current_embedding_model(), crop_jpeg=b"\xff\xd8\xff\xd9",
                         source="camera", seen_at=when, verdict="unknown", camera_id=camera.id, event_id=event.id)
        return event

    first = seen_at(now - dt.timedelta(days=1, hours=1))
    second = seen_at(now - dt.timedelta(days=1))  # same day: still one day
    assert Sighting.objects.values("unknown_group").distinct().count() == 1
    assert not unknown_rules.condition_met(rule, first) and not unknown_rules.condition_met(rule, second)
    third = seen_at(now)
    assert unknown_rules.condition_met(rule, third)
    assert not unknown_rules.condition_met(rule, third)  # fired for this group already
    assert unknown_rules.group_payload(third)["days"] == 2


@pytest.mark.django_db
def test_group_conditions_need_the_unknown_trigger(api_client):
    body = {"name": "x", "trigger": "match", "webhook_url": "http://127.0.0.1:9/", "unknown_min_sightings": 3}
    response = api_client.post("/api/v1/rules", body, format="json")
    assert response.status_code == 400 and response.json()["status"] == "error"
    body["trigger"] = "unknown"
    assert api_client.post("/api/v1/rules", body, format="json").status_code == 201


@pytest.mark.django_db
def test_a_rule_with_opening_hours_fires_only_outside_them(settings):
    import datetime as dt_

    from videostreams import rules

    settings.TIME_ZONE = "UTC"
    camera = Camera.objects.create(name="back door", source="x", enabled=False)
    office = Rule.objects.create(name="after hours", trigger=Rule.Trigger.ANY, webhook_url="http://127.0.0.1:9/",
                                 hours_start=dt_.time(8), hours_end=dt_.time(18))
    night = Rule.objects.create(name="night shift", trigger=Rule.Trigger.ANY, webhook_url="http://127.0.0.1:9/",
                                hours_start=dt_.time(22), hours_end=dt_.time(6))

    def event_at(hour, minute=0):
        when = dt_.datetime(2026, 12, 3, hour, minute, tzinfo=dt_.timezone.utc)
        return Event(camera=camera, track_id="1", first_seen=when, last_seen=when, quality=0.8)

    assert [rules.applies(office, event_at(h)) for h in (7, 8, 12, 17, 18, 23)] == [True, False, False, False, True, True]
    assert [rules.applies(night, event_at(h)) for h in (21, 22, 2, 5, 6, 12)] == [True, False, False, False, True, True]


@pytest.mark.django_db
def test_opening_hours_need_both_ends(api_client):
    body = {"name": "x", "trigger": "any", "webhook_url": "http://127.0.0.1:9/", "hours_start": "08:00"}
    assert api_client.post("/api/v1/rules", body, format="json").status_code == 400
    body["hours_end"] = "18:00"
    created = api_client.post("/api/v1/rules", body, format="json")
    assert created.status_code == 201 and created.json()["hours_end"] == "18:00:00"

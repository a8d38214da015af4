import datetime as dt
import hashlib
import hmac
import http.server
import json
import threading

import pytest
import time_machine
from django.core.management import call_command
from django_q.conf import Conf
from django_q.models import OrmQ, Schedule

from tests.videostreams.conftest import clip_path
from enrollment.models import PendingEnrollment, Watchlist
from videostreams import tasks
from videostreams.models import Camera, Event, Rule, WebhookDelivery

SECRET = "s3cret-key"


class Receiver:
    """A real local HTTP server that records the webhooks it gets (and can fail the first ones)."""

    def __init__(self, fail_first: int = 0):
        self.received: list[tuple[dict, bytes]] = []
        self.fail_first = fail_first
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                status = 500 if len(receiver.received) <= receiver.fail_first else 204
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/faces"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def verify(headers: dict, body: bytes, secret: str = SECRET) -> bool:
    """What a receiver does: recompute the HMAC of the raw body and compare in constant time."""
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, headers.get("x-faceapp-signature", ""))


def process_clip(camera="lobby", **options):
    call_command("process_video", clip_path(), "--camera", camera, "--fps", "3", verbosity=0, **options)


@pytest.fixture
def sync_queue(monkeypatch):
    """django-q2 runs tasks inline (as with Q_CLUSTER sync=True)."""
    monkeypatch.setattr(Conf, "SYNC", True)


@pytest.mark.django_db(transaction=True)
def test_a_watchlist_rule_posts_a_signed_json_webhook_when_barack_obama_is_seen(obama, sync_queue):
    cast = Watchlist.objects.create(name="Staff")
    obama.watchlists.add(cast)
    camera = Camera.objects.create(name="lobby", source="unused.mp4", enabled=False)
    with Receiver() as receiver:
        rule = Rule.objects.create(name="cast on stage", trigger=Rule.Trigger.MATCH, webhook_url=receiver.url, webhook_secret=SECRET)
        rule.watchlists.add(cast)
        rule.cameras.add(camera)
        process_clip()

    matched = Event.objects.filter(camera=camera, person=obama)
    assert matched.exists()
    assert receiver.received, "no webhook arrived"
    for headers, body in receiver.received:
        assert headers["content-type"] == "application/json"
        assert verify(headers, body)
        assert not verify(headers, body, secret="wrong")
    payloads = [json.loads(body) for _, body in receiver.received]
    # Only matches of the watchlist: no unknown faces were posted.
    assert {p["type"] for p in payloads} == {"face.matched"}
    assert {p["event"]["person"]["name"] for p in payloads} == {"Barack Obama"}
    assert {p["event"]["id"] for p in payloads} == {str(e.id) for e in matched}
    assert payloads[0]["rule"]["name"] == "cast on stage"
    assert payloads[0]["event"]["camera"]["name"] == "lobby"
    assert payloads[0]["event"]["similarity"] >= 0.5 and payloads[0]["event"]["crop_url"]
    deliveries = WebhookDelivery.objects.all()
    assert deliveries.count() == len(receiver.received)
    assert all(d.status == "delivered" and d.attempts == 1 and d.response_status == 204 for d in deliveries)


@pytest.mark.django_db(transaction=True)
def test_a_watchlist_rule_ignores_people_outside_its_watchlists(obama, sync_queue):
    other = Watchlist.objects.create(name="VIP")
    with Receiver() as receiver:
        rule = Rule.objects.create(name="vips", trigger=Rule.Trigger.MATCH, webhook_url=receiver.url)
        rule.watchlists.add(other)
        process_clip()
    assert Event.objects.filter(person=obama).exists()
    assert receiver.received == [] and not WebhookDelivery.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_failing_webhook_is_retried_with_backoff_and_logged(obama, settings, sync_queue):
    settings.FACEAPP_WEBHOOK_BACKOFF_SECONDS = 30
    settings.FACEAPP_WEBHOOK_MAX_ATTEMPTS = 3
    camera = Camera.objects.create(name="cam", source="x.mp4", enabled=False)
    event = Event.objects.create(
        camera=camera, track_id="1", first_seen=dt.datetime(2026, 11, 26, 10, tzinfo=dt.timezone.utc),
        last_seen=dt.datetime(2026, 11, 26, 10, 0, 2, tzinfo=dt.timezone.utc),
        person=obama, similarity=0.7, matched=True, quality=0.8, crop="events/crops/x.jpg", thumbnail="events/thumbs/x.jpg",
    )
    # The clock is frozen: the back-off is measured exactly (not within a margin a slow machine could overrun).
    with Receiver(fail_first=2) as receiver, time_machine.travel("2026-11-26 10:00:05+00:00", tick=False):
        rule = Rule.objects.create(name="all", trigger=Rule.Trigger.ANY, webhook_url=receiver.url, webhook_secret=SECRET)
        from videostreams import rules

        assert rules.dispatch(event) == 1  # runs the first attempt inline (sync queue)
        delivery = WebhookDelivery.objects.get()
        assert delivery.status == "pending" and delivery.attempts == 1 and delivery.response_status == 500
        assert delivery.last_error == "HTTP 500"
        first_delay = (delivery.next_attempt_at - delivery.created_at).total_seconds()
        assert first_delay == 30
        retry = Schedule.objects.get(func="videostreams.tasks.deliver_webhook")
        assert str(delivery.id) in retry.args
        assert retry.next_run == delivery.next_attempt_at

        assert tasks.deliver_webhook(str(delivery.id)) == "pending"
        delivery.refresh_from_db()
        assert delivery.attempts == 2
        assert (delivery.next_attempt_at - delivery.created_at).total_seconds() == 60  # doubled

        assert tasks.deliver_webhook(str(delivery.id)) == "delivered"
        assert tasks.deliver_webhook(str(delivery.id)) == "delivered"  # a stray retry does not post again
    assert len(receiver.received) == 3
    assert all(verify(h, b) for h, b in receiver.received)
    delivery.refresh_from_db()
    assert delivery.delivered_at and delivery.last_error == "" and delivery.next_attempt_at is None


@pytest.mark.django_db(transaction=True)
def test_a_dead_webhook_never_blocks_processing_and_is_given_up_after_max_attempts(obama, settings):
    settings.FACEAPP_WEBHOOK_MAX_ATTEMPTS = 2
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}/hook"
    Rule.objects.create(name="dead", trigger=Rule.Trigger.ANY, webhook_url=dead)
    process_clip()  # the real queue (not sync): deliveries are queued, processing goes on
    events = Event.objects.count()
    assert events >= 2
    deliveries = list(WebhookDelivery.objects.all())
    assert len(deliveries) == events and all(d.status == "pending" and d.attempts == 0 for d in deliveries)
    assert OrmQ.objects.count() == events  # waiting for the django-q2 workers

    delivery = deliveries[0]
    assert tasks.deliver_webhook(str(delivery.id)) == "pending"
    assert tasks.deliver_webhook(str(delivery.id)) == "failed"
    delivery.refresh_from_db()
    assert delivery.attempts == 2 and "refused" in delivery.last_error.lower()


@pytest.mark.django_db(transaction=True)
def test_an_unknown_face_rule_holds_unknown_faces_as_pending_enrolments(models_ready):
    Rule.objects.create(name="enrol strangers", trigger=Rule.Trigger.UNKNOWN, create_pending_enrollment=True)
    process_clip(mode="best_shot")
    unknown = Event.objects.filter(matched=False)
    assert unknown.exists()
    assert PendingEnrollment.objects.count() == unknown.count()
    pending = PendingEnrollment.objects.first()
    assert pending.crop_jpeg and pending.expires_at > pending.created_at

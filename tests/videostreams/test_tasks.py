import datetime as dt

import pytest
from django.core.files.storage import default_storage
from django_q.models import Schedule

from tests.videostreams.test_views import make_event
from videostreams import tasks
from videostreams.models import Camera, Event, WebhookDelivery

pytestmark = pytest.mark.django_db


def test_retention_deletes_old_events_and_their_images(settings, django_capture_on_commit_callbacks):
    settings.FACEAPP_EVENT_RETENTION_DAYS = 7
    camera = Camera.objects.create(name="door", source="0")
    old, recent = make_event(camera), make_event(camera, minutes=60)
    now = old.last_seen + dt.timedelta(days=7, minutes=30)  # old is 7 days 30 min old; recent 7 days - 30 min
    old_files = old.image_names()
    with django_capture_on_commit_callbacks(execute=True):  # the images go once the deletion commits
        assert tasks.delete_old_events(now=now) == 1
    assert list(Event.objects.all()) == [recent]
    assert not any(default_storage.exists(name) for name in old_files)
    assert all(default_storage.exists(name) for name in recent.image_names())


def test_retention_runs_hourly_from_a_schedule_installed_by_migration():
    schedule = Schedule.objects.get(func="videostreams.tasks.delete_old_events")
    assert schedule.schedule_type == Schedule.HOURLY and schedule.repeats == -1


def test_retention_deletes_finished_webhook_deliveries_but_not_pending_ones(settings):
    settings.FACEAPP_EVENT_RETENTION_DAYS = 7
    old = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    for status in ("delivered", "failed", "pending"):
        delivery = WebhookDelivery.objects.create(url="https://example.org/h", payload={}, status=status)
        WebhookDelivery.objects.filter(pk=delivery.pk).update(created_at=old)
    fresh = WebhookDelivery.objects.create(url="https://example.org/h", payload={}, status="delivered")
    tasks.delete_old_events(now=old + dt.timedelta(days=8))
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"pending", "delivered"}
    assert WebhookDelivery.objects.filter(pk=fresh.pk).exists()

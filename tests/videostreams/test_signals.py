"""Erasure: deleting a person deletes what the cameras kept of them — events with their crop, frame, thumbnail and
face vector, and the webhook deliveries naming them — not only their enrolled faces."""
from __future__ import annotations

from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection

from tests.videostreams.conftest import clip_path
from videostreams.models import Event, Rule, WebhookDelivery


def media_files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in Path(root).rglob("*") if p.is_file()}


def rows(sql: str, *params) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_deleting_a_person_deletes_their_camera_events_files_vectors_and_deliveries(obama, media_in_tmp, api_client):
    Rule.objects.create(name="tell", trigger=Rule.Trigger.ANY, webhook_url="http://127.0.0.1:9/hook")
    call_command("process_video", clip_path(), "--camera", "lobby", "--fps", "2", verbosity=0)
    his = list(Event.objects.filter(person=obama))
    others = list(Event.objects.filter(person__isnull=True))
    assert his and others, "the clip shows Barack Obama and strangers"
    his_files = {name for event in his for name in event.image_names()}
    other_files = {name for event in others for name in event.image_names()}
    assert his_files and his_files <= media_files(media_in_tmp)
    assert WebhookDelivery.objects.filter(event__person=obama).exists()

    response = api_client.delete(f"/api/v1/people/{obama.id}")
    assert response.status_code == 200, response.content

    left = media_files(media_in_tmp)
    assert not his_files & left, "crops, frames or thumbnails of the deleted person's events are still on disk"
    assert other_files <= left, "the strangers' events are not his to erase"
    # The tables: no event of his (not even relabelled unknown), none of his vectors, no delivery naming him.
    ids = [str(event.id) for event in his]
    assert rows("SELECT count(*) FROM videostreams_event WHERE id::text = ANY(%s)", ids) == 0
    assert rows("SELECT count(*) FROM videostreams_event WHERE person_id = %s", str(obama.id)) == 0
    assert rows("SELECT count(*) FROM videostreams_event") == len(others)
    assert rows("SELECT count(*) FROM enrollment_face WHERE person_id = %s", str(obama.id)) == 0
    assert rows("SELECT count(*) FROM videostreams_webhookdelivery WHERE payload::text LIKE %s", "%Barack Obama%") == 0
    assert rows("SELECT count(*) FROM videostreams_webhookdelivery WHERE event_id IS NULL") == 0

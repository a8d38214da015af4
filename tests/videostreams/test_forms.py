"""Camera passwords and webhook secrets are write-only: never in the API, the UI, the admin or the logs, and still
used by the reader and the webhook worker."""
from __future__ import annotations

import logging

import pytest
from django.urls import reverse

from tests.conftest import client_with_key
from videostreams.models import Camera, Rule
from videostreams.outbound import redact, unredact

pytestmark = pytest.mark.django_db

SOURCE = "rtsp://admin:hunter2-secret@10.0.0.5:554/Streaming/Channels/101"
MASKED = "rtsp://admin:***@10.0.0.5:554/Streaming/Channels/101"


def test_redact_masks_only_the_password():
    assert redact(SOURCE) == MASKED
    assert redact("rtsp://10.0.0.5/stream") == "rtsp://10.0.0.5/stream"
    assert redact("0") == "0"
    assert redact("rtsp://u:p@ss@[fd00::1]:554/s") == "rtsp://u:***@[fd00::1]:554/s"


def test_unredact_puts_back_the_stored_password_only_for_the_same_masked_source():
    assert unredact(MASKED, SOURCE) == SOURCE
    assert unredact("rtsp://admin:***@10.0.0.6:554/Streaming/Channels/101", SOURCE).startswith("rtsp://admin:***@10.0.0.6")
    assert unredact("rtsp://admin:new@10.0.0.5:554/Streaming/Channels/101", SOURCE).endswith("new@10.0.0.5:554/Streaming/Channels/101")


def test_api_never_returns_the_camera_password_and_a_round_trip_keeps_it(api_key):
    admin, reader = client_with_key(api_key("admin")), client_with_key(api_key("read"))
    created = admin.post("/api/v1/cameras", {"name": "gate", "source": SOURCE}, format="json")
    assert created.status_code == 201 and created.json()["source"] == MASKED
    camera_id = created.json()["id"]
    for response in (reader.get("/api/v1/cameras"), reader.get(f"/api/v1/cameras/{camera_id}")):
        assert "hunter2" not in response.content.decode()
    # A client that edits what it read and sends it back keeps the password it never saw.
    body = reader.get(f"/api/v1/cameras/{camera_id}").json()
    assert admin.put(f"/api/v1/cameras/{camera_id}", {"name": "gate 2", "source": body["source"]}, format="json").status_code == 200
    assert Camera.objects.get(pk=camera_id).source == SOURCE
    assert admin.patch(f"/api/v1/cameras/{camera_id}", {"source": "rtsp://admin:rotated@10.0.0.5/s"}, format="json").status_code == 200
    assert Camera.objects.get(pk=camera_id).source == "rtsp://admin:rotated@10.0.0.5/s"


def test_api_masks_webhook_url_credentials_and_never_returns_the_secret(api_key):
    admin, reader = client_with_key(api_key("admin")), client_with_key(api_key("read"))
    url = "http://hook:url-password@127.0.0.1:9/h"
    created = admin.post("/api/v1/rules", {"name": "r", "trigger": "any", "webhook_url": url, "webhook_secret": "sign-key-secret"}, format="json")
    assert created.status_code == 201, created.content
    listing = reader.get("/api/v1/rules").content.decode()
    assert "url-password" not in listing and "sign-key-secret" not in listing
    assert created.json()["webhook_url"] == "http://hook:***@127.0.0.1:9/h" and created.json()["has_webhook_secret"] is True


def test_ui_and_admin_pages_never_show_the_password_or_the_secret(admin_client):
    camera = Camera.objects.create(name="gate", source=SOURCE)
    rule = Rule.objects.create(name="r", trigger=Rule.Trigger.ANY, webhook_url="http://127.0.0.1:9/h", webhook_secret="sign-key-secret")
    pages = [
        admin_client.get(reverse("ui:camera", kwargs={"camera_id": camera.id})),
        admin_client.get(reverse("ui:rule", kwargs={"rule_id": rule.id})),
        admin_client.get(reverse("admin:videostreams_camera_change", args=[camera.id])),
        admin_client.get(reverse("admin:videostreams_camera_changelist")),
        admin_client.get(reverse("admin:videostreams_rule_change", args=[rule.id])),
    ]
    for page in pages:
        text = page.content.decode()
        assert page.status_code == 200
        assert "hunter2" not in text and "sign-key-secret" not in text
    assert MASKED in pages[0].content.decode()


def test_ui_save_with_the_masked_source_and_an_empty_secret_keeps_both(admin_client):
    camera = Camera.objects.create(name="gate", source=SOURCE)
    rule = Rule.objects.create(name="r", trigger=Rule.Trigger.ANY, webhook_url="http://127.0.0.1:9/h", webhook_secret="sign-key-secret")
    response = admin_client.post(reverse("ui:camera", kwargs={"camera_id": camera.id}),
                             {"name": "gate", "source": MASKED, "mode": "realtime", "sample_fps": 5, "min_face_size": 40, "min_quality": 0.3})
    assert response.status_code == 302, response.content.decode()[-2000:]
    camera.refresh_from_db()
    assert camera.source == SOURCE
    response = admin_client.post(reverse("ui:rule", kwargs={"rule_id": rule.id}),
                             {"name": "r", "trigger": "any", "webhook_url": "http://127.0.0.1:9/h", "webhook_secret": "", "enabled": "on"})
    assert response.status_code == 302
    rule.refresh_from_db()
    assert rule.webhook_secret == "sign-key-secret"
    admin_client.post(reverse("ui:rule", kwargs={"rule_id": rule.id}),
                  {"name": "r", "trigger": "any", "webhook_url": "http://127.0.0.1:9/h", "webhook_secret": "rotated", "enabled": "on"})
    rule.refresh_from_db()
    assert rule.webhook_secret == "rotated"


def test_reader_errors_and_logs_show_the_source_masked(caplog):
    from videostreams.processing import CameraConfig
    from videostreams.queues import FrameQueue
    from videostreams.sources import CameraReader

    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = CameraConfig(id="c", name="c", source=f"http://viewer:hunter2-secret@127.0.0.1:{port}/v.mjpg", sample_fps=1)
    reader = CameraReader(config, FrameQueue(2), backoff_min=0.01, backoff_max=0.01, open_timeout=1, error_after=1)
    with caplog.at_level(logging.DEBUG):
        reader.start()
        try:
            from tests.videostreams.test_outbound import _eventually

            assert _eventually(lambda: reader.reconnects >= 1)
        finally:
            reader.stop()
            reader.join(5)
    assert "viewer:***@127.0.0.1" in reader.last_error and "hunter2" not in reader.last_error
    assert "hunter2" not in caplog.text


def test_the_admin_keeps_an_empty_secret_and_removes_it_when_asked(admin_client):
    rule = Rule.objects.create(name="r", trigger=Rule.Trigger.ANY, webhook_url="http://127.0.0.1:9/h", webhook_secret="sign-key-secret")
    url = reverse("admin:videostreams_rule_change", args=[rule.id])
    form = {"name": "r", "enabled": "on", "trigger": "any", "webhook_url": "http://127.0.0.1:9/h", "webhook_secret": "",
            "gender": "", "emotion": ""}
    assert "remove_webhook_secret" in admin_client.get(url).content.decode()
    assert admin_client.post(url, form).status_code == 302
    rule.refresh_from_db()
    assert rule.webhook_secret == "sign-key-secret"
    assert admin_client.post(url, {**form, "remove_webhook_secret": "on"}).status_code == 302
    rule.refresh_from_db()
    assert rule.webhook_secret == ""

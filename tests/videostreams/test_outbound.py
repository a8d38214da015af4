"""The outbound policy: camera sources and webhook URLs are refused before any connection is made.

Only loopback (a listener the test opens, which must never see a connection) and reserved/documentation addresses
appear here; nothing leaves the machine.
"""
from __future__ import annotations

import http.server
import select
import socket
import threading

import pytest

from videostreams import outbound
from videostreams.outbound import OutboundRefused

pytestmark = pytest.mark.django_db


class Listener:
    """A TCP port on 127.0.0.1 that records whether anybody connected (the proof that a refusal came first)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]

    def connected(self, wait: float = 0.3) -> bool:
        readable, _, _ = select.select([self.sock], [], [], wait)
        return bool(readable)

    def close(self):
        self.sock.close()


@pytest.fixture
def listener():
    one = Listener()
    yield one
    one.close()


@pytest.fixture
def default_policy(settings):
    """The shipped defaults, whatever the folder's conftest allows for the other tests."""
    settings.FACEAPP_CAMERA_ALLOWED_NETWORKS = "10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,fc00::/7"
    settings.FACEAPP_WEBHOOK_ALLOWED_NETWORKS = ""
    settings.FACEAPP_VIDEO_FILE_ROOT = ""


REFUSED_CAMERA_SOURCES = [
    ("file:///etc/passwd", "scheme file: is not allowed"),
    ("/etc/passwd", "FACEAPP_VIDEO_FILE_ROOT is not set"),
    ("concat:/etc/passwd|/etc/hosts", "scheme concat: is not allowed"),
    ("http://127.0.0.1:5432", "127.0.0.1 is a loopback address"),
    ("http://localhost:5432/", "is a loopback address"),
    ("rtsp://[::1]/stream", "::1 is a loopback address"),
    ("http://[::ffff:127.0.0.1]/x", "127.0.0.1 is a loopback address"),
    ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local (cloud metadata) address"),
    ("http://0.0.0.0:8000/", "0.0.0.0 is an unspecified address"),
    ("rtsp://192.0.2.10/stream", "192.0.2.10 is a private address"),  # documentation range: not public
    ("ftp://192.0.2.10/video", "scheme ftp: is not allowed"),
]


@pytest.mark.parametrize(("source", "why"), REFUSED_CAMERA_SOURCES)
def test_camera_sources_that_probe_the_host_are_refused(default_policy, source, why):
    with pytest.raises(OutboundRefused, match=why.replace("(", r"\(").replace(")", r"\)")):
        outbound.check_camera_source(source)


def test_cameras_on_the_private_lan_and_local_devices_are_allowed_by_default(default_policy):
    for source in ("0", "rtsp://10.1.2.3:554/stream", "rtsp://admin:pw@192.168.1.20/h264", "http://172.16.0.9/mjpg", "rtsps://[fd00::5]/s"):
        outbound.check_camera_source(source)


def test_the_allow_list_opens_a_network_and_nothing_else(default_policy, settings):
    settings.FACEAPP_CAMERA_ALLOWED_NETWORKS = "192.0.2.0/24"
    outbound.check_camera_source("rtsp://192.0.2.10/stream")
    with pytest.raises(OutboundRefused, match="FACEAPP_CAMERA_ALLOWED_NETWORKS"):
        outbound.check_camera_source("rtsp://198.51.100.7/stream")
    with pytest.raises(OutboundRefused):
        outbound.check_camera_source("rtsp://10.1.2.3/stream")  # the default list is replaced, not extended


def test_video_files_only_as_absolute_paths_under_the_root(default_policy, settings, tmp_path):
    (tmp_path / "videos").mkdir()
    clip = tmp_path / "videos" / "door.mp4"
    clip.write_bytes(b"")
    settings.FACEAPP_VIDEO_FILE_ROOT = str(tmp_path / "videos")
    outbound.check_camera_source(str(clip))
    for outside in ("/etc/passwd", str(tmp_path / "videos" / ".." / "secret.mp4"), "videos/door.mp4"):
        with pytest.raises(OutboundRefused):
            outbound.check_camera_source(outside)
    (tmp_path / "videos" / "link.mp4").symlink_to("/etc/passwd")
    with pytest.raises(OutboundRefused, match="outside FACEAPP_VIDEO_FILE_ROOT"):
        outbound.check_camera_source(str(tmp_path / "videos" / "link.mp4"))


def test_webhooks_to_private_networks_need_the_allow_list(default_policy, settings):
    with pytest.raises(OutboundRefused, match="10.0.0.5 is a private address.*FACEAPP_WEBHOOK_ALLOWED_NETWORKS"):
        outbound.check_webhook_url("http://10.0.0.5/hook")
    with pytest.raises(OutboundRefused, match="scheme file: is not allowed"):
        outbound.check_webhook_url("file:///etc/passwd")
    settings.FACEAPP_WEBHOOK_ALLOWED_NETWORKS = "10.0.0.0/24"
    outbound.check_webhook_url("http://10.0.0.5/hook")


# --- the API: refused on save, with what failed, and no connection made ----------------------------------------


def test_api_refuses_camera_sources_that_probe_the_host_without_connecting(default_policy, api_client, listener):
    from videostreams.models import Camera

    for source in ("file:///etc/passwd", "/etc/passwd", f"http://127.0.0.1:{listener.port}", "http://169.254.169.254/latest/meta-data/"):
        response = api_client.post("/api/v1/cameras", {"name": "probe", "source": source}, format="json")
        assert response.status_code == 400, (source, response.content)
        body = response.json()
        assert body["error_code"] == "invalid_request" and "source" in body["fields"]
    assert not Camera.objects.exists()
    assert not listener.connected()


def test_api_refuses_webhooks_to_loopback_and_metadata(default_policy, api_client, listener):
    for url in (f"http://127.0.0.1:{listener.port}/hook", "http://169.254.169.254/latest/meta-data/", "http://192.168.1.1/"):
        response = api_client.post("/api/v1/rules", {"name": "scan", "trigger": "any", "webhook_url": url}, format="json")
        assert response.status_code == 400, (url, response.content)
        assert "refused by the outbound policy" in response.json()["fields"]["webhook_url"][0]
    assert not listener.connected()


# --- at use: the reader, the probe and the webhook worker check again ---------------------------------------------


def test_reader_refuses_a_stored_source_the_policy_no_longer_allows(default_policy, listener):
    from videostreams.processing import CameraConfig
    from videostreams.queues import FrameQueue
    from videostreams.sources import ERROR, CameraReader

    # Saved when loopback was allowed (or written to the table directly): the reader still refuses it.
    config = CameraConfig(id="c", name="c", source=f"http://127.0.0.1:{listener.port}/video.mjpg", sample_fps=1)
    reader = CameraReader(config, FrameQueue(2), backoff_min=0.01, backoff_max=0.01, open_timeout=1, error_after=1)
    reader.start()
    try:
        assert _eventually(lambda: reader.state == ERROR)
    finally:
        reader.stop()
        reader.join(5)
    assert reader.last_error.startswith("refused: camera destination 127.0.0.1 is a loopback address")
    assert not listener.connected()


def test_probe_refuses_before_opening(default_policy, listener):
    from videostreams.cameras import probe

    result = probe(f"http://127.0.0.1:{listener.port}/snapshot")
    assert not result.ok and result.message.startswith("Refused: camera destination 127.0.0.1")
    assert not listener.connected()


def _delivery(url: str):
    from videostreams.models import Camera, Event, Rule, WebhookDelivery
    from django.utils import timezone

    camera = Camera.objects.create(name="door", source="0")
    now = timezone.now()
    event = Event.objects.create(camera=camera, track_id="t", first_seen=now, last_seen=now, quality=0.5, box={})
    rule = Rule.objects.create(name="hook", trigger=Rule.Trigger.ANY, webhook_url=url, webhook_secret="s")
    return WebhookDelivery.objects.create(rule=rule, event=event, url=url, payload={"type": "face.unknown"})


def test_delivery_refuses_a_name_that_now_resolves_to_loopback(default_policy, listener):
    """DNS rebinding: the address is checked for the connection itself, whatever was checked when the rule was saved."""
    from videostreams.models import WebhookDelivery
    from videostreams.tasks import deliver_webhook

    delivery = _delivery(f"http://localhost:{listener.port}/hook")
    assert deliver_webhook(str(delivery.id)) == WebhookDelivery.Status.FAILED  # refused: no retries, it would not change
    delivery.refresh_from_db()
    assert delivery.last_error.startswith("refused: webhook destination")
    assert "loopback" in delivery.last_error and delivery.next_attempt_at is None
    assert not listener.connected()


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.server.hits.append(self.path)
        if self.path == "/redirect":
            self.send_response(307)
            self.send_header("Location", self.server.target)
            self.end_headers()
        else:
            body = b"SECRET-BANNER postgres 16.2 internal stack trace"
            self.send_response(500)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.hits = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_delivery_follows_no_redirect(settings, receiver, listener):
    from videostreams.tasks import deliver_webhook

    settings.FACEAPP_WEBHOOK_ALLOWED_NETWORKS = "127.0.0.0/8"
    receiver.target = f"http://127.0.0.1:{listener.port}/internal"
    delivery = _delivery(f"http://127.0.0.1:{receiver.server_address[1]}/redirect")
    deliver_webhook(str(delivery.id))
    delivery.refresh_from_db()
    assert receiver.hits == ["/redirect"]
    assert delivery.last_error == "HTTP 307: redirects are not followed"
    assert not listener.connected()


def test_delivery_log_never_quotes_the_receiver(settings, receiver, api_key):
    from tests.conftest import client_with_key
    from videostreams.tasks import deliver_webhook

    settings.FACEAPP_WEBHOOK_ALLOWED_NETWORKS = "127.0.0.0/8"
    delivery = _delivery(f"http://127.0.0.1:{receiver.server_address[1]}/boom")
    deliver_webhook(str(delivery.id))
    body = client_with_key(api_key("read")).get(f"/api/v1/webhook-deliveries/{delivery.id}").json()
    assert body["last_error"] == "HTTP 500" and body["response_status"] == 500
    assert "SECRET-BANNER" not in str(body)


def test_delivery_to_a_closed_port_says_refused_in_fixed_words(settings):
    from videostreams.tasks import deliver_webhook

    settings.FACEAPP_WEBHOOK_ALLOWED_NETWORKS = "127.0.0.0/8"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    delivery = _delivery(f"http://127.0.0.1:{port}/hook")
    deliver_webhook(str(delivery.id))
    delivery.refresh_from_db()
    assert delivery.last_error == "connection refused"


def _eventually(condition, timeout=10.0) -> bool:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def test_saving_checks_written_addresses_and_localhost_but_looks_no_name_up(default_policy, monkeypatch):
    """A name is checked when it is used (the node saving a camera may not resolve it); no DNS query on save."""
    def no_lookup(*args, **kwargs):
        raise AssertionError("a name was looked up on save")

    monkeypatch.setattr(socket, "getaddrinfo", no_lookup)
    outbound.check_camera_source("rtsp://camera-7.lan/stream", resolve=False)
    outbound.check_webhook_url("https://hooks.example.org/faces", resolve=False)
    for refused in ("rtsp://localhost/s", "rtsp://localhost./s", "rtsp://cam.localhost/s", "http://169.254.169.254/", "http://[::1]/",
                    "file:///etc/passwd", "http://2130706433/", "http://0x7f.1/", "http://127.1:8080/", "http://0251.0376.0251.0376/"):
        with pytest.raises(OutboundRefused):
            outbound.check_camera_source(refused, resolve=False)

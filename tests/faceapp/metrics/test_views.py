"""GET /metrics on the web port: token-protected, with the request, stage and cluster metrics."""
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import upload


def samples(text: str) -> dict:
    """{(name, frozenset(labels)): value} of a Prometheus text exposition."""
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(metrics: dict, name: str, **labels) -> float:
    return metrics.get((name, frozenset(labels.items())), 0.0)


@pytest.mark.django_db
def test_metrics_is_not_served_on_the_web_port_without_a_token(client, settings):
    settings.FACEAPP_METRICS_TOKEN = ""
    assert client.get("/metrics").status_code == 404


@pytest.mark.django_db
def test_metrics_needs_the_bearer_token(client, settings):
    settings.FACEAPP_METRICS_TOKEN = "s3cret"
    response = client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong")
    assert response.status_code == 401 and response["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["error_code"] == "unauthenticated"
    assert client.get("/metrics").status_code == 401


@pytest.mark.django_db
def test_a_recognition_fills_the_request_and_stage_histograms_and_the_verdicts(client, settings, models_ready):
    settings.FACEAPP_METRICS_TOKEN = "s3cret"
    before = samples(client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret").content.decode())
    assert client.post("/api/v1/recognise_user", {"image": upload("samples", "obama.jpg")}).status_code == 200
    response = client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/plain")
    after = samples(response.content.decode())

    def grew(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("faceapp_http_requests_total", endpoint="recognise_user", method="POST", status="200") == 1
    assert grew("faceapp_http_request_duration_seconds_count", endpoint="recognise_user", method="POST") == 1
    for stage in ("decode", "detect", "crop", "embed", "search"):
        assert grew("faceapp_pipeline_stage_duration_seconds_count", stage=stage) == 1, stage
        assert grew("faceapp_pipeline_stage_duration_seconds_sum", stage=stage) > 0, stage
    assert grew("faceapp_identifications_total", verdict="unknown") == 1  # nobody is enrolled
    assert grew("faceapp_faces_detected_total") >= 1
    # The cluster gauges, read at the scrape: the database answered, the (one) queue is empty.
    assert value(after, "faceapp_database_up") == 1
    assert value(after, "faceapp_scrape_error", source="queues") == 0
    assert ("faceapp_queue_depth", frozenset({("queue", "faceapp")})) in after


@pytest.mark.django_db
def test_cameras_leases_and_webhook_deliveries_are_reported(client, settings):
    from django.utils import timezone

    from videostreams.models import Camera, WebhookDelivery

    settings.FACEAPP_METRICS_TOKEN = "s3cret"
    now = timezone.now()
    Camera.objects.create(name="door", source="x.mp4", status=Camera.Status.RUNNING, frames_per_second=4.5, frames_dropped=7,
                          reconnects=2, lease_owner="node-a:12:abc", lease_expires_at=now + timezone.timedelta(seconds=20),
                          status_updated_at=now)
    Camera.objects.create(name="yard", source="y.mp4", status=Camera.Status.RECONNECTING)
    WebhookDelivery.objects.create(url="http://127.0.0.1:9/", payload={}, status="failed")
    metrics = samples(client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret").content.decode())
    assert value(metrics, "faceapp_camera_status", camera="door", status="running") == 1
    assert value(metrics, "faceapp_camera_frames_per_second", camera="door") == 4.5
    assert value(metrics, "faceapp_camera_frames_dropped", camera="door") == 7
    assert value(metrics, "faceapp_camera_reconnects", camera="door") == 2
    assert value(metrics, "faceapp_camera_lease", camera="door", owner="node-a:12:abc") == 1
    assert 15 < value(metrics, "faceapp_camera_lease_remaining_seconds", camera="door") <= 20
    assert value(metrics, "faceapp_camera_lease", camera="yard", owner="") == 1  # nobody holds it
    assert value(metrics, "faceapp_runner_cameras", owner="node-a:12:abc") == 1
    assert value(metrics, "faceapp_webhook_deliveries", status="failed") == 1
    assert value(metrics, "faceapp_webhook_deliveries", status="pending") == 0


@pytest.mark.django_db
def test_health_separates_liveness_from_readiness(client, models_ready):
    live = client.get("/api/v1/health/live")
    assert live.status_code == 200 and live.json()["status"] == "ok"
    ready = client.get("/api/v1/health/ready")
    assert ready.status_code == 200 and ready.json()["database"]["ready"] and "redis" not in ready.json()

import pytest
from django.contrib.auth import get_user_model

from tests.videostreams.test_views import make_event
from videostreams.models import Camera, Rule

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(get_user_model().objects.create_superuser("admin", "admin@example.org", "pw-admin-123"))
    return client


def test_admin_lists_cameras_with_status_events_with_faces_rules_and_deliveries(admin_client):
    camera = Camera.objects.create(name="door", source="0", status=Camera.Status.ERROR, last_error="cannot open 0")
    event = make_event(camera)
    Rule.objects.create(name="hook", webhook_url="https://example.org/h")
    page = admin_client.get("/admin/videostreams/camera/")
    assert page.status_code == 200 and b"cannot open 0" in page.content
    page = admin_client.get("/admin/videostreams/event/")
    assert page.status_code == 200 and f"/videostreams/events/{event.id}/thumbnail.jpg".encode() in page.content
    assert admin_client.get(f"/admin/videostreams/event/{event.id}/change/").status_code == 200
    assert admin_client.get(f"/admin/videostreams/camera/{camera.id}/change/").status_code == 200
    assert admin_client.get("/admin/videostreams/rule/").status_code == 200
    assert admin_client.get("/admin/videostreams/webhookdelivery/").status_code == 200

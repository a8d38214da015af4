import pytest

pytestmark = pytest.mark.django_db


def test_the_models_page_is_for_staff_only(client):
    response = client.get("/admin/models/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_the_models_page_shows_the_active_embedder_and_the_arcface_licence(admin_client, models_ready):
    page = admin_client.get("/admin/models/").content.decode()
    assert "Active embedder: <strong>facenet-ms1m</strong>" in page
    assert "Non-commercial research use only" in page
    assert "arcface_mbf.onnx" in page and "facenet.onnx" in page and "facenet_ms1m.onnx" in page

import pytest


@pytest.mark.django_db
def test_home_page_shows_readiness_and_links_to_the_docs(client, models_ready):
    response = client.get("/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "ready" in page and "not ready" not in page
    assert 'href="/api/docs/"' in page and 'href="/admin/"' in page


@pytest.mark.django_db
def test_home_page_names_what_is_not_ready(client, settings, tmp_path):
    settings.FACEAPP_MODEL_DIR = tmp_path
    response = client.get("/")
    assert response.status_code == 503
    assert "not ready" in response.content.decode()

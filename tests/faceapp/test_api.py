"""The one error envelope and request ids, for errors that no view of ours raises."""
import logging

import pytest


def assert_envelope(response, status, error_code=None):
    body = response.json()
    assert response.status_code == status, body
    assert set(body) >= {"status", "error_code", "message", "requestId"}
    assert body["status"] == "error"
    assert body["requestId"] == response["X-Request-ID"]
    if error_code is not None:
        assert body["error_code"] == error_code
    return body


def test_unknown_api_path_is_a_404_in_the_error_envelope(client):
    assert_envelope(client.get("/api/v1/no-such-thing"), 404, "not_found")


@pytest.mark.django_db
def test_wrong_method_is_a_405_in_the_error_envelope(client):
    assert_envelope(client.delete("/api/v1/health"), 405, "method_not_allowed")


@pytest.mark.django_db
def test_a_sane_client_request_id_is_echoed_and_logged(client, caplog):
    with caplog.at_level(logging.INFO, logger="faceapp.request"):
        response = client.get("/api/v1/health", HTTP_X_REQUEST_ID="client-abc_123")
    assert response["X-Request-ID"] == "client-abc_123"
    assert any(getattr(r, "request_id", None) == "client-abc_123" and "/api/v1/health" in r.getMessage() for r in caplog.records)


@pytest.mark.django_db
def test_an_unsafe_client_request_id_is_replaced(client):
    response = client.get("/api/v1/health", HTTP_X_REQUEST_ID="evil\nheader value that is far too long" * 3)
    assert response["X-Request-ID"] != ""
    assert "\n" not in response["X-Request-ID"] and len(response["X-Request-ID"]) <= 64


@pytest.mark.django_db
def test_an_unexpected_error_is_a_500_envelope_that_echoes_nothing_and_logs_the_traceback(api_client, monkeypatch, caplog):
    """An injected fault (no view of ours raises one on purpose): the client gets only 'Internal error.' and the
    request id; the log line of that request id has the traceback."""
    from enrollment import people

    def broken(**query):
        raise RuntimeError("secret detail: password=hunter2 at /srv/faceapp/var")

    monkeypatch.setattr(people, "people", broken)
    with caplog.at_level(logging.ERROR, logger="faceapp.api"):
        response = api_client.get("/api/v1/people")
    body = assert_envelope(response, 500, "internal_error")
    assert body["message"] == "Internal error." and "hunter2" not in response.content.decode()
    logged = [r for r in caplog.records if getattr(r, "request_id", None) == body["requestId"]]
    assert logged and logged[0].exc_info and "hunter2" in str(logged[0].exc_info[1])


def test_a_500_outside_drf_on_an_api_path_is_the_envelope_too(rf):
    from faceapp.api import handler500

    response = handler500(rf.get("/api/v1/anything"))
    import json

    body = json.loads(response.content)
    assert response.status_code == 500 and body["error_code"] == "internal_error" and body["message"] == "Internal error."

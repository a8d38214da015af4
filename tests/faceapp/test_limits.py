"""Request bodies refused by their Content-Length before they are read (faceapp/limits.py)."""
from __future__ import annotations

import socket
import time

import pytest

pytestmark = pytest.mark.django_db(transaction=True)


def send_headers_only(live_server, path: str, length: int, headers: str = "") -> tuple[str, float]:
    """POST with a Content-Length of `length` and no body at all: a server that waited for the body would time out."""
    host, port = live_server.thread.host, live_server.thread.port
    started = time.monotonic()
    with socket.create_connection((host, port), timeout=10) as sock:
        sock.sendall((f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: multipart/form-data; boundary=x\r\n"
                      f"Content-Length: {length}\r\n{headers}\r\n").encode())
        sock.settimeout(10)
        answer = ""
        while "requestId" not in answer or not answer.rstrip().endswith("}"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk.decode("latin-1")
    return answer, time.monotonic() - started


def test_a_200_mb_upload_is_refused_from_its_header_before_the_body_is_sent(live_server):
    answer, seconds = send_headers_only(live_server, "/api/v1/recognise_user", 200 * 1024 * 1024)
    assert answer.startswith("HTTP/1.1 413"), answer[:200]
    assert '"error_code": "request_too_large"' in answer and '"requestId"' in answer
    assert seconds < 5  # answered without the body ever arriving


def test_single_image_endpoints_allow_one_upload_and_the_form(client, settings):
    settings.FACEAPP_MAX_UPLOAD_BYTES = 1000
    over = 1000 + 1024 * 1024 + 1
    response = client.generic("POST", "/api/v1/detect", b"", content_type="multipart/form-data; boundary=x", CONTENT_LENGTH=str(over))
    assert response.status_code == 413 and response.json()["error_code"] == "request_too_large"
    response = client.generic("POST", "/api/v1/verify", b"", content_type="multipart/form-data; boundary=x", CONTENT_LENGTH=str(over))
    assert response.status_code != 413  # two images fit


def test_every_other_request_has_the_general_limit_and_the_bulk_import_its_own(client, settings, django_user_model):
    settings.FACEAPP_MAX_REQUEST_BYTES = 5000
    settings.FACEAPP_IMPORT_MAX_BYTES = 50_000
    client.force_login(django_user_model.objects.create_user("op", password="a long pass phrase 1", is_staff=True))
    big = {"CONTENT_LENGTH": "6000"}
    assert client.generic("POST", "/ui/enrol/", b"", content_type="multipart/form-data; boundary=x", **big).status_code == 413
    response = client.generic("POST", "/ui/import/", b"", content_type="multipart/form-data; boundary=x", **big)
    assert response.status_code != 413
    too_big = {"CONTENT_LENGTH": "60000"}
    assert client.generic("POST", "/ui/import/", b"", content_type="multipart/form-data; boundary=x", **too_big).status_code == 413

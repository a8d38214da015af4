"""Faults survived, nothing lost: against the real parts (the embedded PostgreSQL stopped and started again under a
real gunicorn; real concurrent enrolments). Run them alone with `pytest -m faults`."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection

from tests.conftest import client_with_key, upload

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parent.parent


def media_files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in Path(root).rglob("*") if p.is_file()}


# --- two clients, one email --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("requests", "error_code"), [
    # the same email, two different people's photos: the unique email decides
    ((("obama.jpg", "barack@example.org"), ("biden.jpg", "barack@example.org")), "email_exists"),
    # the same face, two emails: the duplicate-face check decides (under its lock)
    ((("obama.jpg", "barack@example.org"), ("obama2.jpg", "b.obama@example.org")), "duplicate_face"),
], ids=["same-email", "same-face"])
def test_two_concurrent_enrolments_one_wins_one_gets_409_and_no_file_is_orphaned(
        api_key, models_ready, media_in_tmp, requests, error_code):
    from enrollment.models import Face, Person

    key = api_key("enroll")
    barrier = threading.Barrier(2)
    answers = []

    def enrol(photo: str, email: str):
        client = client_with_key(key)
        barrier.wait(timeout=30)
        try:
            answers.append(client.post("/api/v1/people", {"name": "Barack Obama", "email": email,
                                                          "image": upload("samples", photo)}, format="multipart"))
        finally:
            connection.close()

    threads = [threading.Thread(target=enrol, args=request) for request in requests]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    codes = sorted(response.status_code for response in answers)
    assert codes == [201, 409], [r.json() for r in answers]
    loser = next(r for r in answers if r.status_code == 409).json()
    assert loser["error_code"] == error_code and loser["requestId"]
    person = Person.objects.get()
    faces = list(Face.objects.filter(person=person))
    kept = {f.name for face in faces for f in (face.crop, face.thumbnail, face.source_image) if f}
    assert len(faces) == 1 and media_files(media_in_tmp) == kept  # the loser's files are gone


# --- the database stopped and started again under a real server ---------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(url: str, key: str, *, data: bytes | None = None, timeout: float = 10.0) -> tuple[int, dict, str]:
    request = urllib.request.Request(url, data=data, headers={"X-API-Key": key, "Content-Type": "application/json"},
                                     method="POST" if data is not None else "GET")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"{}"), response.headers.get("X-Request-ID", "")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}"), exc.headers.get("X-Request-ID", "")


@pytest.fixture
def embedded_pgdata() -> Path:
    path = settings.DATABASES["default"].get("EMBEDDED_PGDATA")
    if not path:
        pytest.skip("DATABASE_URL points at another PostgreSQL: this test stops and starts the embedded one")
    if os.environ.get("PYTEST_XDIST_WORKER"):
        pytest.skip("stopping the database would fail the tests of the other xdist workers that share it")
    return Path(path)


@pytest.fixture
def server(embedded_pgdata, api_key, tmp_path):
    """gunicorn serving faceapp on the test database through the embedded server's socket, as a plain PostgreSQL
    client (DATABASE_URL): it cannot start the database itself, so the outage is real for it."""
    from faceapp import embedded_db

    socket_dir = dict(p.split("=", 1) for p in embedded_db.database_url(embedded_pgdata).split("?", 1)[1].split("&"))["host"]
    port = free_port()
    env = {**os.environ, "DATABASE_URL": f"postgresql://postgres@{quote(socket_dir, safe='')}/{connection.settings_dict['NAME']}",
           "DB_CONNECT_TIMEOUT": "2", "DB_CONN_MAX_AGE": "60", "FACEAPP_MEDIA_ROOT": str(tmp_path / "media"),
           "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prometheus"), "FACEAPP_ENV": "development"}
    process = subprocess.Popen([str(Path(sys.executable).parent / "gunicorn"), "faceapp.wsgi", "-b", f"127.0.0.1:{port}",
                                "-w", "1", "--threads", "4", "--timeout", "60"], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    key = api_key("admin")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if call(f"{base}/api/v1/people", key, timeout=5)[0] == 200:
                break
        except OSError:
            time.sleep(0.2)
    else:
        process.kill()
        pytest.fail("gunicorn did not come up: " + process.stdout.read().decode(errors="replace")[-3000:])
    yield base, key
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()


def test_database_stopped_gives_503_with_a_request_id_and_the_server_recovers_by_itself(server, embedded_pgdata):
    from faceapp import embedded_db

    base, key = server
    assert call(f"{base}/api/v1/people", key)[0] == 200
    connection.close()  # this process's own connection would not survive the stop either
    assert embedded_db.stop(embedded_pgdata)
    try:
        window = [call(f"{base}/api/v1/people", key) for _ in range(3)]
        window.append(call(f"{base}/api/v1/people", key, data=json.dumps({"name": "Written In The Outage"}).encode()))
        for status, body, request_id in window:
            assert status == 503, body
            assert body["error_code"] == "database_unavailable" and body["requestId"] == request_id != ""
    finally:
        embedded_db.forget(embedded_pgdata)
        embedded_db.database_url(embedded_pgdata)  # started again (as `make run` or an operator would)
    # The server was not restarted: it reconnects by itself, at once.
    deadline, status = time.monotonic() + 20, None
    while time.monotonic() < deadline:
        status, body, _ = call(f"{base}/api/v1/people", key)
        if status == 200:
            break
        time.sleep(0.2)
    assert status == 200, body
    assert not any(p["name"] == "Written In The Outage" for p in body["results"])  # nothing half-written


# --- the media disk full ------------------------------------------------------------------------------------------


@pytest.fixture
def tiny_media(settings, tmp_path):
    """MEDIA_ROOT on a 64 KiB tmpfs (needs root to mount): the disk fills up during an enrolment."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mount_point = tmp_path / "tiny-media"
    mount_point.mkdir()
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount_point)], capture_output=True, text=True)
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {result.stderr.strip()}")
    settings.MEDIA_ROOT = mount_point
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], capture_output=True)


def test_media_disk_full_gives_a_clear_507_and_leaves_no_row_or_file(api_key, models_ready, tiny_media):
    from enrollment.models import Face, Person

    client = client_with_key(api_key("enroll"))
    (tiny_media / "filler").write_bytes(b"\0" * 40_000)  # what other data left of the disk
    response = client.post("/api/v1/people", {"name": "Barack Obama", "image": upload("samples", "obama.jpg")}, format="multipart")
    body = response.json()
    assert response.status_code == 507, body
    assert body["error_code"] == "insufficient_storage" and body["requestId"] and "disk" in body["message"]
    assert not Person.objects.exists() and not Face.objects.exists()
    assert media_files(tiny_media) == {"filler"}

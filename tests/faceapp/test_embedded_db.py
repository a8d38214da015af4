"""The embedded PostgreSQL handle: many threads opening their first connection at once (a new process's threads, or
connections renewed after DB_CONN_MAX_AGE) must all get the server's address, never an AssertionError (a 500)."""
from __future__ import annotations

import threading
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connections

from faceapp import embedded_db

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 16
ROUNDS = 15


def pgdata() -> Path:
    path = settings.DATABASES["default"].get("EMBEDDED_PGDATA")
    if not path:
        pytest.skip("DATABASE_URL points at another PostgreSQL: no embedded server to race on")
    return Path(path)


def test_many_threads_opening_connections_at_once_all_succeed():
    errors: list[BaseException] = []
    opened = []

    def connect(barrier: threading.Barrier):
        try:
            barrier.wait(timeout=30)
            connection = connections["default"]  # this thread's own: a new connection, a new lookup of the server
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
                opened.append(cursor.fetchone()[0])
        except BaseException as exc:  # noqa: BLE001 - the test reports every failure
            errors.append(exc)
        finally:
            connections["default"].close()

    for _ in range(ROUNDS):
        embedded_db.forget(pgdata())  # as a fresh process: no handle yet, every thread looks the server up
        barrier = threading.Barrier(THREADS)
        threads = [threading.Thread(target=connect, args=(barrier,)) for _ in range(THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    assert not errors, f"{len(errors)} of {THREADS * ROUNDS} connections failed, first: {errors[0]!r}"
    assert len(opened) == THREADS * ROUNDS


def test_database_url_is_resolved_once_and_reused():
    first = embedded_db.database_url(pgdata())
    assert embedded_db.database_url(pgdata()) == first
    results = []
    barrier = threading.Barrier(THREADS)

    def lookup():
        barrier.wait(timeout=30)
        results.append(embedded_db.database_url(pgdata()))

    embedded_db.forget(pgdata())
    threads = [threading.Thread(target=lookup) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert results == [first] * THREADS

"""Readiness of the parts a request needs: the database, pgvector and the models."""
from __future__ import annotations

from django.conf import settings
from django.db import DatabaseError, connection

from recognition import embedders, runtime
from recognition.manifest import check_models


def database_status() -> tuple[dict, dict]:
    """(database part, pgvector part)."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_setting('server_version')")
            version = cursor.fetchone()[0]
            cursor.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
            row = cursor.fetchone()
    except DatabaseError as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        down = {"ready": False, "error": f"database unreachable: {reason}"}
        return down, {"ready": False, "error": "database unreachable"}
    database = {"ready": True, "version": version}
    if row is None:
        return database, {"ready": False, "error": "the vector extension is not installed; run `manage.py migrate`"}
    return database, {"ready": True, "version": row[0]}


def models_status() -> dict:
    status = check_models(settings.FACEAPP_MODEL_DIR)
    if not status.ready:
        return {"ready": False, "error": "; ".join(status.problems)}
    problem = embedders.configuration_problem()
    if problem:
        return {"ready": False, "error": problem}
    return {
        "ready": True,
        "models": {name: entry["sha256"][:12] for name, entry in status.manifest["models"].items()},
        "embedder": settings.FACEAPP_EMBEDDER,
        "providers": runtime.resolve_providers(),
    }


def health() -> tuple[bool, dict]:
    database, pgvector = database_status()
    parts = {"database": database, "pgvector": pgvector, "models": models_status()}
    ready = all(part["ready"] for part in parts.values())
    return ready, parts

"""Health: liveness (this process answers) and readiness (the parts a request needs: the database, pgvector, the
models, and Redis where it is configured).

A load balancer or an orchestrator restarts a process that fails liveness and sends no traffic to one that fails
readiness; /api/v1/health (kept as it was) is readiness.
"""
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


def redis_status() -> dict:
    """Redis (queues, shared cache, broadcasts), with each queue's depth and oldest task's age."""
    from faceapp import taskqueue

    try:
        queues = {
            stats.queue: {"waiting": stats.waiting, "in_progress": stats.in_progress, "oldest_age_seconds": round(stats.oldest_age_seconds, 1)}
            for stats in taskqueue.stats()
        }
    except Exception as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return {"ready": False, "error": f"redis unreachable: {reason}"}
    return {"ready": True, "queues": queues}


def health() -> tuple[bool, dict]:
    """Readiness: (ready, each part's state)."""
    database, pgvector = database_status()
    parts = {"database": database, "pgvector": pgvector, "models": models_status()}
    if settings.FACEAPP_REDIS_URL:
        parts["redis"] = redis_status()
    ready = all(part["ready"] for part in parts.values())
    return ready, parts


def liveness() -> dict:
    """This process is up and serving (no dependency checked: a database outage must not restart every node)."""
    import os
    import time

    return {"status": "ok", "pid": os.getpid(), "time": time.time()}

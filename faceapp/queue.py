"""The background queue (django-q2, ORM broker by default) as the operator pages see it."""
from __future__ import annotations

from django_q.tasks import queue_size


def queue_depth() -> int | None:
    """Tasks waiting in django-q2's queue (webhook deliveries, bulk uploads, ...); None when the broker cannot say."""
    try:
        return queue_size()
    except Exception:  # a broker that is down: the dashboard shows "unknown", it does not fail
        return None

"""The background queues: which queue a task goes to, and how full each is.

Three kinds of work, three queues when FACEAPP_QUEUES_SEPARATE is on (the default with Redis), so that a big import
never starves the cameras' work:

    housekeeping  "faceapp"           the schedules (expired pending enrolments, event retention, stale deliveries)
    video         "faceapp-video"     work from cameras: webhook deliveries and their retries
    imports       "faceapp-imports"   bulk imports run in the background (import_faces --in-background)

The housekeeping queue is django-q2's default cluster, which is the one that runs schedules installed without a
cluster. Without separate queues every kind goes to it: one worker cluster, today's single-machine behaviour.
"""
from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

KINDS = ("housekeeping", "video", "imports")


def queue_name(kind: str) -> str:
    """The django-q2 cluster (queue) name of a kind of work."""
    if kind not in KINDS:
        raise ValueError(f"unknown queue kind {kind!r} (one of {', '.join(KINDS)})")
    base = settings.Q_CLUSTER["name"]
    if kind == "housekeeping" or not settings.FACEAPP_QUEUES_SEPARATE:
        return base
    return f"{base}-{kind}"


def queue_names() -> list[str]:
    """Every queue that has its own workers (one name when the queues are not separate)."""
    return list(dict.fromkeys(queue_name(kind) for kind in KINDS))


def cluster_option(kind: str) -> str | None:
    """What to pass as `cluster=` to django-q2's async_task / schedule (None: the default cluster)."""
    name = queue_name(kind)
    return None if name == settings.Q_CLUSTER["name"] else name


def enqueue(kind: str, func: str, *args, **kwargs) -> str:
    """async_task on the queue of `kind`. Raises when the broker is unreachable: callers that must not lose the
    work keep it in the database first (a WebhookDelivery row), and the housekeeping sweep enqueues it again."""
    from django_q.tasks import async_task

    return async_task(func, *args, cluster=cluster_option(kind), **kwargs)


@dataclass(frozen=True)
class QueueStats:
    queue: str
    waiting: int
    in_progress: int
    oldest_age_seconds: float


def stats() -> list[QueueStats]:
    """Depth, tasks in progress and the oldest waiting task's age of every queue (for metrics and health)."""
    from django_q.brokers import get_broker

    result = []
    for name in queue_names():
        broker = get_broker(name)
        if hasattr(broker, "stats"):  # faceapp.redis_broker.ReliableRedis
            waiting, in_progress, oldest = broker.stats()
        else:
            waiting, in_progress, oldest = _orm_stats(name)
        result.append(QueueStats(name, waiting, in_progress, oldest))
    return result


def _orm_stats(name: str) -> tuple[int, int, float]:
    from django.db.models import Min
    from django.utils import timezone
    from django_q.models import OrmQ

    now = timezone.now()
    queued = OrmQ.objects.filter(key=name, lock__lte=now)
    oldest = queued.aggregate(oldest=Min("lock"))["oldest"]
    return queued.count(), OrmQ.objects.filter(key=name, lock__gt=now).count(), (now - oldest).total_seconds() if oldest else 0.0

"""Background tasks run by django-q2: webhook delivery with retries, and event retention."""
from __future__ import annotations

import datetime as dt
import json
import logging
import urllib.error

from django.conf import settings
from django.db.models import F
from django.db.models.functions import Coalesce
from django.utils import timezone
from django_q.models import Schedule
from django_q.tasks import schedule

from faceapp import metrics, taskqueue

from . import outbound, webhook_client
from .models import Event, WebhookDelivery
from .rules import SIGNATURE_HEADER, sign

logger = logging.getLogger(__name__)


def webhook_body(payload: dict) -> bytes:
    return json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()


def deliver_webhook(delivery_id: str) -> str:
    """POST one delivery; on failure, schedule the next attempt (back-off doubling) or give up.

    Returns the delivery's status. Never raises for a receiver's failure: the delivery log has it.
    """
    delivery = WebhookDelivery.objects.select_related("rule").filter(pk=delivery_id).first()
    if delivery is None or delivery.status != WebhookDelivery.Status.PENDING:
        return delivery.status if delivery else "missing"
    # Claim this attempt: a conditional UPDATE that changes one row only for the task that comes first, so two
    # copies of the task (the broker's redelivery after a dead worker, the housekeeping sweep) never POST at once.
    claimed = WebhookDelivery.objects.filter(
        pk=delivery.pk, status=WebhookDelivery.Status.PENDING, attempts=delivery.attempts
    ).update(attempts=F("attempts") + 1)
    if not claimed:
        return "busy"
    delivery.attempts += 1
    body = webhook_body(delivery.payload)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "faceapp-webhook/1",
        "X-Faceapp-Delivery": str(delivery.id),
        "X-Faceapp-Event": delivery.payload.get("type", ""),
    }
    secret = delivery.rule.webhook_secret if delivery.rule else ""
    if secret:
        headers[SIGNATURE_HEADER] = sign(secret, body)
    try:
        delivery.response_status = webhook_client.post(delivery.url, body, headers, settings.FACEAPP_WEBHOOK_TIMEOUT_SECONDS)
        delivery.status = WebhookDelivery.Status.DELIVERED
        delivery.delivered_at = timezone.now()
        delivery.last_error = ""
        delivery.next_attempt_at = None
        metrics.webhook_attempts.labels("delivered").inc()
    except outbound.OutboundRefused as exc:
        # Refused before any connection: retrying would not change the answer (until the operator changes the policy).
        delivery.attempts = max(delivery.attempts, settings.FACEAPP_WEBHOOK_MAX_ATTEMPTS)
        _failed(delivery, webhook_client.describe_failure(exc))
    except urllib.error.HTTPError as exc:
        delivery.response_status = exc.code
        _failed(delivery, webhook_client.describe_failure(exc))
    except Exception as exc:  # refused, timed out, DNS, TLS...
        _failed(delivery, webhook_client.describe_failure(exc))
    delivery.save()
    return delivery.status


def _failed(delivery: WebhookDelivery, error: str) -> None:
    delivery.last_error = error[:2000]
    if delivery.attempts >= settings.FACEAPP_WEBHOOK_MAX_ATTEMPTS:
        delivery.status = WebhookDelivery.Status.FAILED
        delivery.next_attempt_at = None
        metrics.webhook_attempts.labels("given_up").inc()
        logger.warning("webhook %s to %s failed %d times; giving up: %s", delivery.id, outbound.redact(delivery.url), delivery.attempts, error)
        return
    metrics.webhook_attempts.labels("failed").inc()
    delay = settings.FACEAPP_WEBHOOK_BACKOFF_SECONDS * 2 ** (delivery.attempts - 1)
    delivery.next_attempt_at = timezone.now() + dt.timedelta(seconds=delay)
    schedule(
        "videostreams.tasks.deliver_webhook",
        str(delivery.id),
        schedule_type=Schedule.ONCE,
        repeats=1,
        next_run=delivery.next_attempt_at,
        cluster=taskqueue.cluster_option("video"),
    )
    logger.info("webhook %s to %s failed (%s); retry %d in %.0f s", delivery.id, outbound.redact(delivery.url), error, delivery.attempts + 1, delay)


def delete_old_events(*, now: dt.datetime | None = None) -> int:
    """Delete events (and their crops, thumbnails and frames) and finished webhook deliveries older than
    FACEAPP_EVENT_RETENTION_DAYS."""
    cutoff = (now or timezone.now()) - dt.timedelta(days=settings.FACEAPP_EVENT_RETENTION_DAYS)
    _, by_model = Event.objects.filter(last_seen__lt=cutoff).delete()
    deleted = by_model.get(Event._meta.label, 0)
    WebhookDelivery.objects.filter(created_at__lt=cutoff).exclude(status=WebhookDelivery.Status.PENDING).delete()
    if deleted:
        logger.info("retention: deleted %d events older than %s", deleted, cutoff.isoformat())
    return deleted


def requeue_stale_deliveries(*, now: dt.datetime | None = None) -> int:
    """Queue again every pending delivery whose attempt is overdue by more than FACEAPP_QUEUE_RETRY_SECONDS: its task
    was never queued (the broker was down when the event was written) or was lost with the broker's data. Run every
    minute by the housekeeping queue. A delivery queued twice is still POSTed once per attempt (deliver_webhook
    claims each attempt)."""
    now = now or timezone.now()
    overdue = now - dt.timedelta(seconds=settings.FACEAPP_QUEUE_RETRY_SECONDS)
    stale = (
        WebhookDelivery.objects.filter(status=WebhookDelivery.Status.PENDING)
        .annotate(due=Coalesce("next_attempt_at", "created_at"))
        .filter(due__lt=overdue)
        .values_list("id", flat=True)[:1000]
    )
    queued = 0
    for delivery_id in stale:
        taskqueue.enqueue("video", "videostreams.tasks.deliver_webhook", str(delivery_id), task_name=f"webhook {delivery_id} (requeued)")
        queued += 1
    if queued:
        metrics.tasks_requeued.labels(taskqueue.queue_name("video")).inc(queued)
        logger.warning("requeued %d overdue webhook deliveries", queued)
    return queued

"""Rules (facerouter's directives): when a face of some kind is seen on some cameras, act.

Each action is one small class with one `notify(rule, event, face)` (the shape of healthchecks'
transports). `dispatch` runs every enabled rule that applies to a new event; an action's failure
is logged and never reaches the processing thread. Webhooks are not POSTed here: a
`WebhookDelivery` row is written and the POST goes through django-q2 (`tasks.deliver_webhook`),
with retries and back-off, so a slow or dead receiver never blocks video processing.
"""
from __future__ import annotations

import hashlib
import hmac
import logging

from django.db.models import Q
from django.urls import reverse

from enrollment.pending import create_pending
from faceapp import taskqueue
from recognition.types import Face

from . import unknown_rules
from .models import Event, Rule, WebhookDelivery

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Faceapp-Signature"


def sign(secret: str, body: bytes) -> str:
    """The signature header's value: "sha256=" + hex HMAC-SHA256 of the exact body bytes."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def applies(rule: Rule, event: Event) -> bool:
    if not rule.attributes_match(event) or not rule.outside_hours(event.first_seen):
        return False
    if rule.trigger == Rule.Trigger.UNKNOWN:
        if event.matched:
            return False
        return unknown_rules.condition_met(rule, event) if rule.has_group_conditions else True
    if rule.trigger == Rule.Trigger.MATCH:
        if not event.matched:
            return False
        watchlists = {w.id for w in rule.watchlists.all()}
        return not watchlists or event.person.watchlists.filter(id__in=watchlists).exists()
    return True


def rules_for(event: Event):
    return (
        Rule.objects.filter(enabled=True)
        .filter(Q(cameras__isnull=True) | Q(cameras=event.camera_id))
        .distinct()
        .prefetch_related("watchlists")
    )


def event_payload(event: Event, rule: Rule | None = None) -> dict:
    """The JSON a webhook receives (and the API's event fields that matter to a receiver)."""
    person = None
    if event.person_id:
        person = {"id": str(event.person_id), "name": event.person.name, "external_id": event.person.external_id}
    return {
        "type": "face.matched" if event.matched else "face.unknown",
        "rule": {"id": str(rule.id), "name": rule.name} if rule else None,
        "event": {
            "id": str(event.id),
            "camera": {"id": str(event.camera_id), "name": event.camera.name},
            "first_seen": event.first_seen.isoformat(),
            "last_seen": event.last_seen.isoformat(),
            "matched": event.matched,
            "person": person,
            "similarity": event.similarity,
            "quality": event.quality,
            "box": event.box,
            "attributes": event.attributes or None,
            # Paths of the API's image endpoints (prefix them with the server's address).
            "crop_url": reverse("event-image", kwargs={"pk": event.pk, "kind": "crop"}) if event.crop else None,
            "frame_url": reverse("event-image", kwargs={"pk": event.pk, "kind": "frame"}) if event.frame else None,
            # The unknown group of an unknown face: U-000123, how often and on how many days seen, its best shot.
            "unknown_group": unknown_rules.group_payload(event),
        },
    }


class WebhookAction:
    def wanted(self, rule: Rule) -> bool:
        return bool(rule.webhook_url)

    def notify(self, rule: Rule, event: Event, face: Face | None) -> WebhookDelivery:
        delivery = WebhookDelivery.objects.create(rule=rule, event=event, url=rule.webhook_url, payload=event_payload(event, rule))
        # The row is the work; the queued task only wakes a worker for it. Should the broker be unreachable, the
        # housekeeping sweep (tasks.requeue_stale_deliveries) queues the delivery again: it is never lost.
        try:
            taskqueue.enqueue("video", "videostreams.tasks.deliver_webhook", str(delivery.id), task_name=f"webhook {delivery.id}")
        except Exception as exc:
            logger.warning("webhook %s not queued now (%s); the housekeeping sweep will queue it", delivery.id, exc)
        return delivery


class PendingEnrollmentAction:
    """Hold an unknown face as a pending enrolment: an operator enrols it with add_user and its req_id."""

    def wanted(self, rule: Rule) -> bool:
        return rule.create_pending_enrollment

    def notify(self, rule: Rule, event: Event, face: Face | None):
        if event.matched or face is None:
            return None
        pending = create_pending(face, event.embedding_model)
        logger.info("unknown face of event %s held as pending enrolment %s", event.id, pending.req_id)
        return pending


ACTIONS = [WebhookAction(), PendingEnrollmentAction()]


def dispatch(event: Event, face: Face | None = None) -> int:
    """Run the actions of every rule that applies to `event`; returns how many actions ran."""
    ran = 0
    try:
        rules = [rule for rule in rules_for(event) if applies(rule, event)]
    except Exception:
        logger.exception("could not read the rules for event %s", event.id)
        return 0
    for rule in rules:
        for action in ACTIONS:
            if not action.wanted(rule):
                continue
            try:
                action.notify(rule, event, face)
                ran += 1
            except Exception:
                logger.exception("rule %r: %s failed for event %s", rule.name, type(action).__name__, event.id)
    return ran

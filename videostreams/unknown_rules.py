"""Rules on unknown groups: fire when the unknown face's group has been seen N times, or on N distinct days, once
per group and rule; and what a webhook says about the group (its id, count and best shot).

The camera's sighting of a track is kept before the track's rules run (videostreams.processing), so the group of an
ended unknown track is known here. Days are counted in UTC.
"""
from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models.functions import TruncDate
from django.urls import reverse

from enrollment import unknowns
from enrollment.models import Sighting, label_of

from .models import Event, Rule, RuleGroupFiring


def sighting_of(event: Event) -> Sighting | None:
    return Sighting.objects.filter(event_id=event.id).order_by("-created_at").first()


def seen(group_id) -> tuple[int, int]:
    """(sightings, distinct UTC days) of an unknown group."""
    group = Sighting.objects.filter(unknown_group_id=group_id)
    return group.count(), group.annotate(day=TruncDate("seen_at")).values("day").distinct().count()


def condition_met(rule: Rule, event: Event) -> bool:
    """For a rule with unknown-group conditions: the event's group has now reached them, and the rule has not yet
    fired for this group (the firing is recorded, so each rule fires once per group)."""
    sighting = sighting_of(event)
    if sighting is None or sighting.unknown_group_id is None:
        return False
    count, days = seen(sighting.unknown_group_id)
    if rule.unknown_min_sightings and count < rule.unknown_min_sightings:
        return False
    if rule.unknown_min_days and days < rule.unknown_min_days:
        return False
    try:
        with transaction.atomic():
            RuleGroupFiring.objects.create(rule=rule, group_id=sighting.unknown_group_id)
    except IntegrityError:
        return False  # fired for this group already
    return True


def group_payload(event: Event) -> dict | None:
    """The unknown group of an unknown event, for webhooks: id, sightings, days, best shot's crop path."""
    if event.matched:
        return None
    sighting = sighting_of(event)
    if sighting is None or sighting.unknown_group_id is None:
        return None
    count, days = seen(sighting.unknown_group_id)
    best = unknowns.best_shots(sighting.unknown_group_id, limit=1)
    return {
        "id": label_of(sighting.unknown_group_id), "sightings": count, "days": days, "sighting_id": str(sighting.id),
        "best_shot_url": reverse("sighting-crop", kwargs={"sighting_id": best[0].id}) if best else None,
    }

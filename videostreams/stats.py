"""The numbers of the operator dashboard: faces seen today, the share recognised, each camera's health."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Q
from django.utils import timezone

from .models import Camera, Event

# A running camera whose runner has written no status for this long is shown as stale (its runner may be gone).
STALE_AFTER_SECONDS = 60


@dataclass(frozen=True)
class Today:
    since: dt.datetime  # local midnight
    faces: int  # events (a face followed across frames) that started since then
    recognised: int

    @property
    def recognised_share(self) -> float | None:
        return self.recognised / self.faces if self.faces else None


def today(*, zone: dt.tzinfo | None = None, now: dt.datetime | None = None) -> Today:
    """Faces seen since midnight in `zone` (default: the server's TIME_ZONE), and how many were recognised."""
    zone = zone or timezone.get_default_timezone()
    now = (now or timezone.now()).astimezone(zone)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    counts = Event.objects.filter(first_seen__gte=midnight).aggregate(faces=Count("id"), recognised=Count("id", filter=Q(matched=True)))
    return Today(since=midnight, faces=counts["faces"], recognised=counts["recognised"])


@dataclass(frozen=True)
class Health:
    camera: Camera
    state: str  # the camera's status, or "stale" when its runner stopped reporting, or "disabled"
    words: str  # what an operator reads

    @property
    def ok(self) -> bool:
        return self.state == Camera.Status.RUNNING


def camera_health(*, now: dt.datetime | None = None) -> list[Health]:
    """Every camera with a one-word state and a sentence about it."""
    now = now or timezone.now()
    found = []
    for camera in Camera.objects.order_by("name"):
        if not camera.enabled:
            found.append(Health(camera, "disabled", "Disabled."))
            continue
        updated = camera.status_updated_at
        if camera.status != Camera.Status.STOPPED and (updated is None or (now - updated).total_seconds() > STALE_AFTER_SECONDS):
            found.append(Health(camera, "stale", "No status from a runner for over a minute: is run_cameras (or serve) running?"))
            continue
        words = {
            Camera.Status.RUNNING: f"{camera.frames_per_second:.1f} frames/s analysed, {camera.faces_per_second:.1f} faces/s.",
            Camera.Status.STARTING: "Starting.",
            Camera.Status.RECONNECTING: f"Reconnecting: {camera.last_error or 'the source failed'}.",
            Camera.Status.ERROR: f"Error: {camera.last_error or 'the source failed repeatedly'}.",
            Camera.Status.STOPPED: "Waiting for a runner (run_cameras or serve)." if camera.enabled else "Stopped.",
        }.get(camera.status, camera.status)
        found.append(Health(camera, camera.status, words))
    return found

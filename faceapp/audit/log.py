"""Writing audit entries. A view turns its request into an `Actor`; the services record what they did for it."""
from __future__ import annotations

from dataclasses import dataclass

from faceapp.requestid import current_request_id

from .models import AuditEntry


@dataclass(frozen=True)
class Actor:
    api_key: object = None  # faceapp.apikeys.models.ApiKey
    user: object = None  # an auth user (admin session, admin site, management command)
    remote_addr: str | None = None

    @classmethod
    def from_request(cls, request) -> "Actor":
        from faceapp.apikeys.models import ApiKey

        key = request.auth if isinstance(getattr(request, "auth", None), ApiKey) else None
        user = getattr(request, "user", None)
        user = user if getattr(user, "is_authenticated", False) and not isinstance(user, ApiKey) else None
        return cls(api_key=key, user=user, remote_addr=request.META.get("REMOTE_ADDR") or None)


SYSTEM = Actor()


def record(actor: Actor | None, action: str, *, target_type: str = "", target_id="", **details) -> AuditEntry:
    actor = actor or SYSTEM
    return AuditEntry.objects.create(
        action=action,
        api_key=actor.api_key,
        api_key_name=str(actor.api_key) if actor.api_key is not None else "",
        user=actor.user,
        username=actor.user.get_username() if actor.user is not None else "",
        target_type=target_type,
        target_id=str(target_id or ""),
        details=details,
        request_id=current_request_id() if current_request_id() != "-" else "",
        remote_addr=actor.remote_addr,
    )

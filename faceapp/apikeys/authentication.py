"""DRF authentication by API key (`X-API-Key: <key>` or `Authorization: Token <key>`), and admin sessions.

A request without a key is anonymous (the permissions then answer 401); a key that is unknown or
revoked is a 401 at once, even on an endpoint that would have let an anonymous request in.
"""
from __future__ import annotations

from django.utils import timezone
from rest_framework import authentication, exceptions

from .models import ApiKey

# last_used_at is written at most this often per key, so that reads stay reads.
LAST_USED_RESOLUTION_SECONDS = 60


def raw_key_from(request) -> str | None:
    header = request.META.get("HTTP_X_API_KEY")
    if header is not None:
        return header.strip()
    parts = authentication.get_authorization_header(request).split()
    if parts and parts[0].lower() in (b"token", b"bearer"):
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed("Malformed Authorization header; send 'Authorization: Token <key>'.")
        try:
            return parts[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("Invalid API key.") from None
    return None


class ApiKeyAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request):
        raw = raw_key_from(request)
        if raw is None:
            return None
        key = ApiKey.find(raw) if raw else None
        if key is None or key.revoked_at is not None:
            raise exceptions.AuthenticationFailed("Invalid or revoked API key.")
        if key.is_expired:
            # Saying so is safe (the caller holds the secret) and tells an integrator what to do.
            raise exceptions.AuthenticationFailed(f"This API key expired at {key.expires_at.isoformat()}; ask for a new one.")
        now = timezone.now()
        if key.last_used_at is None or (now - key.last_used_at).total_seconds() > LAST_USED_RESOLUTION_SECONDS:
            ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        # The key is the principal: request.user and request.auth are both the key.
        return key, key

    def authenticate_header(self, request):
        # Makes DRF answer 401 (not 403) when no key was sent.
        return 'Token realm="api"'


class StaffSessionAuthentication(authentication.SessionAuthentication):
    """A staff user logged in to the admin may use the API from the browser (the docs' 'Try it out') with admin scope."""

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is None or not result[0].is_staff:
            return None
        return result

"""API keys: stored only as a SHA-256 hash, shown once when made; each has one scope.

A key reads `fa_<prefix>_<secret>`: the prefix (8 hex digits) names the key in lists and logs, the
secret (32 bytes, URL-safe) makes it unguessable, so a fast hash is as safe as a slow one here.
"""
from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone

READ, ENROLL, ADMIN = "read", "enroll", "admin"
# Each scope includes the ones before it.
SCOPES = (READ, ENROLL, ADMIN)
SCOPE_CHOICES = [
    (READ, "read: list and look up; detect, verify, identify, recognise"),
    (ENROLL, "enroll: read, and create, change and delete people and faces"),
    (ADMIN, "admin: enroll, and manage watchlists"),
]


def hash_key(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()


def scope_allows(held: str | None, needed: str) -> bool:
    return held in SCOPES and SCOPES.index(held) >= SCOPES.index(needed)


class ApiKeyQuerySet(models.QuerySet):
    def active(self):
        """Keys that work now: not revoked, and not past their expiry."""
        return self.filter(revoked_at__isnull=True).filter(
            models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=timezone.now()))


class ApiKey(models.Model):
    name = models.CharField(max_length=100, help_text="Who or what uses this key, e.g. 'door-controller'.")
    scope = models.CharField(max_length=10, choices=SCOPE_CHOICES, default=READ)
    prefix = models.CharField(max_length=8, unique=True, editable=False)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    rate_limit = models.CharField(
        max_length=20, blank=True,
        help_text="Requests allowed for this key, e.g. '100/min' or '5000/hour'; blank: FACEAPP_THROTTLE_RATE.",
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, help_text="Set to revoke the key; it then stops working.")
    expires_at = models.DateTimeField(
        null=True, blank=True,
        help_text="The key stops working at this time (blank: never). Give integrators' keys an expiry and rotate them.",
    )

    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        ordering = ["name", "created_at"]
        verbose_name = "API key"

    def __str__(self):
        return f"{self.name} ({self.prefix}, {self.scope})"

    # A key stands in for a user in DRF's request.user checks and throttles.
    is_authenticated = True

    @property
    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and not self.is_expired

    def allows(self, scope: str) -> bool:
        return self.is_active and scope_allows(self.scope, scope)

    def revoke(self) -> None:
        self.revoked_at = timezone.now()
        self.save(update_fields=["revoked_at"])

    @classmethod
    def issue(cls, *, name: str, scope: str = READ, rate_limit: str = "", created_by=None,
              expires_at=None) -> tuple["ApiKey", str]:
        """A new key and its raw value; the raw value is not stored and cannot be shown again."""
        if scope not in SCOPES:
            raise ValueError(f"scope must be one of {', '.join(SCOPES)}")
        key = cls(name=name, scope=scope, rate_limit=rate_limit, created_by=created_by, expires_at=expires_at)
        raw = key.set_new_secret()
        key.save()
        return key, raw

    def set_new_secret(self) -> str:
        while True:
            prefix = secrets.token_hex(4)
            if not ApiKey.objects.filter(prefix=prefix).exists():
                break
        raw = f"fa_{prefix}_{secrets.token_urlsafe(32)}"
        self.prefix = prefix
        self.key_hash = hash_key(raw)
        return raw

    @classmethod
    def find(cls, raw: str) -> "ApiKey | None":
        """The key with this raw value, active or not (the caller says why an inactive one is refused)."""
        return cls.objects.filter(key_hash=hash_key(raw)).first()

"""Scope permissions: `read` < `enroll` < `admin`; each scope includes the ones before it.

No key → 401 `unauthenticated`; a key whose scope is too small → 403 `forbidden`.
"""
from __future__ import annotations

from django.conf import settings
from rest_framework import permissions

from .models import ADMIN, ENROLL, READ, ApiKey, scope_allows


def scope_of(request) -> str | None:
    """The scope a request holds: its key's, or `admin` for a staff session; None when anonymous."""
    if isinstance(request.auth, ApiKey):
        return request.auth.scope if request.auth.is_active else None
    user = getattr(request, "user", None)
    if user is not None and getattr(user, "is_staff", False) and getattr(user, "is_active", False):
        return ADMIN
    return None


class _ScopeRequired(permissions.BasePermission):
    scope = READ

    def required_scope(self, request, view) -> str:
        return self.scope

    def has_permission(self, request, view):
        needed = self.required_scope(request, view)
        held = scope_of(request)
        if held is None:
            return False  # DRF turns this into 401 when no credentials were given
        if not scope_allows(held, needed):
            self.message = f"This API key's scope is '{held}'; this request needs '{needed}'."
            return False
        return True


class ReadScope(_ScopeRequired):
    scope = READ


class EnrollScope(_ScopeRequired):
    scope = ENROLL


class AdminScope(_ScopeRequired):
    scope = ADMIN


class ReadOrEnrollScope(_ScopeRequired):
    """The default: reading needs `read`, writing needs `enroll`."""

    def required_scope(self, request, view):
        return READ if request.method in permissions.SAFE_METHODS else ENROLL


class ReadOrAdminScope(_ScopeRequired):
    def required_scope(self, request, view):
        return READ if request.method in permissions.SAFE_METHODS else ADMIN


def seed_permission(scope: str):
    """For the seed endpoints: open while FACEAPP_SEED_API_OPEN is on, otherwise `scope` is needed."""

    class SeedApi(_ScopeRequired):
        def required_scope(self, request, view):
            return scope

        def has_permission(self, request, view):
            if settings.FACEAPP_SEED_API_OPEN:
                return True
            return super().has_permission(request, view)

    SeedApi.__name__ = f"SeedApi_{scope}"
    return SeedApi

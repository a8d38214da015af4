"""Throttling per API key (DRF throttles, in Django's cache): 429 `throttled` with Retry-After.

The rate is the key's own `rate_limit`, else FACEAPP_THROTTLE_RATE; anonymous requests (the seed
endpoints while they are open) are counted per client address at FACEAPP_THROTTLE_ANON_RATE, if set.
Rates read like DRF's: '600/min', '20/second', '10000/day'.
"""
from __future__ import annotations

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle

from .models import ApiKey


class ApiKeyRateThrottle(SimpleRateThrottle):
    scope = "api_key"

    def __init__(self):  # the rate is chosen per request, in allow_request
        pass

    def allow_request(self, request, view):
        principal = request.auth if isinstance(request.auth, ApiKey) else None
        if principal is not None:
            self.rate = principal.rate_limit or settings.FACEAPP_THROTTLE_RATE
        elif request.user is not None and getattr(request.user, "is_authenticated", False):
            self.rate = settings.FACEAPP_THROTTLE_RATE
        else:
            self.rate = settings.FACEAPP_THROTTLE_ANON_RATE
        if not self.rate:
            return True
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_cache_key(self, request, view):
        if isinstance(request.auth, ApiKey):
            ident = f"key:{request.auth.pk}"
        elif request.user is not None and getattr(request.user, "is_authenticated", False):
            ident = f"user:{request.user.pk}"
        else:
            ident = f"addr:{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}

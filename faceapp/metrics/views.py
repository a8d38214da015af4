"""GET /metrics on the web port: only with `Authorization: Bearer <FACEAPP_METRICS_TOKEN>`; without a token
configured it does not exist here (404), and the metrics are served by `manage.py metrics_exporter` on their own
port instead (FACEAPP_METRICS_PORT, loopback by default), which `manage.py serve` starts."""
from __future__ import annotations

import hmac

from django.conf import settings
from django.http import HttpResponse
from prometheus_client import CONTENT_TYPE_LATEST

from faceapp.api import json_error
from faceapp.metrics import exposition


def metrics_view(request):
    token = settings.FACEAPP_METRICS_TOKEN
    if not token:
        return json_error(404, "not_found", "Not found.")
    given = request.headers.get("Authorization", "")
    if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        response = json_error(401, "unauthenticated", "Send the metrics token as 'Authorization: Bearer <token>'.")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(exposition.render(), content_type=CONTENT_TYPE_LATEST)

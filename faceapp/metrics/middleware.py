"""Count and time every request by endpoint (the URL's name, so labels stay few) and method."""
from __future__ import annotations

import time

from faceapp import metrics

METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}


def endpoint_of(request) -> str:
    match = getattr(request, "resolver_match", None)
    if match is None:
        return "unmatched"
    name = match.url_name or match.route or "unnamed"
    return f"{match.namespace}:{name}" if match.namespace else name


class MetricsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        endpoint = endpoint_of(request)
        method = request.method if request.method in METHODS else "other"
        metrics.http_requests.labels(endpoint, method, str(response.status_code)).inc()
        metrics.http_request_seconds.labels(endpoint, method).observe(time.perf_counter() - started)
        return response

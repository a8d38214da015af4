"""Request ids: one per request, in the X-Request-ID response header, every log line and every error.

A client may send its own X-Request-ID (letters, digits, '-', '_', at most 64); otherwise one is made.
"""
from __future__ import annotations

import contextvars
import logging
import re
import time
import uuid

logger = logging.getLogger("faceapp.request")

_current = contextvars.ContextVar("request_id", default="-")
_VALID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def current_request_id() -> str:
    return _current.get()


class RequestIdLogFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = _current.get()
        return True


class RequestIdMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _VALID.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id
        token = _current.set(request_id)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            elapsed_ms = (time.perf_counter() - started) * 1000
            response["X-Request-ID"] = request_id
            # The whole time in Django (parsing, the view, rendering), beside any stage timings of the view.
            stages = response.get("Server-Timing")
            response["Server-Timing"] = f"{stages}, app;dur={elapsed_ms:.1f}" if stages else f"app;dur={elapsed_ms:.1f}"
            logger.info("%s %s %s %.1fms", request.method, request.path, response.status_code, elapsed_ms)
            return response
        finally:
            _current.reset(token)

"""The HTTP client of webhook deliveries: POST once, to a checked address, with no redirects and no proxies.

urllib's default opener would follow a 30x to wherever the receiver points (127.0.0.1, the metadata service) and
go through any proxy in the environment. This opener connects only through `outbound.create_checked_connection`
(the host is resolved and checked for each connection, so DNS rebinding is refused), treats every redirect as a
failure, and ignores proxy variables. `describe_failure` turns an exception into the delivery log's short text,
which never quotes what the receiver sent.
"""
from __future__ import annotations

import http.client
import socket
import ssl
import urllib.error
import urllib.request

from . import outbound


class _CheckedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._create_connection = outbound.create_checked_connection


class _CheckedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._create_connection = outbound.create_checked_connection


class _CheckedHTTPHandler(urllib.request.HTTPHandler):
    def http_open(self, req):
        return self.do_open(_CheckedHTTPConnection, req)


class _CheckedHTTPSHandler(urllib.request.HTTPSHandler):
    def https_open(self, req):
        return self.do_open(_CheckedHTTPSConnection, req, context=self._context)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None  # urllib then raises HTTPError(30x): a receiver that redirects has not received


def _opener() -> urllib.request.OpenerDirector:
    return urllib.request.build_opener(
        urllib.request.ProxyHandler({}), _CheckedHTTPHandler(), _CheckedHTTPSHandler(), _NoRedirect()
    )


def post(url: str, body: bytes, headers: dict, timeout: float) -> int:
    """POST `body` to `url`; → the response status (2xx). Raises OutboundRefused, HTTPError or another error."""
    outbound.check_webhook_url(url)  # scheme and host, before any connection (the address is checked again at connect)
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    with _opener().open(request, timeout=timeout) as response:
        return response.status


def describe_failure(exc: BaseException) -> str:
    """A short, fixed description of why a delivery failed; nothing the receiver sent is quoted."""
    if isinstance(exc, outbound.OutboundRefused):
        return f"refused: {exc}"
    if isinstance(exc, urllib.error.HTTPError):
        if 300 <= exc.code < 400:
            return f"HTTP {exc.code}: redirects are not followed"
        return f"HTTP {exc.code}"
    reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
    if isinstance(reason, outbound.OutboundRefused):
        return f"refused: {reason}"
    if isinstance(reason, (socket.timeout, TimeoutError)):
        return "timed out"
    if isinstance(reason, ssl.SSLError):
        return "TLS handshake failed"
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused"
    if isinstance(reason, socket.gaierror):
        return "cannot resolve the host name"
    if isinstance(reason, (http.client.HTTPException, ConnectionError)):
        return "the connection failed or the response was malformed"
    return f"delivery failed ({type(reason).__name__})"

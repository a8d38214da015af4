"""The Content-Security-Policy header of the operator pages (FACEAPP_CSP; on in production).

The pages under /ui/, the sign-in pages and the home page load scripts and styles only from the server's static
files and have no inline script, style attribute or event handler, so the policy needs no 'unsafe-inline':
injected markup cannot run script. Images are also `data:` (the upload previews, the tested camera frame) and
`blob:` (the live camera snapshots); the enrol page's camera stream is a MediaStream (`blob:` media). The admin and
the API docs (Django's and Swagger UI's own pages) are left out.
"""
from __future__ import annotations

from django.conf import settings

POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data: blob:",
    "media-src 'self' blob:",
    "connect-src 'self'",
    "font-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])
PAGE_PREFIXES = ("/ui/", "/accounts/")


def applies(path: str) -> bool:
    return path == "/" or path.startswith(PAGE_PREFIXES)


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if settings.FACEAPP_CSP and applies(request.path) and "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = POLICY
        return response

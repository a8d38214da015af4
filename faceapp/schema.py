"""OpenAPI pieces shared by every endpoint: the error envelope and the API-key security scheme."""
from __future__ import annotations

import drf_spectacular.openapi
from drf_spectacular.authentication import SessionScheme
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiResponse, extend_schema_field
from rest_framework import serializers


@extend_schema_field({"oneOf": [{"type": "string"}, {"type": "integer"}], "example": "invalid_request"})
class ErrorCodeField(serializers.Field):
    def to_representation(self, value):
        return value


class ErrorEnvelope(serializers.Serializer):
    status = serializers.ChoiceField(choices=["error"])
    error_code = ErrorCodeField(help_text="A short machine code (`invalid_request`, `unauthenticated`, `not_found`, ...) or 601: no face.")
    message = serializers.CharField(help_text="What went wrong, safe to show; a bad field is named first.")
    requestId = serializers.CharField(help_text="Also in the X-Request-ID header and the server's log line.")
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()), required=False,
        help_text="With invalid_request: every bad field and its errors.",
    )


_MEANING = {
    400: "Bad input: a missing or bad field (`invalid_request`), unparsable body (`malformed_request`), an empty image, no face (601).",
    401: "No API key, or an unknown or revoked one (`unauthenticated`).",
    403: "The key's scope is too small for this request (`forbidden`).",
    404: "No such object (`not_found`).",
    409: "Conflicts with what is stored (`email_exists`, `external_id_exists`, `duplicate_face`, `watchlist_exists`).",
    413: "The image or the request is too large.",
    415: "Not an image in a supported format (`invalid_image`), or a body type the endpoint does not take.",
    429: "Too many requests for this key (`throttled`); see Retry-After.",
    503: "The database or the models are unavailable.",
}


def errors(*statuses: int) -> dict:
    """Response entries for these error statuses, plus those every authenticated endpoint can give."""
    wanted = sorted(set(statuses) | {401, 403, 429})
    return {status: OpenApiResponse(ErrorEnvelope, description=_MEANING[status]) for status in wanted}


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "faceapp.apikeys.authentication.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "X-API-Key",
            "description": "An API key (manage.py create_api_key or the admin). `Authorization: Token <key>` works too.",
        }


class StaffSessionScheme(SessionScheme):
    target_class = "faceapp.apikeys.authentication.StaffSessionAuthentication"


class AutoSchema(drf_spectacular.openapi.AutoSchema):
    """Documents the error envelope on every operation that needs a key, also where a view does not list its errors.

    Views that describe their responses with `errors(...)` keep their own entries; this only fills the
    statuses any authenticated endpoint can give (401, 403, 429), 404 on a path with an id or a paginated
    list, and 400 on writes and list filters.
    """

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response" or not self.get_auth():
            return responses
        wanted = {401, 403, 429}
        if "{" in self.path:
            wanted.add(404)
        if self.method == "GET" and self._is_list_view():
            wanted |= {400, 404}  # a bad filter; a page past the end
        if self.method in ("POST", "PUT", "PATCH"):
            wanted.add(400)
        for status in sorted(wanted):
            if str(status) not in responses:
                entry = OpenApiResponse(ErrorEnvelope, description=_MEANING[status])
                responses[str(status)] = self._get_response_for_code(entry, str(status), direction=direction)
        return responses

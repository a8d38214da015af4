"""Property-based fuzzing of the whole API from its live OpenAPI schema (schemathesis), in-process through WSGI.

Every operation of /api/schema/ gets generated requests, valid and invalid, with an admin key; none may
answer 5xx, and every answer must be one the schema documents. Image endpoints run the models, so they get fewer examples.
"""
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance, status_code_conformance

pytestmark = pytest.mark.django_db

IMAGE_PATHS = r"^/api/v1/(detect|verify|identify|recognise_user|add_user|people|people/\{person_id\}/faces)$"


def _load_schema():
    """The schema as served by the WSGI app in this process (loaded at collection: it needs no database)."""
    from faceapp.wsgi import application

    return schemathesis.openapi.from_wsgi("/api/schema/", application)


@pytest.fixture(autouse=True)
def connection_kept_between_requests(db):
    """As Django's test client does, keep the connection open between requests: closing it at the end of a
    request would end this test's transaction (and its rollback)."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def fuzz_headers(api_key):
    return {"X-API-Key": api_key("admin")}


schema = _load_schema()
FUZZ_SETTINGS = dict(deadline=None, suppress_health_check=list(HealthCheck), derandomize=True, database=None)


def no_server_error(case, headers):
    """No 5xx; every status and body as the schema documents it; every error in the one envelope."""
    response = case.call(headers=headers)
    case.validate_response(response, checks=[not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance])
    assert response.status_code < 500, f"{case.method} {case.formatted_path} → {response.status_code}: {response.text[:500]}"
    if response.status_code >= 400 and response.headers.get("Content-Type", [""])[0].startswith("application/json"):
        body = response.json()
        assert body.get("status") == "error" and "error_code" in body and "requestId" in body, body


@schema.exclude(path_regex=IMAGE_PATHS, method="POST").parametrize()
@settings(max_examples=50, **FUZZ_SETTINGS)
def test_no_server_errors_on_the_json_endpoints(case, fuzz_headers):
    no_server_error(case, fuzz_headers)


@schema.include(path_regex=IMAGE_PATHS, method="POST").parametrize()
@settings(max_examples=10, **FUZZ_SETTINGS)
def test_no_server_errors_on_the_image_endpoints(case, fuzz_headers):
    no_server_error(case, fuzz_headers)

"""The OpenAPI 3 schema at /api/schema/ (and its old address), the docs, and what every operation documents."""
import pytest
import yaml
from drf_spectacular.validation import validate_schema

pytestmark = pytest.mark.django_db

METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture(scope="module")
def schema(django_db_blocker):
    from drf_spectacular.generators import SchemaGenerator

    with django_db_blocker.unblock():
        return SchemaGenerator().get_schema(request=None, public=True)


def test_the_schema_is_served_and_valid_openapi_3(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.")
    validate_schema(document)  # raises on an invalid document


def test_the_old_addresses_and_the_docs_still_work(client):
    assert yaml.safe_load(client.get("/api/v1/schema").content)["openapi"].startswith("3.")
    docs = client.get("/api/docs/")
    assert docs.status_code == 200 and b"swagger" in docs.content.lower()
    assert b"cdn." not in docs.content and b"/static/drf_spectacular_sidecar/swagger-ui-dist/" in docs.content  # works offline
    assert client.get("/api/v1/docs").status_code == 200


def test_every_endpoint_of_the_integrator_api_is_documented(schema):
    paths = set(schema["paths"])
    assert {
        "/api/v1/people", "/api/v1/people/{person_id}", "/api/v1/people/{person_id}/faces",
        "/api/v1/people/{person_id}/faces/{face_id}", "/api/v1/watchlists", "/api/v1/watchlists/{watchlist_id}",
        "/api/v1/detect", "/api/v1/verify", "/api/v1/identify", "/api/v1/recognise_user", "/api/v1/add_user", "/api/v1/health",
    } <= paths


def test_every_operation_but_health_needs_the_api_key_and_documents_the_error_envelope(schema):
    scheme = schema["components"]["securitySchemes"]["ApiKey"]
    assert (scheme["type"], scheme["in"], scheme["name"]) == ("apiKey", "header", "X-API-Key")
    assert "ErrorEnvelope" in schema["components"]["schemas"]
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            if method not in METHODS or path in ("/api/v1/health", "/api/v1/health/live", "/api/v1/health/ready"):
                continue
            assert {"ApiKey": []} in operation["security"], (method, path)
            for status in ("401", "403", "429"):
                content = operation["responses"][status]["content"]["application/json"]["schema"]
                assert content == {"$ref": "#/components/schemas/ErrorEnvelope"}, (method, path, status)
            successes = [s for s in operation["responses"] if s.startswith("2")]
            assert successes, (method, path)


def test_the_schema_generates_without_a_warning():
    """A warning is a name collision (two components called "Liveness" once made the health probe's answer fail its
    own schema) or an undocumented field: --fail-on-warn turns each into a failure."""
    from django.core.management import call_command

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", "/dev/null")

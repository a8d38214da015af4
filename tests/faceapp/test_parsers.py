import pytest

from tests.conftest import assert_error

pytestmark = pytest.mark.django_db


def test_json_nested_too_deeply_to_parse_is_a_400(api_client, client):
    deep = "[" * 100_000 + "]" * 100_000
    assert_error(api_client.post("/api/v1/people", '{"name": "x", "metadata": ' + deep + "}", content_type="application/json"),
                 400, "malformed_request")
    assert_error(client.post("/api/v1/add_user", deep, content_type="application/json"), 400, "malformed_request")


@pytest.mark.parametrize("depth", [33, 900, 985, 995, 1200])
def test_metadata_nested_deeper_than_32_levels_is_a_400(api_client, depth):
    deep = '{"a":' * depth + "1" + "}" * depth
    body = assert_error(api_client.post("/api/v1/people", '{"name": "x", "metadata": ' + deep + "}", content_type="application/json"), 400)
    assert "metadata" in body.get("fields", {}) or body["error_code"] == "malformed_request"
    shallow = {"a": {"b": [1, {"c": "d"}]}}
    assert api_client.post("/api/v1/people", {"name": "x", "metadata": shallow}, format="json").json()["metadata"] == shallow


def test_metadata_nested_too_deeply_in_a_form_field_is_a_400(api_client):
    deep = "[" * 100_000 + "]" * 100_000
    assert_error(api_client.post("/api/v1/people", {"name": "x", "metadata": deep}, format="multipart"), 400, "invalid_request")

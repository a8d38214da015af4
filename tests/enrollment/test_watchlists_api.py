import uuid

import pytest

from enrollment.models import Person, Watchlist
from faceapp.audit.models import AuditEntry
from tests.conftest import assert_error, client_with_key

pytestmark = pytest.mark.django_db

URL = "/api/v1/watchlists"


def test_watchlist_crud(api_client):
    ada = Person.objects.create(name="Ada")
    created = api_client.post(URL, {"name": "vip", "description": "Very important", "people": [str(ada.id)]}, format="json")
    body = created.json()
    assert created.status_code == 201, body
    assert body["name"] == "vip" and body["people_count"] == 1
    url = f"{URL}/{body['id']}"
    assert api_client.get(url).json()["description"] == "Very important"
    assert api_client.patch(url, {"name": "VIPs"}, format="json").json()["name"] == "VIPs"
    assert api_client.patch(url, {"people": []}, format="json").json()["people_count"] == 0
    api_client.patch(url, {"people": [str(ada.id)]}, format="json")
    replaced = api_client.put(url, {"name": "guests"}, format="json").json()
    assert (replaced["name"], replaced["description"], replaced["people_count"]) == ("guests", "", 0)
    listed = api_client.get(URL).json()
    assert listed["count"] == 1 and listed["results"][0]["id"] == body["id"]
    assert api_client.delete(url).json() == {"status": "deleted", "id": body["id"]}
    assert not Watchlist.objects.exists() and Person.objects.filter(id=ada.id).exists()
    assert list(AuditEntry.objects.filter(target_type="watchlist").order_by("id").values_list("action", flat=True)) == [
        "watchlist.create"] + ["watchlist.update"] * 4 + ["watchlist.delete"]


def test_a_person_may_be_in_several_watchlists(api_client):
    a = api_client.post(URL, {"name": "a"}, format="json").json()
    b = api_client.post(URL, {"name": "b"}, format="json").json()
    person = api_client.post("/api/v1/people", {"name": "Ada", "watchlists": [a["id"], b["id"]]}, format="json").json()
    assert sorted(w["name"] for w in person["watchlists"]) == ["a", "b"]
    assert api_client.get(f"{URL}/{a['id']}").json()["people_count"] == 1


def test_list_watchlists_filters_by_name(api_client):
    for name in ("staff", "visitors", "banned"):
        api_client.post(URL, {"name": name}, format="json")
    assert [w["name"] for w in api_client.get(URL, {"name": "TAF"}).json()["results"]] == ["staff"]
    assert [w["name"] for w in api_client.get(URL).json()["results"]] == ["banned", "staff", "visitors"]


def test_a_duplicate_watchlist_name_is_a_409(api_client):
    api_client.post(URL, {"name": "staff"}, format="json")
    other = api_client.post(URL, {"name": "other"}, format="json").json()
    assert_error(api_client.post(URL, {"name": "staff"}, format="json"), 409, "watchlist_exists")
    assert_error(api_client.patch(f"{URL}/{other['id']}", {"name": "staff"}, format="json"), 409, "watchlist_exists")


@pytest.mark.parametrize("fields, named", [({}, "name"), ({"name": ""}, "name"), ({"name": "x", "people": ["nope"]}, "people"),
                                           ({"name": "x", "people": [str(uuid.uuid4())]}, "people")])
def test_bad_watchlist_fields_are_a_400(api_client, fields, named):
    body = assert_error(api_client.post(URL, fields, format="json"), 400, "invalid_request")
    assert named in body["fields"]


def test_unknown_watchlist_is_a_404(api_client):
    for path in (f"{URL}/{uuid.uuid4()}", f"{URL}/nope"):
        assert_error(api_client.get(path), 404, "not_found")
        assert_error(api_client.delete(path), 404, "not_found")


def test_reading_watchlists_needs_read_and_changing_them_needs_admin(client, api_key):
    assert_error(client.get(URL), 401, "unauthenticated")
    assert client_with_key(api_key("read")).get(URL).status_code == 200
    assert_error(client_with_key(api_key("enroll")).post(URL, {"name": "x"}, format="json"), 403, "forbidden")
    assert client_with_key(api_key("admin")).post(URL, {"name": "x"}, format="json").status_code == 201

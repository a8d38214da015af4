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
    no_server_error_in(case, case.call(headers=headers))


def no_server_error_in(case, response):
    """No 5xx; every status and body as the schema documents it; every error in the one envelope."""
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


# --- Stateful: sequences of calls chained by the links between operations ------------------------------------------
# drf-spectacular declares no OpenAPI links; schemathesis infers them from the schema (a response's `id` feeding the
# `{id}` / `{person_id}` of another operation, Location headers) — over 300 here: list or create a person, then get,
# edit, merge, split, enrol a face to or delete that person; the same for cameras, rules, watchlists, events, keys.
# Deleting keys is left out of the sequences: a scenario revoking the key it runs with would make the rest 401s
# (the stateless tests above cover that operation).
STATEFUL_EXCLUDED = r"^/api/v1/keys/"


@pytest.fixture
def resources(models_ready, media_in_tmp):
    """Something for the links to lead to: two people (one enrolled from a photo, so with a face), a watchlist, cameras,
    a rule and camera events (fuzzed bodies cannot enrol a face: no generated image holds one)."""
    import datetime as dt

    from enrollment import services
    from enrollment.models import Person, Watchlist
    from tests.conftest import read_bytes
    from tests.videostreams.test_views import make_event
    from videostreams.models import Camera, Rule

    obama = services.enrol_person(name="Barack Obama", birthdate=dt.date(1961, 8, 4),
                                  image=read_bytes("samples", "obama.jpg"), image_name="obama.jpg")
    ann = Person.objects.create(name="Ann")
    vip = Watchlist.objects.create(name="VIP")
    ann.watchlists.add(vip)
    door = Camera.objects.create(name="door", source="rtsp://192.0.2.1/door", enabled=False)
    Rule.objects.create(name="vips", trigger=Rule.Trigger.MATCH)
    make_event(door, person=obama)
    make_event(door, minutes=5)


def test_no_server_errors_in_stateful_sequences_along_the_inferred_links(fuzz_headers, resources):
    from django.core.cache import cache
    from django.db import transaction
    from hypothesis import settings as hypothesis_settings

    workflow = schema.exclude(path_regex=STATEFUL_EXCLUDED, method="DELETE").as_state_machine()
    links = schema.statistic.transitions.total
    assert links > 100, links  # the inference found the links (a schema change that loses them fails here)
    calls = []

    class Sequences(workflow):
        # Each scenario starts from the same database (a savepoint rolled back after it): Hypothesis replays
        # scenarios to explore and shrink, and one that met another's leftovers would draw differently.
        def setup(self):
            self.savepoint = transaction.savepoint()
            cache.clear()  # throttle counters too

        def teardown(self):
            transaction.savepoint_rollback(self.savepoint)

        def get_call_kwargs(self, case):
            return {"headers": fuzz_headers}

        def validate_response(self, response, case, **kwargs):
            calls.append((case.method, case.path, response.status_code))
            no_server_error_in(case, response)

    # Bounded: 60 scenarios of at most 10 calls (about a minute here); derandomised, so a failure replays.
    Sequences.run(settings=hypothesis_settings(max_examples=60, stateful_step_count=10, **FUZZ_SETTINGS))
    chained = [(method, path) for method, path, status in calls if "{" in path and status < 400]
    # Sequences ran, and links led to existing resources (a person, a face, a camera, ...) that answered.
    assert len(calls) >= 100 and len(set(chained)) >= 5, sorted(set(chained))

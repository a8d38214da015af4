"""Search of the past by face (enrollment.sighting_search and POST /api/v1/sightings/search), on real photos."""
import datetime as dt
import uuid

import numpy as np
import pytest
from django.utils import timezone

from enrollment import sighting_search, sightings
from enrollment.identification import current_embedding_model
from enrollment.models import Sighting
from recognition.embedders import MODELS
from tests.conftest import assert_error, upload
from tests.enrollment.sighting_photos import keep_via_api as keep

PHOTOS = ["obama.jpg", "obama2.jpg", "obama3.jpg", "biden.jpg", "astronaut.jpg", "cameraman.jpg"]


@pytest.fixture
def seen(cast):
    return {name: keep(cast.read, name) for name in PHOTOS}


def test_a_photo_finds_the_sightings_of_that_face_first_with_time_place_crop_and_similarity(cast, seen):
    response = cast.read.post("/api/v1/sightings/search", {"image": upload("samples", "obama-480p.jpg")}, format="multipart")
    body = response.json()
    assert response.status_code == 200, body
    assert body["query"]["kind"] == "image" and body["page"] == 1 and not body["has_more"]
    results = body["results"]
    assert len(results) == len(PHOTOS)
    top3 = {r["id"] for r in results[:3]}
    assert top3 == {str(seen[n].id) for n in ("obama.jpg", "obama2.jpg", "obama3.jpg")}
    similarities = [r["similarity"] for r in results]
    assert similarities == sorted(similarities, reverse=True)
    first = results[0]
    assert first["seen_at"] and first["source"] == "api" and first["api_key_name"] == "cast read"
    crop = cast.read.get(first["crop_url"])
    assert crop.status_code == 200 and crop["Content-Type"] == "image/jpeg"


def test_a_person_or_an_unknown_group_can_be_searched_for(cast, seen):
    by_person = cast.read.post("/api/v1/sightings/search", {"person_id": str(cast.biden.id)}, format="json").json()
    assert by_person["query"]["kind"] == "person" and by_person["results"][0]["id"] == str(seen["biden.jpg"].id)
    group = seen["astronaut.jpg"].unknown_group.label
    by_group = cast.read.post("/api/v1/sightings/search", {"unknown_group": group, "page_size": 1}, format="json").json()
    assert by_group["query"] == {"kind": "unknown_group", "unknown_group": group, "faces": 1}
    assert by_group["results"][0]["id"] == str(seen["astronaut.jpg"].id) and by_group["has_more"]


def test_search_filters_by_time_range_and_camera_and_pages(cast, seen):
    old = timezone.now() - dt.timedelta(days=3)
    Sighting.objects.filter(pk=seen["obama.jpg"].pk).update(seen_at=old, until=old)
    camera = uuid.uuid4()
    Sighting.objects.filter(pk=seen["obama2.jpg"].pk).update(camera_id=camera, camera_name="door")
    since = (timezone.now() - dt.timedelta(days=1)).isoformat()
    recent = cast.read.post("/api/v1/sightings/search", {"person_id": str(cast.obama.id), "since": since}, format="json").json()
    assert str(seen["obama.jpg"].id) not in {r["id"] for r in recent["results"]} and len(recent["results"]) == len(PHOTOS) - 1
    until = (timezone.now() - dt.timedelta(days=2)).isoformat()
    older = cast.read.post("/api/v1/sightings/search", {"person_id": str(cast.obama.id), "until": until}, format="json").json()
    assert [r["id"] for r in older["results"]] == [str(seen["obama.jpg"].id)]
    at_door = cast.read.post("/api/v1/sightings/search", {"person_id": str(cast.obama.id), "camera": str(camera)}, format="json").json()
    assert [(r["id"], r["camera_name"]) for r in at_door["results"]] == [(str(seen["obama2.jpg"].id), "door")]
    pages = [cast.read.post("/api/v1/sightings/search", {"person_id": str(cast.obama.id), "page": p, "page_size": 4},
                            format="json").json() for p in (1, 2)]
    assert [len(p["results"]) for p in pages] == [4, 2] and [p["has_more"] for p in pages] == [True, False]
    assert not {r["id"] for r in pages[0]["results"]} & {r["id"] for r in pages[1]["results"]}


def test_bad_search_requests_get_clear_errors(cast, seen):
    assert_error(cast.read.post("/api/v1/sightings/search", {}, format="json"), 400, "invalid_request")
    both = {"person_id": str(cast.obama.id), "unknown_group": "U-000001"}
    assert_error(cast.read.post("/api/v1/sightings/search", both, format="json"), 400, "invalid_request")
    assert_error(cast.read.post("/api/v1/sightings/search", {"unknown_group": "U-999999"}, format="json"), 404)
    assert_error(cast.read.post("/api/v1/sightings/search", {"unknown_group": "nonsense"}, format="json"), 400)
    backwards = {"person_id": str(cast.obama.id), "since": "2026-01-02T00:00:00Z", "until": "2026-01-01T00:00:00Z"}
    assert_error(cast.read.post("/api/v1/sightings/search", backwards, format="json"), 400)
    deep = {"person_id": str(cast.obama.id), "page": 100, "page_size": 200}
    assert_error(cast.read.post("/api/v1/sightings/search", deep, format="json"), 400, "page_out_of_range")
    no_face = cast.read.post("/api/v1/sightings/search", {"image": upload("nonfaces", "cat.jpg")}, format="multipart")
    assert no_face.status_code == 400 and no_face.json()["status"] == "error"
    assert_error(cast.read.get(f"/api/v1/sightings/{uuid.uuid4()}/crop"), 404)


def test_a_narrow_time_filter_still_returns_as_many_sightings_as_asked_and_as_an_exact_scan(db, media_in_tmp, settings):
    """Most rows fall outside the time range: the index walk must go on (iterative scan), not stop short."""
    settings.FACEAPP_SIGHTING_EXACT_ROWS = 0  # the index walk, not the exact scan a small window gets
    model = current_embedding_model()
    dims = MODELS[model.split(":")[0]].dimensions
    rng = np.random.default_rng(7)
    now = timezone.now()
    from enrollment.images import encode_jpeg

    jpeg = encode_jpeg(np.zeros((16, 16, 3), dtype=np.uint8))
    for i in range(400):
        vector = np.zeros(512, dtype=np.float32)
        part = rng.standard_normal(dims).astype(np.float32)
        vector[:dims] = part / np.linalg.norm(part)
        when = now - dt.timedelta(days=10 if i % 8 else 1)  # 50 of 400 within the last two days
        sightings.record(embedding=vector, embedding_model=model, crop_jpeg=jpeg, source="camera", seen_at=when,
                         verdict="unknown", group_unknown=False)
    query = rng.standard_normal(512).astype(np.float32)
    query[dims:] = 0
    query /= np.linalg.norm(query)
    since = now - dt.timedelta(days=2)
    found = sighting_search.search(query, embedding_model=model, since=since, page_size=50)
    exact = sighting_search.search(query, embedding_model=model, since=since, page_size=50, exact=True)
    assert len(found.hits) == 50 and not found.has_more
    assert [h.sighting.id for h in found.hits] == [h.sighting.id for h in exact.hits]


def test_the_search_command_lists_the_sightings_of_a_photo_best_first(cast, seen, capsys):
    from django.core.management import call_command

    from tests.conftest import photo_path

    call_command("search_sightings", "--image", str(photo_path("samples", "obama-480p.jpg")), "--limit", "3")
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 4 and lines[-1].startswith("3 sightings (more")
    assert {line.split()[-1] for line in lines[:3]} == {str(seen[n].id) for n in ("obama.jpg", "obama2.jpg", "obama3.jpg")}
    assert all("Barack Obama" in line for line in lines[:3])


def test_a_persons_timeline_lists_their_sightings_newest_first_with_filters(cast, seen):
    old = timezone.now() - dt.timedelta(days=3)
    Sighting.objects.filter(pk=seen["obama.jpg"].pk).update(seen_at=old, until=old)
    timeline = cast.read.get(f"/api/v1/people/{cast.obama.id}/sightings").json()
    ids = [s["id"] for s in timeline["results"]]
    assert timeline["count"] == 3 and ids[-1] == str(seen["obama.jpg"].id)
    assert set(ids) == {str(seen[n].id) for n in ("obama.jpg", "obama2.jpg", "obama3.jpg")}
    since = (timezone.now() - dt.timedelta(days=1)).isoformat()
    assert cast.read.get(f"/api/v1/people/{cast.obama.id}/sightings", {"since": since}).json()["count"] == 2
    assert cast.read.get(f"/api/v1/people/{uuid.uuid4()}/sightings").status_code == 404

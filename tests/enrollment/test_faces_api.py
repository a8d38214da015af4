import io
import uuid

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from enrollment.models import Face
from faceapp.audit.models import AuditEntry
from tests.conftest import assert_error, upload

pytestmark = pytest.mark.django_db


def faces_url(person) -> str:
    return f"/api/v1/people/{person.id}/faces"


def test_adding_several_photos_stores_one_face_each_with_quality(cast):
    response = cast.enroll.post(
        faces_url(cast.biden), {"image": [upload("samples", "biden_biden2.jpg"), upload("samples", "biden.jpg", name="biden-again.jpg")]},
        format="multipart",
    )
    body = response.json()
    assert response.status_code == 201, body
    assert body["person_id"] == str(cast.biden.id) and len(body["faces"]) == 2
    for face in body["faces"]:
        assert set(face["quality"]) >= {"detection_score", "face_size", "sharpness", "yaw", "pitch", "roll"}
        assert face["thumbnail_url"] == f"http://testserver/api/v1/people/{cast.biden.id}/faces/{face['id']}/thumbnail"
    assert cast.biden.faces.count() == 3
    assert AuditEntry.objects.filter(action="face.add", details__person_id=str(cast.biden.id)).count() == 3


def test_face_index_picks_another_face_than_the_largest(cast):
    detected = cast.read.post("/api/v1/detect", {"image": upload("samples", "obama_and_biden.jpg")}, format="multipart").json()["faces"]
    assert len(detected) >= 2
    # Both faces belong to enrolled people, so one of them is somebody else's: added as a reviewed exception.
    reviewed = "test: which face face_index picks"
    largest = cast.enroll.post(faces_url(cast.biden), {"image": [upload("samples", "obama_and_biden.jpg")], "reviewed_exception": reviewed},
                               format="multipart").json()
    second = cast.enroll.post(faces_url(cast.biden), {"image": [upload("samples", "obama_and_biden.jpg")], "face_index": 1,
                                                      "reviewed_exception": reviewed}, format="multipart").json()
    assert largest["faces"][0]["box"] == detected[0]["box"]
    assert second["faces"][0]["box"] == detected[1]["box"]


def test_face_index_out_of_range_is_a_400_and_stores_nothing(cast):
    before = Face.objects.count()
    body = assert_error(cast.enroll.post(faces_url(cast.biden), {"image": [upload("samples", "biden.jpg")], "face_index": 5},
                                         format="multipart"), 400, "face_index_out_of_range")
    assert body["faces_detected"] == 1
    assert Face.objects.count() == before


def test_one_photo_without_a_face_stores_none_of_the_photos(cast, media_in_tmp):
    before = {p for p in media_in_tmp.rglob("*") if p.is_file()}
    response = cast.enroll.post(faces_url(cast.biden), {"image": [upload("samples", "biden_biden2.jpg"), upload("nonfaces", "cat.jpg")]},
                                format="multipart")
    assert_error(response, 400, 601)
    assert cast.biden.faces.count() == 1
    assert {p for p in media_in_tmp.rglob("*") if p.is_file()} == before


def test_a_face_of_another_enrolled_person_is_refused_naming_them_and_nothing_is_stored(cast):
    """Bug: POST /people/{id}/faces had no duplicate check: Obama's face was added to Joe Biden without a word."""
    before = Face.objects.count()
    body = assert_error(cast.enroll.post(faces_url(cast.biden), {"image": [upload("samples", "biden_biden2.jpg"), upload("samples", "obama2.jpg")]},
                                         format="multipart"), 409, "duplicate_face")
    assert body["message"].startswith(f"obama2.jpg: This face is already enrolled as Barack Obama ({cast.obama.id}; similarity ")
    assert body["existing_user_id"] == str(cast.obama.id) and body["existing_user_name"] == "Barack Obama"
    assert Face.objects.count() == before


def test_the_duplicate_check_uses_the_enrolment_duplicate_policy_and_ignores_the_persons_own_faces(cast):
    from enrollment import decision, gallery
    from enrollment.models import Face as FaceRow
    from recognition import embedders

    model = embedders.model_id()
    others = FaceRow.objects.exclude(person=cast.obama)
    policy = decision.duplicate_policy(embedding_model=model, gallery_size=others.count())
    body = assert_error(cast.enroll.post(faces_url(cast.obama), {"image": [upload("samples", "biden.jpg")]}, format="multipart"),
                        409, "duplicate_face")
    assert body["threshold"] == round(policy.threshold, 4) and policy.preset == "strict"
    assert f"the strict duplicate threshold at {others.count()} faces" in body["message"]
    assert gallery.gallery_size(embedding_model=model) == 3
    # His own photo again is no duplicate of anybody else.
    assert cast.enroll.post(faces_url(cast.obama), {"image": [upload("samples", "obama.jpg")]}, format="multipart").status_code == 201


def test_a_reviewed_exception_adds_the_face_anyway_and_audits_whom_it_resembles(cast):
    response = cast.enroll.post(faces_url(cast.biden), {"image": [upload("samples", "obama2.jpg")],
                                                        "reviewed_exception": "twin brother, checked by the desk"}, format="multipart")
    assert response.status_code == 201, response.json()
    face_id = response.json()["faces"][0]["id"]
    entry = AuditEntry.objects.get(action="face.add", target_id=face_id)
    assert entry.details["reviewed_exception"] == "twin brother, checked by the desk"
    assert entry.details["resembles_person_id"] == str(cast.obama.id) and entry.details["resembles_person_name"] == "Barack Obama"
    assert entry.details["similarity"] >= entry.details["duplicate_threshold"]


def test_keep_good_stores_the_good_photos_and_lists_the_bad_ones(cast):
    response = cast.enroll.post(faces_url(cast.biden), {"keep_good": "true", "image": [
        upload("samples", "biden_biden2.jpg"), upload("nonfaces", "cat.jpg"), upload("samples", "obama2.jpg"),
        SimpleUploadedFile("x.jpg", b"not an image" * 10),
    ]}, format="multipart")
    body = response.json()
    assert response.status_code == 201, body
    assert len(body["faces"]) == 1 and cast.biden.faces.count() == 2
    assert [(n["image_index"], n["image_name"], n["error_code"]) for n in body["not_added"]] == [
        (1, "cat.jpg", "601"), (2, "obama2.jpg", "duplicate_face"), (3, "x.jpg", "invalid_image")]
    assert body["not_added"][1]["existing_user_name"] == "Barack Obama"


def test_keep_good_with_only_bad_photos_is_the_first_error_with_the_list(cast):
    body = assert_error(cast.enroll.post(faces_url(cast.biden), {"keep_good": "true", "image": [upload("nonfaces", "cat.jpg")]},
                                         format="multipart"), 400, 601)
    assert body["not_added"][0]["image_name"] == "cat.jpg"


@pytest.mark.parametrize(
    "files, status, code",
    [
        ([], 400, "invalid_request"),
        ([SimpleUploadedFile("empty.jpg", b"")], 400, "empty_image"),
        ([SimpleUploadedFile("x.jpg", b"not an image" * 10)], 415, "invalid_image"),
    ],
)
def test_adding_bad_photos_is_an_error(cast, files, status, code):
    assert_error(cast.enroll.post(faces_url(cast.biden), {"image": files}, format="multipart"), status, code)


def test_adding_faces_with_json_is_a_415(cast):
    assert_error(cast.enroll.post(faces_url(cast.biden), {"image": "x"}, format="json"), 415, "unsupported_media_type")


def test_list_faces_with_thumbnail_urls_and_get_one(cast):
    body = cast.read.get(faces_url(cast.obama)).json()
    assert body["count"] == 2
    first = body["results"][0]
    assert first["thumbnail_url"].endswith("/thumbnail") and first["crop_url"].endswith("/crop")
    assert first["person_id"] == str(cast.obama.id)
    one = cast.read.get(f"{faces_url(cast.obama)}/{first['id']}").json()
    assert one["id"] == first["id"] and one["box"] == first["box"]


def test_delete_one_face_removes_its_files(cast, django_capture_on_commit_callbacks):
    face = cast.obama.faces.first()
    names = [face.crop.name, face.thumbnail.name, face.source_image.name]
    assert all(default_storage.exists(n) for n in names)
    with django_capture_on_commit_callbacks(execute=True):
        response = cast.enroll.delete(f"{faces_url(cast.obama)}/{face.id}")
    assert response.status_code == 200 and response.json() == {"status": "deleted", "id": str(face.id)}
    assert cast.obama.faces.count() == 1
    assert not any(default_storage.exists(n) for n in names)
    assert AuditEntry.objects.filter(action="face.delete", target_id=str(face.id)).exists()


def test_a_face_of_another_person_or_unknown_is_a_404(cast):
    obamas = cast.obama.faces.first()
    assert_error(cast.admin.get(f"{faces_url(cast.biden)}/{obamas.id}"), 404, "not_found")
    assert_error(cast.admin.delete(f"{faces_url(cast.biden)}/{obamas.id}"), 404, "not_found")
    assert_error(cast.admin.get(f"/api/v1/people/{uuid.uuid4()}/faces"), 404, "not_found")
    assert_error(cast.admin.get(f"{faces_url(cast.biden)}/nope"), 404, "not_found")
    assert cast.obama.faces.count() == 2


def test_faces_need_a_key_and_adding_or_deleting_needs_enroll(cast, client):
    assert_error(client.get(faces_url(cast.obama)), 401, "unauthenticated")
    assert_error(cast.read.post(faces_url(cast.obama), {"image": [upload("samples", "obama.jpg")]}, format="multipart"), 403, "forbidden")
    assert_error(cast.read.delete(f"{faces_url(cast.obama)}/{cast.obama.faces.first().id}"), 403, "forbidden")


def test_thumbnails_and_crops_are_served_as_jpeg_only_with_a_key(cast, client):
    face = cast.read.get(faces_url(cast.obama)).json()["results"][0]
    for url, size in ((face["thumbnail_url"], (96, 96)), (face["crop_url"], (160, 160))):
        response = cast.read.get(url)
        assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
        with Image.open(io.BytesIO(b"".join(response.streaming_content))) as image:
            assert image.format == "JPEG" and image.size == size
        assert_error(client.get(url), 401, "unauthenticated")


def test_the_image_of_a_deleted_face_is_a_404(cast, django_capture_on_commit_callbacks):
    face = cast.read.get(faces_url(cast.obama)).json()["results"][0]
    with django_capture_on_commit_callbacks(execute=True):
        cast.enroll.delete(f"{faces_url(cast.obama)}/{face['id']}")
    assert_error(cast.read.get(face["thumbnail_url"]), 404, "not_found")


def test_a_face_whose_file_is_missing_is_a_404_not_a_500(cast):
    face = cast.obama.faces.first()
    default_storage.delete(face.thumbnail.name)
    assert_error(cast.read.get(f"{faces_url(cast.obama)}/{face.id}/thumbnail"), 404, "not_found")

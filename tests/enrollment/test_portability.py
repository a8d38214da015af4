import datetime as dt
import io
import json
import shutil

import numpy as np
import pytest
from django.core.files.storage import default_storage
from django.core.management import call_command

from enrollment import portability, services
from enrollment.models import Face, Person, Watchlist
from tests.conftest import read_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def cast(models_ready):
    """Obama (two faces, on a watchlist) and Biden (one face)."""
    vip = Watchlist.objects.create(name="vip", description="very important")
    obama = services.enrol_person(name="Barack Obama", birthdate=dt.date(1961, 8, 4), email="barack@example.org",
                                  external_id="P-44", image=read_bytes("samples", "obama.jpg"), image_name="obama.jpg")
    services.add_face(obama, services.sample_from_image(read_bytes("samples", "obama2.jpg")))
    obama.watchlists.add(vip)
    biden = services.enrol_person(name="Joe Biden", birthdate=None, image=read_bytes("samples", "biden.jpg"))
    return obama, biden


def snapshot():
    people = {
        str(p.id): (p.name, p.email, p.birthdate, p.external_id, p.metadata, sorted(w.name for w in p.watchlists.all()), p.created_at)
        for p in Person.objects.all()
    }
    faces = {
        str(f.id): (str(f.person_id), f.source, f.source_sha256, f.box, f.landmarks, f.quality, f.embedding_model, f.created_at)
        for f in Face.objects.all()
    }
    vectors = {str(f.id): np.asarray(f.embedding) for f in Face.objects.all()}
    return people, faces, vectors


def wipe(media):
    Face.objects.all().delete()
    Person.objects.all().delete()
    Watchlist.objects.all().delete()
    shutil.rmtree(media, ignore_errors=True)


def export(**options) -> list[str]:
    out = io.StringIO()
    portability.write_export(out, **options)
    return out.getvalue().splitlines()


def test_export_then_import_into_an_empty_database_recreates_everything_with_the_same_ids(cast, media_in_tmp):
    before = snapshot()
    lines = export(with_embeddings=True)
    assert [json.loads(line)["type"] for line in lines] == ["header", "watchlist", "person", "person"]
    wipe(media_in_tmp)

    summary = portability.import_lines(lines)
    assert summary.counts["people created"] == 2 and summary.counts["faces restored with their vector"] == 3
    after = snapshot()
    assert after[0] == before[0] and after[1] == before[1]
    for face_id, vector in before[2].items():
        np.testing.assert_allclose(after[2][face_id], vector, atol=1e-6)
    for face in Face.objects.all():
        assert default_storage.exists(face.crop.name) and default_storage.exists(face.thumbnail.name)
        assert not face.source_image  # source photos travel only with --with-source-images
    assert Watchlist.objects.get(name="vip").description == "very important"

    again = portability.import_lines(lines)
    assert again.counts == {"watchlists existing": 1, "people existing": 2, "faces existing": 3}
    assert snapshot()[1] == before[1] and Face.objects.count() == 3


def test_faces_exported_without_vectors_are_embedded_again_from_their_crops_and_match(cast, media_in_tmp):
    before = snapshot()[2]
    lines = export()
    assert "embedding" not in json.loads(lines[2])["faces"][0]
    wipe(media_in_tmp)
    summary = portability.import_lines(lines)
    assert summary.counts["faces re-embedded"] == 3
    for face in Face.objects.all():
        assert float(np.dot(np.asarray(face.embedding), before[str(face.id)])) > 0.98  # the crop is a JPEG copy
    recognition = services.recognise_user(read_bytes("samples", "obama-480p.jpg"))
    assert recognition.match is not None and recognition.match.person.name == "Barack Obama"


def test_a_person_whose_email_belongs_to_someone_else_here_is_refused_and_reported(cast, media_in_tmp):
    lines = export(with_embeddings=True)
    wipe(media_in_tmp)
    services.create_person(name="Another Barack", email="BARACK@example.org")
    summary = portability.import_lines(lines)
    assert summary.counts["people refused"] == 1 and summary.counts["people created"] == 1
    assert "Barack Obama" in summary.problems[0] and "email" in summary.problems[0]
    assert Face.objects.count() == 1 and Person.objects.count() == 2
    files = {str(p.relative_to(media_in_tmp)) for p in media_in_tmp.rglob("*") if p.is_file()}
    assert files == {n for f in Face.objects.all() for n in (f.crop.name, f.thumbnail.name)}


def test_a_file_that_is_not_an_export_is_refused():
    with pytest.raises(portability.ImportFileError, match="not a faceapp people export"):
        portability.import_lines(['{"type": "person"}'])


def test_export_people_and_import_people_commands_round_trip_with_source_photos(cast, media_in_tmp, tmp_path, capsys):
    before = snapshot()
    path = tmp_path / "people.jsonl"
    call_command("export_people", "--output", str(path), "--with-embeddings", "--with-source-images")
    wipe(media_in_tmp)
    call_command("import_people", str(path))
    out = capsys.readouterr().out
    assert "people created: 2" in out and "faces restored with their vector: 3" in out
    assert snapshot()[:2] == before[:2]
    assert all(default_storage.exists(f.source_image.name) for f in Face.objects.all())
    call_command("import_people", str(path))
    assert "people existing: 2" in capsys.readouterr().out


def test_restoring_into_an_installation_on_another_embedder_re_embeds_the_faces(tmp_path, models_ready, settings):
    import datetime as dt

    from django.core.management import call_command

    from enrollment import services
    from enrollment.models import Face, Person
    from recognition import embedders
    from tests.conftest import read_bytes

    person = services.enrol_person(name="Barack Obama", birthdate=dt.date(1961, 8, 4), image=read_bytes("samples", "obama.jpg"))
    backup = tmp_path / "people.jsonl"
    call_command("export_people", "--output", str(backup), "--with-embeddings")
    Person.objects.all().delete()
    settings.FACEAPP_EMBEDDER = "arcface-mbf"
    settings.FACEAPP_ACCEPT_NONCOMMERCIAL_MODELS = True
    settings.FACEAPP_MATCH_THRESHOLD = settings.DEFAULT_MATCH_THRESHOLDS["arcface-mbf"]
    call_command("import_people", str(backup))
    face = Face.objects.get(person_id=person.id)
    assert face.embedding_model == embedders.model_id()
    assert services.recognise_user(read_bytes("samples", "obama2.jpg")).match.person.id == person.id

import csv
import shutil

import pytest

from enrollment import importing, services
from enrollment.models import Face, Person, Watchlist
from tests.conftest import PEOPLE_WITHOUT_FACE as NO_FACE
from tests.conftest import data_path, people_folder, read_bytes

pytestmark = pytest.mark.django_db

# The committed people set (tests/conftest.py): 13 photos in 5 folders, 4 without a face ("Nobody_Here" has no
# other photo), so 9 faces of 4 people.
PEOPLE = ["Barack Obama", "Eileen Collins", "Joe Biden", "The Cameraman"]
# Five photos of one person.
OBAMA = ("obama.jpg", "obama2.jpg", "obama3.jpg", "obama-480p.jpg", "obama_partial_face.jpg")


def run(entries, **options):
    return importing.import_entries(entries, importing.ImportOptions(**{"workers": 2, "batch_size": 4, **options}))


def write_manifest(path, rows):
    with open(path, "w", newline="") as handle:
        csv.writer(handle).writerows(rows)
    return path


def test_importing_a_folder_twice_imports_nothing_the_second_time(models_ready, tmp_path):
    entries = importing.entries_from_folder(people_folder(tmp_path / "photos"))
    assert len(entries) == 13 and {e.name for e in entries} >= {"Barack Obama", "Nobody Here"}

    first = run(entries)
    assert first.counts["imported"] == 9 and first.counts["no_face"] == 4
    assert {n.entry.path.name for n in first.not_imported} == NO_FACE
    assert sorted(Person.objects.values_list("name", flat=True)) == PEOPLE
    assert Face.objects.count() == 9 and Face.objects.values("source_sha256").distinct().count() == 9

    second = run(importing.entries_from_folder(tmp_path / "photos"))
    assert second.counts["imported"] == 0 and second.counts["duplicate"] == 9 and second.people_created == 0
    assert Person.objects.count() == 4 and Face.objects.count() == 9


def test_a_manifest_with_bad_rows_reports_each_and_imports_the_rest(models_ready, tmp_path):
    shutil.copy(data_path("samples", "obama.jpg"), tmp_path / "barack.jpg")
    shutil.copy(data_path("nonfaces", "cat.jpg"), tmp_path / "cat.jpg")
    (tmp_path / "notes.jpg").write_text("not a photo")
    manifest = write_manifest(
        tmp_path / "people.csv",
        [
            ["image", "name", "email", "birthdate", "external_id", "watchlists"],
            ["barack.jpg", "Barack Obama", "barack@example.org", "1961-08-04", "SW-1", "swimmers;vip"],
            ["missing.jpg", "Nobody", "", "", "", ""],
            ["notes.jpg", "Text File", "", "", "", ""],
            ["cat.jpg", "A Cat", "", "", "", ""],
            ["barack.jpg", "Bad Date", "", "04/08/1961", "", ""],
            ["", "No Path", "", "", "", ""],
        ],
    )
    summary = run(importing.entries_from_manifest(manifest))
    reasons = {(n.entry.line, n.reason) for n in summary.not_imported}
    assert reasons == {(3, "unreadable"), (4, "unreadable"), (5, "no_face"), (6, "bad_row"), (7, "bad_row")}
    details = {n.entry.line: n.detail for n in summary.not_imported}
    assert details[3] == "file not found" and "YYYY-MM-DD" in details[6] and "no image path" in details[7]
    person = Person.objects.get()
    assert (person.name, person.email, str(person.birthdate), person.external_id) == ("Barack Obama", "barack@example.org", "1961-08-04", "SW-1")
    assert sorted(person.watchlists.values_list("name", flat=True)) == ["swimmers", "vip"]

    report = tmp_path / "report.csv"
    assert importing.write_report(summary.not_imported, report) == 5
    rows = list(csv.DictReader(open(report)))
    assert list(rows[0]) == list(importing.REPORT_COLUMNS)
    assert {(r["line"], r["reason"]) for r in rows} == {(str(line), reason) for line, reason in reasons}


def test_people_are_matched_by_external_id_then_email_then_name_never_duplicated(models_ready, tmp_path):
    photos = [str(data_path("samples", name)) for name in OBAMA]
    hand_enrolled = services.create_person(name="Barack Obama")  # not made by an import: a name never matches it
    manifest = write_manifest(
        tmp_path / "m.csv",
        [
            [photos[0], "Barack Obama", "", "", "AG-1"],
            [photos[1], "B. Obama", "", "", "AG-1"],  # same external id
            [photos[2], "Barack Obama", "Barack@Example.org", "", ""],  # a name match
            [photos[3], "Someone Else", "barack@example.org", "", ""],  # same email
            [photos[4], "Barack Obama", "", "", "AG-2"],  # another external id: another person
        ],
    )
    summary = run(importing.entries_from_manifest(manifest), batch_size=2)
    assert summary.counts["imported"] == 5 and summary.people_created == 2
    first = Person.objects.get(external_id="AG-1")
    assert first.faces.count() == 4 and first.email is None
    assert Person.objects.get(external_id="AG-2").faces.count() == 1
    assert hand_enrolled.faces.count() == 0
    assert Person.objects.count() == 3


def test_a_failure_on_one_photo_does_not_stop_the_import(models_ready, tmp_path):
    photos = [str(data_path("samples", name)) for name in OBAMA]
    services.create_person(name="Taken", email="taken@example.org", external_id="OTHER")
    manifest = write_manifest(
        tmp_path / "m.csv",
        [
            [photos[0], "Barack Obama"],
            [photos[1], "x" * 300],  # too long for the column: the INSERT fails
            [photos[2], "Clash", "taken@example.org", "", "NEW-1"],  # email of another person
            [photos[3], "Barack Obama"],
        ],
    )
    summary = run(importing.entries_from_manifest(manifest), batch_size=4)
    assert summary.counts["imported"] == 2
    assert {(n.entry.line, n.reason) for n in summary.not_imported} == {(2, "error"), (3, "conflict")}
    assert Person.objects.get(name="Barack Obama").faces.count() == 2
    assert Face.objects.count() == 2
    files = {str(p.relative_to(tmp_path / "media")) for p in (tmp_path / "media").rglob("*") if p.is_file()}
    stored = {name for face in Face.objects.all() for name in (face.crop.name, face.thumbnail.name, face.source_image.name)}
    assert files == stored  # the failed photos left no files behind


def test_photos_with_several_faces_use_the_largest_or_are_skipped(models_ready, tmp_path):
    (tmp_path / "Barack_Obama").mkdir()
    (tmp_path / "Barack_Obama" / "with_biden.jpg").write_bytes(read_bytes("samples", "obama_and_biden.jpg"))
    (tmp_path / "Barack_Obama" / "alone.jpg").write_bytes(read_bytes("samples", "obama.jpg"))
    entries = importing.entries_from_folder(tmp_path)

    skipped = run(entries, on_multiple_faces="skip", dry_run=True)
    assert skipped.counts == {"imported": 1, "several_faces": 1}
    assert "faces detected" in skipped.not_imported[0].detail

    largest = run(entries, on_multiple_faces="largest")
    assert largest.counts["imported"] == 2 and largest.several_faces_largest_used == 1


def test_a_dry_run_checks_everything_and_stores_nothing(models_ready, tmp_path):
    summary = run(importing.entries_from_folder(people_folder(tmp_path / "photos")), dry_run=True)
    assert summary.counts["imported"] == 9 and summary.counts["no_face"] == 4 and summary.people_created == 4
    assert Person.objects.count() == 0 and Face.objects.count() == 0
    assert not (tmp_path / "media").exists() or not [p for p in (tmp_path / "media").rglob("*") if p.is_file()]


def test_quality_rules_skip_faces_below_them(models_ready, tmp_path):
    entries = importing.entries_from_folder(people_folder(tmp_path / "photos", ["Barack_Obama"]))
    summary = run(entries, min_quality=importing.parse_min_quality("face_size=500"), watchlist="swimmers")
    assert summary.counts == {"low_quality": 5}
    assert all(n.detail.startswith("face_size ") and "< 500" in n.detail for n in summary.not_imported)
    summary = run(entries, min_quality=importing.parse_min_quality("face_size=40,yaw=90"), watchlist="swimmers")
    assert summary.counts == {"imported": 5}
    assert list(Watchlist.objects.get(name="swimmers").people.values_list("name", flat=True)) == ["Barack Obama"]


def test_unknown_quality_measures_are_refused():
    with pytest.raises(ValueError, match="unknown quality measure"):
        importing.parse_min_quality("beauty=10")
    with pytest.raises(ValueError, match="needs a number"):
        importing.parse_min_quality("face_size=big")


def test_the_limit_takes_the_first_photos_and_a_rerun_imports_the_rest(models_ready, tmp_path):
    entries = importing.entries_from_folder(people_folder(tmp_path / "photos"))
    assert run(entries, limit=5).total == 5
    rest = run(entries)
    assert rest.counts["duplicate"] + rest.counts["imported"] == 9 and rest.counts["duplicate"] >= 1
    assert Face.objects.count() == 9 and Person.objects.count() == 4


@pytest.mark.django_db(transaction=True)
def test_a_second_import_at_the_same_time_is_refused(models_ready, tmp_path):
    import threading

    from django.db import connection

    entries = importing.entries_from_folder(people_folder(tmp_path / "photos", ["Barack_Obama"]))
    started, release, outcome = threading.Event(), threading.Event(), []

    def first():
        def hold(summary, done):
            started.set()
            release.wait(30)

        try:
            outcome.append(importing.import_entries(entries, importing.ImportOptions(batch_size=2), progress=hold))
        finally:
            connection.close()

    thread = threading.Thread(target=first)
    thread.start()
    assert started.wait(60)
    try:
        with pytest.raises(importing.ImportRunning):
            run(entries)
        assert run(entries, dry_run=True).counts["imported"] >= 1  # a dry run stores nothing: no lock needed
    finally:
        release.set()
        thread.join()
    assert outcome[0].counts["imported"] == 5
    assert run(entries).counts["duplicate"] == 5  # the lock was released


def test_a_rerun_with_a_watchlist_adds_the_people_already_imported_to_it(models_ready, tmp_path):
    entries = importing.entries_from_folder(people_folder(tmp_path / "photos"))
    run(entries)
    again = run(entries, watchlist="everyone")
    assert again.counts["imported"] == 0
    assert sorted(Watchlist.objects.get(name="everyone").people.values_list("name", flat=True)) == PEOPLE


def test_a_manifest_row_with_an_impossible_birthdate_is_a_bad_row(tmp_path):
    manifest = tmp_path / "people.csv"
    manifest.write_text("image,name,birthdate\nobama.jpg,Barack Obama,0001-01-01\nobama.jpg,Barack Obama,1961-08-04\n")
    first, second = importing.entries_from_manifest(manifest)
    assert first.problem and "1800-01-01" in first.problem and first.birthdate is None
    assert second.problem is None and str(second.birthdate) == "1961-08-04"

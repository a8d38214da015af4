"""Splitting, moving and merging enrolled people from their page, and undoing it, in headless Chromium with axe-core."""
from __future__ import annotations

import pytest
from selenium.webdriver.support.ui import Select

from .conftest import NARROW, log_in, set_viewport

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def mixed(models_ready):
    """Barack Obama's record with a face of the astronaut by mistake, and a second record of Obama himself."""
    from types import SimpleNamespace

    from enrollment import services
    from tests.conftest import read_bytes

    def face_of(person, name):
        return services.add_face(person, services.sample_from_image(read_bytes("samples", name), source_name=name),
                                 check_duplicates=False)

    obama = services.enrol_person(name="Barack Obama", birthdate=None, image=read_bytes("samples", "obama.jpg"), image_name="obama.jpg")
    wrong = face_of(obama, "astronaut.jpg")
    twin = services.create_person(name="B. Obama")
    face_of(twin, "obama2.jpg")
    biden = services.enrol_person(name="Joe Biden", birthdate=None, image=read_bytes("samples", "biden.jpg"), image_name="biden.jpg")
    return SimpleNamespace(obama=obama, wrong=wrong, twin=twin, biden=biden)


def check_page(page):
    assert page.axe() == []
    set_viewport(page.driver, *NARROW)
    assert page.driver.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")
    assert page.axe() == []
    from .conftest import WIDE

    set_viewport(page.driver, *WIDE)


def test_an_operator_splits_a_wrong_face_off_undoes_it_moves_it_and_merges_a_duplicate_record(page, mixed):
    from enrollment.models import Face, Person

    log_in(page)
    page.open(f"/ui/people/{mixed.obama.id}/")
    page.wait_for("#edit-faces")
    assert page.driver.execute_script("return new Set([...document.querySelectorAll('[id]')].map(e => e.id)).size") == len(
        page.find_all("[id]")), "an id is used twice on the page"
    check_page(page)

    # Split the astronaut's face off into a new person.
    page.find(f"input[name=faces][value='{mixed.wrong.id}']").click()
    page.find("#faces_name").send_keys("Eileen Collins")
    page.find("#edit-faces button[value=split]").click()
    page.wait_for_text(".messages", "Split 1 face off into Eileen Collins.")
    eileen = Person.objects.get(name="Eileen Collins")
    assert Face.objects.get(pk=mixed.wrong.pk).person_id == eileen.id

    # Undo it from "Recent edits": the face is Obama's again, and Eileen's record (empty) is gone.
    page.find("#edits button[type=submit]").click()
    page.wait_for_text(".messages", "Undone: faces split off into a new person.")
    assert Face.objects.get(pk=mixed.wrong.pk).person_id == mixed.obama.id and not Person.objects.filter(pk=eileen.pk).exists()

    # Move it to Joe Biden instead (a wrong move, for the test's sake).
    page.find(f"input[name=faces][value='{mixed.wrong.id}']").click()
    Select(page.find("#faces_to")).select_by_visible_text("Joe Biden")
    page.find("#edit-faces button[value=move]").click()
    page.wait_for_text(".messages", "Moved the face to Joe Biden.")
    assert Face.objects.get(pk=mixed.wrong.pk).person_id == mixed.biden.id

    # Merge the duplicate record of Obama into this one, from the duplicate's page.
    page.open(f"/ui/people/{mixed.twin.id}/")
    Select(page.wait_for("#merge_into")).select_by_visible_text("Barack Obama")
    page.find("#merge-person button[type=submit]").click()
    page.wait_for_text(".messages", "Merged B. Obama into Barack Obama")
    assert page.driver.current_url.endswith(f"/ui/people/{mixed.obama.id}/")
    assert not Person.objects.filter(pk=mixed.twin.pk).exists() and mixed.obama.faces.count() == 2
    assert "people merged (B. Obama)" in page.find("#edits").text
    check_page(page)
    page.driver.execute_script("document.getElementById('edit-faces').scrollIntoView()")
    page.screenshot("person-edits-wide.png")

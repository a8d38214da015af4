"""The operator pages in a real browser: headless Chromium (Debian's `chromium` + `chromium-driver`) driven by
Selenium against a live server with the real models and database.

The browser is installed on first use where it can be (root with apt-get); elsewhere these tests skip and say
why. Screenshots of the enrol and 'Who is this?' pages go to var/screenshots/ (git-ignored).
"""
from __future__ import annotations

from tests.conftest import data_path, shared_data_path

from .conftest import log_in

def test_operator_logs_in_enrols_a_person_finds_them_with_another_photo_and_deletes_them(page):
    from enrollment import people
    from enrollment.models import Person

    people.create_watchlist(name="staff")
    log_in(page)

    # Enrol Adam Sandler from one photo: the face is boxed, picked, the details typed, saved.
    page.open("/ui/enrol/")
    page.find("#id_photos").send_keys(str(shared_data_path("lfw-dev", "Adam_Sandler", "Adam_Sandler_0001.jpg")))
    page.find("#upload-form button[type=submit]").click()
    page.wait_for(".photo-result svg rect")
    assert page.find(".photo-result .badge").text.split()[0] in ("good", "fair", "poor")
    assert page.find("input[name=req_id]").is_selected()
    page.find("#id_name").send_keys("Adam Sandler")
    page.find("#id_email").send_keys("adam@example.org")
    page.find("#id_watchlists input[type=checkbox]").click()
    page.driver.execute_script("window.scrollTo(0, 0)")
    page.screenshot("enrol.png")
    page.find("#enrol-form button[type=submit]").click()
    page.wait_for_text("h1", "Adam Sandler")
    assert "Enrolled Adam Sandler." in page.text()
    assert len(page.find_all(".card.face")) == 1
    assert [w.name for w in Person.objects.get(name="Adam Sandler").watchlists.all()] == ["staff"]

    # Who is this? Another photo of him finds him, with his thumbnail and the similarity.
    page.open("/ui/who/")
    page.find("#id_photo").send_keys(str(shared_data_path("lfw-dev", "Adam_Sandler", "Adam_Sandler_0002.jpg")))
    page.find("form[data-upload] button[type=submit]").click()
    page.wait_for("#who-result")
    first = page.find(".who-face .candidates li")
    assert "Adam Sandler" in first.text and "similarity" in first.text
    assert page.driver.execute_script("return arguments[0].naturalWidth", first.find_element("css selector", "img")) == 96
    page.screenshot("who.png")

    # Delete him (the confirmation says biometric data will be erased): he is gone from the list and the search.
    first.find_element("css selector", "a").click()
    page.wait_for_text("h1", "Adam Sandler")
    page.find("a.button.danger").click()
    page.wait_for_text("h1", "Delete Adam Sandler?")
    assert "biometric data" in page.text()
    page.find("form button.danger").click()
    page.wait_for_text("h1", "People")
    assert "Deleted Adam Sandler" in page.text()
    assert "Adam Sandler" not in page.find("table").text
    page.open("/ui/who/")
    page.find("#id_photo").send_keys(str(shared_data_path("lfw-dev", "Adam_Sandler", "Adam_Sandler_0002.jpg")))
    page.find("form[data-upload] button[type=submit]").click()
    page.wait_for("#who-result")
    assert "Enrol as new person" in page.find("#who-result").text


def test_a_camera_shot_is_uploaded_with_the_photos_and_flagged_when_it_has_no_face(page):
    log_in(page)
    page.open("/ui/enrol/")
    page.wait_until(lambda: page.find("#camera").is_displayed())  # offered once the browser lists its (fake) camera
    page.find("#camera-start").click()
    page.wait_for("#camera video:not([hidden])")
    page.driver.execute_script(
        "const v = document.querySelector('#camera video');"
        "return new Promise(r => v.readyState >= 2 ? r() : v.addEventListener('loadeddata', r));")
    page.find("#camera-shoot").click()
    page.wait_for_text("#camera-status", "1 photo(s) ready.")
    page.find("#upload-form button[type=submit]").click()
    page.wait_for(".photo-result")
    result = page.find(".photo-result").text
    assert "camera-1.jpg" in result and "No face found in this photo." in result


def test_a_failed_upload_says_so_and_keeps_the_chosen_photos(page):
    log_in(page)
    page.open("/ui/enrol/")
    page.find("#id_photos").send_keys(str(data_path("samples", "astronaut.jpg")))
    page.driver.execute_script("document.getElementById('upload-form').setAttribute('action', 'http://127.0.0.1:9/')")  # nothing listens
    page.find("#upload-form button[type=submit]").click()
    page.wait_for_text("#upload-form .upload-status", "The upload failed")
    assert page.driver.execute_script("return document.getElementById('id_photos').files.length") == 1
    assert page.find("#upload-form button[type=submit]").is_enabled()

"""The operator pages in a real browser: headless Chromium (Debian's `chromium` + `chromium-driver`) driven by
Selenium against a live server with the real models and database.

The browser is installed on first use where it can be (root with apt-get); elsewhere these tests skip and say
why. Screenshots of the enrol and 'Who is this?' pages go to var/screenshots/ (git-ignored).
"""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings

from tests.conftest import data_path, shared_data_path

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
SCREENSHOTS = settings.BASE_DIR / "var" / "screenshots"
PASSWORD = "a long pass phrase 1"
WIDE, NARROW = (1280, 800), (390, 844)


def install_chromium() -> str:
    """'' once /usr/bin/chromium and /usr/bin/chromedriver are there (installing them with apt-get when we are
    root), else why they are not."""
    if CHROMIUM.exists() and CHROMEDRIVER.exists():
        return ""
    if not shutil.which("apt-get") or os.geteuid() != 0:
        return "headless Chromium is not installed and cannot be installed here (needs root and apt-get): apt-get install chromium chromium-driver"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    command = ["apt-get", "install", "-y", "--no-install-recommends", "chromium", "chromium-driver"]
    if subprocess.run(command, env=env, capture_output=True, timeout=1200).returncode != 0:
        subprocess.run(["apt-get", "update"], env=env, capture_output=True, timeout=600)
        result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=1200)
        if result.returncode != 0:
            return f"apt-get could not install chromium and chromium-driver: {result.stderr.strip()[-500:]}"
    return "" if CHROMIUM.exists() and CHROMEDRIVER.exists() else "chromium was installed but /usr/bin/chromium or /usr/bin/chromedriver is missing"


@pytest.fixture(scope="session")
def browser(django_db_setup, live_server):
    """One Chromium for the session. It depends on the test database and the live server so that it quits before
    they go: its keep-alive connections hold server threads, and those threads hold database sessions."""
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install -r requirements-dev.txt)")
    from selenium.webdriver.chrome.service import Service

    problem = install_chromium()
    if problem:
        pytest.skip(problem)
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    arguments = ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", f"--window-size={WIDE[0]},{WIDE[1]}",
                 # A fake camera (a test pattern) that needs no permission prompt, for the enrol page's capture.
                 "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream")
    for argument in arguments:
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(60)
    set_viewport(driver, *WIDE)
    yield driver
    driver.quit()


@pytest.fixture
def page(browser, live_server, django_user_model, models_ready):
    """The browser, signed out, with a staff account to log in with and helpers bound to the live server."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait

    django_user_model.objects.create_user("operator", password=PASSWORD, is_staff=True)
    browser.delete_all_cookies()
    set_viewport(browser, *WIDE)

    class Page:
        driver = browser

        def open(self, path):
            browser.get(live_server.url + path)

        def find(self, css):
            return browser.find_element(By.CSS_SELECTOR, css)

        def find_all(self, css):
            return browser.find_elements(By.CSS_SELECTOR, css)

        def wait_for(self, css, timeout=60):
            return WebDriverWait(browser, timeout).until(EC.presence_of_element_located((By.CSS_SELECTOR, css)))

        def wait_for_text(self, css, text, timeout=60):
            WebDriverWait(browser, timeout).until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, css), text))

        def text(self):
            return self.find("body").text

        def fits_the_width(self) -> bool:
            return browser.execute_script("return document.documentElement.scrollWidth <= window.innerWidth + 1")

        def screenshot(self, name):
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            browser.save_screenshot(str(SCREENSHOTS / name))

    return Page()


def set_viewport(driver, width, height):
    """Make the page's viewport (not the window around it) width × height CSS pixels."""
    driver.set_window_size(width, height)
    inner = driver.execute_script("return [window.innerWidth, window.innerHeight]")
    driver.set_window_size(2 * width - inner[0], 2 * height - inner[1])


def log_in(page):
    page.open("/ui/")
    page.wait_for("#id_username").send_keys("operator")
    page.find("#id_password").send_keys(PASSWORD)
    page.find("form button[type=submit]").click()
    page.wait_for_text("h1", "People")


def test_operator_logs_in_enrols_a_person_finds_them_with_another_photo_and_deletes_them(page):
    from enrollment import people
    from enrollment.models import Person

    people.create_watchlist(name="staff")
    log_in(page)

    # Enrol Adam Sandler from one photo: the face is boxed, picked, the details typed, saved.
    page.open("/ui/enrol/")
    page.find("#id_photos").send_keys(str(shared_data_path("lfw-dev", "Adam_Sandler", "Adam_Sandler_0001.jpg")))
    page.find("#upload-form button[type=submit]").click()
    page.wait_for(".photo-result .box")
    assert "sharpness" in page.find(".photo-result").text
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


@pytest.mark.parametrize("size", [WIDE, NARROW], ids=["1280x800", "phone"])
def test_every_page_fits_the_screen_width(page, size):
    log_in(page)
    set_viewport(page.driver, *size)
    for path in ("/ui/people/", "/ui/enrol/", "/ui/who/", "/ui/pending/"):
        page.open(path)
        page.wait_for("main h1")
        assert page.fits_the_width(), f"{path} scrolls sideways at {size[0]}x{size[1]}"


def test_a_camera_shot_is_uploaded_with_the_photos_and_flagged_when_it_has_no_face(page):
    log_in(page)
    page.open("/ui/enrol/")
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

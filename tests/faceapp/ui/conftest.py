"""Fixtures of the operator page tests: a staff account, signed in; for the browser tests, headless Chromium
(Debian's `chromium` + `chromium-driver` through Selenium) against a live server, with axe-core to check each page."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import threading
from pathlib import Path

import pytest
from django.conf import settings


@pytest.fixture
def staff(django_user_model):
    return django_user_model.objects.create_user("operator", password="a long pass phrase 1", is_staff=True)


@pytest.fixture
def operator(client, staff):
    client.force_login(staff)
    return client


def req_ids_on(page: str) -> list[str]:
    return re.findall(r'name="req_id" value="([0-9a-f]+)"', page)


# --- The browser ---------------------------------------------------------------------------------

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
SCREENSHOTS = settings.BASE_DIR / "var" / "screenshots"
DOCS_SCREENSHOTS = settings.BASE_DIR / "docs" / "ui"
AXE = Path(__file__).resolve().parent / "vendor" / "axe-core-4.14.1" / "axe.min.js"
NO_CAMERA = """
navigator.mediaDevices.enumerateDevices = () => Promise.resolve([]);
navigator.mediaDevices.getUserMedia = () => Promise.reject(new DOMException("Requested device not found", "NotFoundError"));
"""
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
    driver.set_script_timeout(120)
    set_viewport(driver, *WIDE)
    yield driver
    driver.quit()


@pytest.fixture
def page(browser, live_server, django_user_model, models_ready):
    """The browser, signed out, with a staff account to log in with and helpers bound to the live server."""
    from selenium.common.exceptions import WebDriverException
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

        def wait_for(self, css, timeout=120):
            return WebDriverWait(browser, timeout).until(EC.presence_of_element_located((By.CSS_SELECTOR, css)))

        def wait_for_text(self, css, text, timeout=120):
            # While a form's POST loads the next page, the element found may leave the document between Chromium's
            # steps ("Node with given id does not belong to the document"): look again, until the text is there.
            WebDriverWait(browser, timeout, ignored_exceptions=(WebDriverException,)).until(
                EC.text_to_be_present_in_element((By.CSS_SELECTOR, css), text))

        def text(self):
            return self.find("body").text

        def fits_the_width(self) -> bool:
            return browser.execute_script("return document.documentElement.scrollWidth <= window.innerWidth + 1")

        def screenshot(self, name):
            """var/screenshots/NAME; with FACEAPP_UI_SCREENSHOTS=docs also a small copy (PNG, 64 colours) in docs/ui/."""
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            browser.save_screenshot(str(SCREENSHOTS / name))
            if os.environ.get("FACEAPP_UI_SCREENSHOTS") == "docs":
                from PIL import Image

                DOCS_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
                with Image.open(SCREENSHOTS / name) as shot:
                    shot.convert("RGB").quantize(colors=64, method=Image.Quantize.MEDIANCUT).save(DOCS_SCREENSHOTS / name, optimize=True)

        def axe(self) -> list[dict]:
            """axe-core's serious and critical violations on the page as it is now (WCAG 2.x A/AA and best practices)."""
            browser.execute_script(AXE.read_text(encoding="utf-8"))
            result = browser.execute_async_script(
                "const done = arguments[arguments.length - 1];"
                "axe.run(document, {resultTypes: ['violations']}).then(r => done(r.violations)).catch(e => done([{id: 'axe-error', impact: 'critical', help: String(e), nodes: []}]));")
            return [
                {"id": v["id"], "impact": v["impact"], "help": v["help"], "nodes": [n["target"] for n in v["nodes"]][:5]}
                for v in result if v.get("impact") in ("serious", "critical")
            ]

        added_scripts: list[str] = []

        def without_camera(self):
            """From the next page on (to the end of the test), the browser has no camera: no video input is listed."""
            added = browser.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": NO_CAMERA})
            self.added_scripts.append(added["identifier"])

        def wait_until(self, condition, timeout=120, message=""):
            return WebDriverWait(browser, timeout, poll_frequency=0.1).until(lambda driver: condition(), message)

    shown = Page()
    yield shown
    for identifier in shown.added_scripts:
        browser.execute_cdp_cmd("Page.removeScriptToEvaluateOnNewDocument", {"identifier": identifier})


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
    page.wait_for("header nav")


# --- The background queue ----------------------------------------------------------------------------


def run_queued_tasks() -> int:
    """What a django-q2 worker does with the ORM broker's queue: run every task waiting, in order → how many ran."""
    from django.utils.module_loading import import_string
    from django_q.brokers import get_broker
    from django_q.signing import SignedPackage

    broker = get_broker()
    ran = 0
    for ack_id, payload in broker.dequeue() or []:
        task = SignedPackage.loads(payload)
        func = import_string(task["func"]) if isinstance(task["func"], str) else task["func"]
        func(*task["args"], **task["kwargs"])
        broker.acknowledge(ack_id)
        ran += 1
    return ran


@pytest.fixture
def queue_worker(transactional_db):
    """A worker thread taking tasks from django-q2's queue (the ORM broker in the test database) while the test runs,
    as `manage.py qcluster` does beside the server."""
    from django.db import connection

    stop = threading.Event()
    failures: list[BaseException] = []

    def work():
        try:
            while not stop.is_set():
                if not run_queued_tasks():
                    stop.wait(0.2)
        except BaseException as exc:  # reported by the test, not lost in the thread
            failures.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=work, name="test-qcluster", daemon=True)
    thread.start()
    yield failures
    stop.set()
    thread.join(timeout=120)
    assert not failures, failures


@pytest.fixture(autouse=True)
def local_outbound_allowed(settings, tmp_path_factory):
    """Cameras and webhook receivers of these pages' tests are on 127.0.0.1 (videostreams/outbound.py)."""
    from tests.videostreams.conftest import allow_local_outbound

    allow_local_outbound(settings, tmp_path_factory)

"""The operator pages under production's Content-Security-Policy (faceapp/csp.py), in headless Chromium: every page
and its actions (uploads with their data: previews, the live refreshes, the camera snapshot's blob:) work, and the
browser reports no CSP violation."""
from __future__ import annotations

import pytest

from .conftest import log_in
from .test_browser_pages import pages, world  # noqa: F401 (world: the fixture)

pytestmark = pytest.mark.django_db(transaction=True)


def csp_violations(driver) -> list[str]:
    return [entry["message"] for entry in driver.get_log("browser") if "Content Security Policy" in entry["message"]]


def test_every_page_works_under_the_production_csp(page, world, settings):  # noqa: F811
    settings.FACEAPP_CSP = True
    log_in(page)
    csp_violations(page.driver)  # empty the log
    problems = {}
    for name, path, act in pages(world):
        page.open(path)
        page.wait_for("main h1")
        header_present = page.driver.execute_script(
            "return fetch(location.href, {method: 'HEAD'}).then(r => r.headers.get('Content-Security-Policy'))")
        if not header_present:
            problems[name] = "no Content-Security-Policy header"
        if act is not None:
            act(page)
        found = csp_violations(page.driver)
        if found:
            problems[name] = found
    assert problems == {}

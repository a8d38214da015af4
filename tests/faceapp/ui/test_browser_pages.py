"""Every operator page in headless Chromium at 1280×800 and on a phone (390×844): it loads, fits the width, and
axe-core finds no serious or critical accessibility violation (in light mode, and in dark mode at 1280×800).
Screenshots go to var/screenshots/ (with FACEAPP_UI_SCREENSHOTS=docs, small copies to docs/ui/)."""
from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from tests.conftest import data_path, read_bytes

from .conftest import NARROW, WIDE, log_in, set_viewport

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def world(models_ready):
    """Somebody of everything a page shows: people and faces, a watchlist, cameras with events, a rule with its
    deliveries, a pending enrolment and a finished bulk upload."""
    from types import SimpleNamespace

    from django.core.files.base import ContentFile

    from enrollment import people, services
    from enrollment import pending as pending_enrolments
    from enrollment.models import ImportJob, ImportJobPhoto
    from videostreams.models import Camera, Event, Rule, WebhookDelivery

    staff = people.create_watchlist(name="staff", description="Everyone working here")
    obama = services.enrol_person(name="Barack Obama", birthdate=dt.date(1961, 8, 4), email="barack@example.org",
                                  image=read_bytes("samples", "obama.jpg"), image_name="obama.jpg", watchlists=[staff])
    services.add_face(obama, services.sample_from_image(read_bytes("samples", "obama2.jpg"), source_name="obama2.jpg"))
    biden = services.enrol_person(name="Joe Biden", birthdate=None, image=read_bytes("samples", "biden.jpg"), image_name="biden.jpg")
    pending = pending_enrolments.hold_faces(read_bytes("samples", "rose_leslie_img1.jpg")).faces[0].pending
    door = Camera.objects.create(name="front door", source="rtsp://127.0.0.1:9/door", status=Camera.Status.RUNNING,
                                 frames_per_second=4.8, faces_per_second=0.6, status_updated_at=timezone.now(), last_frame_at=timezone.now())
    Camera.objects.create(name="loading bay", source="rtsp://127.0.0.1:9/bay", status=Camera.Status.RECONNECTING,
                          last_error="lost the stream (read failed): rtsp://127.0.0.1:9/bay", status_updated_at=timezone.now(), reconnects=3)
    crop = obama.faces.first()
    events = []
    for minutes, person in ((1, obama), (3, None), (7, biden)):
        at = timezone.now() - dt.timedelta(minutes=minutes)
        event = Event(camera=door, track_id=str(minutes), first_seen=at, last_seen=at + dt.timedelta(seconds=5), person=person,
                      matched=person is not None, similarity=0.81 if person else None, quality=0.74, quality_details=crop.quality,
                      box={"x": 40, "y": 30, "width": 90, "height": 90}, frame_width=250, frame_height=250, closed=True)
        face_jpeg = crop.crop.open("rb").read()
        event.crop.save("c.jpg", ContentFile(face_jpeg), save=False)
        event.thumbnail.save("t.jpg", ContentFile(crop.thumbnail.open("rb").read()), save=False)
        event.frame.save("f.jpg", ContentFile(read_bytes("lfw-dev", "Adam_Sandler", "Adam_Sandler_0001.jpg")), save=False)
        event.save()
        events.append(event)
    rule = Rule.objects.create(name="Tell the front desk", webhook_url="http://127.0.0.1:9/hook", trigger=Rule.Trigger.MATCH)
    rule.watchlists.add(staff)
    WebhookDelivery.objects.create(rule=rule, event=events[0], url=rule.webhook_url, payload={}, status="delivered", attempts=1,
                                   response_status=200, delivered_at=timezone.now())
    WebhookDelivery.objects.create(rule=rule, event=events[2], url=rule.webhook_url, payload={}, status="failed", attempts=5,
                                   last_error="ConnectionRefusedError: [Errno 111] Connection refused")
    job = ImportJob.objects.create(name="staff-photos.zip", status=ImportJob.Status.DONE, total=3, next_index=3,
                                   counts={"imported": 2, "no_face": 1}, people_created=1, finished_at=timezone.now())
    for index, (path, reason, detail) in enumerate([("Anna_Smith/1.jpg", "imported", ""), ("Anna_Smith/2.jpg", "imported", ""),
                                                    ("Anna_Smith/3.jpg", "no_face", "no face detected")]):
        ImportJobPhoto.objects.create(job=job, index=index, path=path, person_name="Anna Smith", reason=reason, detail=detail)
    from enrollment import identification

    stranger = [identification.identify(read_bytes("samples", n), keep_sighting=True).sightings for n in ("astronaut.jpg", "two_people.jpg")]
    identification.identify(read_bytes("samples", "obama-480p.jpg"), keep_sighting=True)  # (a sighting on Obama's timeline)
    group = stranger[0][0].unknown_group
    return SimpleNamespace(obama=obama, biden=biden, staff=staff, pending=pending, door=door, events=events, rule=rule, job=job,
                           group=group)


def pages(world):
    """(screenshot name, path, what to do on the page first) for every page."""
    def upload(form, *photos):
        def act(page):
            page.find(f"{form} input[type=file]").send_keys("\n".join(str(data_path(*p)) for p in photos))
            page.find(f"{form} button[type=submit]").click()
            page.wait_for(".photo-result, #who-result")
        return act

    def search(form, photo):
        def act(page):
            page.find(f"{form} input[type=file]").send_keys(str(data_path(*photo)))
            page.find(f"{form} button[type=submit]").click()
            page.wait_for("#sightings")
        return act

    return [
        ("dashboard", "/ui/", None),
        ("people", "/ui/people/?sort=-faces", None),
        ("person", f"/ui/people/{world.obama.id}/", None),
        ("person-add", f"/ui/people/{world.biden.id}/", upload("#add-photos", ("samples", "obama_and_biden.jpg"))),
        ("person-delete", f"/ui/people/{world.biden.id}/delete/", None),
        ("enrol", "/ui/enrol/", upload("#upload-form", ("samples", "two_people.jpg"))),
        ("who", "/ui/who/", upload("#who-form", ("samples", "obama_and_biden.jpg"))),
        ("pending", "/ui/pending/", None),
        ("events", "/ui/events/", None),
        ("event", f"/ui/events/{world.events[0].id}/", None),
        ("cameras", "/ui/cameras/", None),
        ("camera", f"/ui/cameras/{world.door.id}/", None),
        ("watchlists", "/ui/watchlists/", None),
        ("watchlist", f"/ui/watchlists/{world.staff.id}/?q=biden", None),
        ("rules", "/ui/rules/", None),
        ("rule", f"/ui/rules/{world.rule.id}/", None),
        ("import", "/ui/import/", None),
        ("import-job", f"/ui/import/{world.job.id}/", None),
        ("unknowns", "/ui/unknowns/", None),
        ("unknown", f"/ui/unknowns/{world.group.pk}/", None),
        ("timeline", f"/ui/people/{world.obama.id}/timeline/?camera=", None),
        ("unknown-timeline", f"/ui/unknowns/{world.group.pk}/timeline/", None),
        ("sightings-search", "/ui/sightings/search/", search("#sightings-search", ("samples", "astronaut.jpg"))),
        ("not-found", "/ui/no-such-page/", None),
    ]


def check_every_page(page, world, size, *, dark=False, screenshots=True):
    problems = {}
    for name, path, act in pages(world):
        page.open(path)
        page.wait_for("main h1")
        if act is not None:
            act(page)
        page.driver.execute_script("window.scrollTo(0, 0)")
        if not page.fits_the_width():
            problems[name] = f"scrolls sideways at {size[0]}x{size[1]}"
            continue
        violations = page.axe()
        if violations:
            problems[name] = violations
        if screenshots:
            page.screenshot(f"{name}-{'wide' if size == WIDE else 'phone'}{'-dark' if dark else ''}.png")
    return problems


@pytest.mark.parametrize("size", [WIDE, NARROW], ids=["1280x800", "390x844"])
def test_every_page_fits_the_screen_and_has_no_serious_accessibility_violation(page, world, size):
    log_in(page)
    set_viewport(page.driver, *size)
    try:
        problems = check_every_page(page, world, size)
        page.open("/accounts/logout/")
        page.driver.delete_all_cookies()
        page.open("/accounts/login/")
        page.wait_for("main h1")
        login = page.axe()
        if login:
            problems["login"] = login
        page.screenshot(f"login-{'wide' if size == WIDE else 'phone'}.png")
    finally:
        set_viewport(page.driver, *WIDE)
    assert problems == {}


def test_every_page_in_dark_mode_has_no_serious_accessibility_violation(page, world):
    log_in(page)
    page.driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": [{"name": "prefers-color-scheme", "value": "dark"}]})
    try:
        assert page.driver.execute_script("return matchMedia('(prefers-color-scheme: dark)').matches")
        page.open("/ui/")
        page.wait_for("main h1")
        background = page.driver.execute_script("return getComputedStyle(document.body).backgroundColor")
        assert background == "rgb(13, 17, 23)", background  # the dark palette follows the system setting
        assert check_every_page(page, world, WIDE, dark=True, screenshots=False) == {}
        page.screenshot("dashboard-wide-dark.png")
    finally:
        page.driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": []})

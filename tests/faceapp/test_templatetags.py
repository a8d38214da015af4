"""The operator pages' template tags: times for the browser's zone, quality badges, sortable headers."""
from __future__ import annotations

import datetime as dt

from django.template import Context, Template
from django.test import RequestFactory


def render(text: str, **context) -> str:
    return Template("{% load ui %}" + text).render(Context(context))


def test_local_time_is_a_time_element_in_utc_for_the_browser_to_show_in_its_zone():
    when = dt.datetime(2026, 12, 3, 17, 5, 9, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    assert render("{% local_time when %}", when=when) == '<time datetime="2026-12-03T16:05:09Z" data-local="datetime">2026-12-03 16:05 UTC</time>'
    assert render('{% local_time when "time" %}', when=when).endswith(">16:05:09 UTC</time>")
    assert render("{% local_time when %}", when=None) == ""


def test_quality_badge_says_good_fair_or_poor_with_the_reason_on_hover():
    badge = render("{% quality_badge q %}", q={"face_size": 30, "detection_score": 0.99, "sharpness": 50.0, "yaw": 0.0, "pitch": 0.0})
    assert badge.startswith('<span class="badge poor" title="small face (30 px, under 40): size 30 px')
    assert '<span class="sr-only"> quality: small face (30 px, under 40)</span>' in badge


def test_sort_header_toggles_the_order_and_keeps_the_other_parameters():
    request = RequestFactory().get("/ui/people/", {"q": "ann", "sort": "faces", "page": "3"})
    html = render('{% sort_header "faces" "Faces" %}{% sort_header "name" "Name" %}', request=request)
    assert html == ('<th aria-sort="ascending"><a href="?q=ann&amp;sort=-faces">Faces</a></th>'
                    '<th><a href="?q=ann&amp;sort=name">Name</a></th>')

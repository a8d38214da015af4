"""Template tags of the operator pages: local times, quality badges, sortable column headers, face boxes."""
from __future__ import annotations

import datetime as dt

from django import template
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode

from recognition import quality as face_quality

register = template.Library()


@register.simple_tag
def local_time(value, style: str = "datetime"):
    """<time> in UTC for the server, shown in the browser's own zone by ui.js (style: datetime, seconds, time, date)."""
    if not value:
        return ""
    if isinstance(value, dt.datetime):
        utc = value.astimezone(dt.timezone.utc) if timezone.is_aware(value) else value
        text = utc.strftime({"time": "%H:%M:%S", "date": "%Y-%m-%d", "seconds": "%Y-%m-%d %H:%M:%S"}.get(style, "%Y-%m-%d %H:%M")) + " UTC"
        return format_html('<time datetime="{}" data-local="{}">{}</time>', utc.isoformat().replace("+00:00", "Z"), style, text)
    return str(value)


@register.simple_tag
def quality_badge(quality: dict | None):
    """good / fair / poor, with the reasons on hover (title) and for screen readers."""
    if not quality:
        return ""
    grade, reasons = face_quality.grade(quality)
    details = (f"size {quality.get('face_size')} px, detection {quality.get('detection_score')}, "
               f"sharpness {quality.get('sharpness')}, yaw {quality.get('yaw')}°, pitch {quality.get('pitch')}°")
    why = "; ".join(reasons) if reasons else "nothing to improve"
    return format_html('<span class="badge {}" title="{}: {}">{}<span class="sr-only"> quality: {}</span></span>',
                       grade, why, details, grade, why)


@register.simple_tag(takes_context=True)
def sort_header(context, key: str, label: str, css: str = ""):
    """A column header (<th>) that sorts the list by `key` (again: the other way), keeping the other query parameters."""
    request = context["request"]
    current = request.GET.get("sort") or context.get("default_sort", "")
    descending = current == f"-{key}"
    active = current in (key, f"-{key}")
    params = {k: v for k, v in request.GET.items() if k not in ("sort", "page")}
    params["sort"] = key if descending or not active else f"-{key}"
    sort = format_html(' aria-sort="{}"', "descending" if descending else "ascending") if active else ""
    return format_html('<th{}{}><a href="?{}">{}</a></th>', format_html(' class="{}"', css) if css else "", sort, urlencode(params), label)


@register.simple_tag
def face_boxes(faces, unknown_red: bool = False):
    """An SVG over a photo with each face's box (percent of the photo) and its number: no inline styles."""
    def css(face):
        classes = []
        if face.problems:
            classes.append("poor")
        if unknown_red and face.decision is not None and not face.decision.named:
            classes.append("unknown")
        return " ".join(classes)

    shapes = format_html_join(
        "", '<rect class="{}" x="{}%" y="{}%" width="{}%" height="{}%" rx="3"></rect><text x="{}%" y="{}%" dy="-4">{}</text>',
        ((css(f), f.box["left"], f.box["top"], f.box["width"], f.box["height"], f.box["left"], max(f.box["top"], 4), f.number)
         for f in faces),
    )
    return format_html('<svg aria-hidden="true" focusable="false">{}</svg>', shapes)


@register.filter
def percent(value, digits: int = 0):
    """0.734 → '73%'."""
    if value is None:
        return ""
    return f"{100 * float(value):.{int(digits)}f}%"


NAV_SECTIONS = {
    "person": "people", "people": "people", "face": "people", "enrol": "enrol", "who": "who", "pending": "pending",
    "event": "events", "events": "events", "camera": "cameras", "cameras": "cameras", "watchlist": "watchlists",
    "watchlists": "watchlists", "rule": "rules", "rules": "rules", "import": "imports", "imports": "imports",
    "dashboard": "dashboard", "index": "dashboard", "unknowns": "unknowns", "unknown": "unknowns",
    "sightings": "sightings", "sighting": "unknowns",
}


@register.filter
def nav_section(url_name: str | None) -> str:
    """The menu entry a page belongs to: 'camera-edit' → 'cameras'."""
    return NAV_SECTIONS.get((url_name or "").split("-")[0], "")


@register.filter
def person_estimates(person) -> dict | None:
    """A listed person's estimates (enrollment.people.people annotates them) in _attribute_badges.html's shape."""
    values = {"gender": getattr(person, "estimated_gender", None), "age": getattr(person, "estimated_age", None)}
    return values if any(v is not None for v in values.values()) else None

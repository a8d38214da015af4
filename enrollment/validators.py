"""Validators of a person's details shared by the API, the operator pages, the admin and imports."""
from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.utils import timezone

# Nobody photographed was born much before photography (1826-1839): an earlier date is a typo or a placeholder
# (0001-01-01), never a birthdate. 1800 still admits a photo archive's oldest sitters.
EARLIEST_BIRTHDATE = dt.date(1800, 1, 1)


def validate_birthdate(value: dt.date | None) -> None:
    """A birthdate from 1800-01-01 to today (the server's date, plus a day for time zones ahead of it)."""
    if value is None:
        return
    latest = timezone.localdate() + dt.timedelta(days=1)
    if not EARLIEST_BIRTHDATE <= value <= latest:
        raise ValidationError(f"A birthdate must be between {EARLIEST_BIRTHDATE.isoformat()} and today.", code="birthdate_range")

"""What an import reads: the photos of a collection and whose they are, from a folder per person or from a CSV
manifest. Each becomes an `Entry`; a row that cannot be imported at all comes back with its `problem`, so the
import reports it instead of stopping. Used by enrollment.importing (`manage.py import_faces`, the UI's upload)."""
from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from .validators import validate_birthdate


@dataclass(frozen=True)
class Entry:
    """One photo to import and whose it is."""

    path: Path
    name: str
    email: str | None = None
    birthdate: dt.date | None = None
    external_id: str | None = None
    watchlists: tuple[str, ...] = ()
    line: int | None = None  # the manifest line it came from
    problem: str | None = None  # why this row cannot be imported at all (a bad manifest row)


def entries_from_folder(root: Path) -> list[Entry]:
    """Sub-folder per person (underscores in its name become spaces), every file in it a photo.

    Files directly in `root` belong to nobody and come back as bad rows. Hidden files are ignored.
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"{root} is not a folder")
    entries = []
    for path in sorted(p for p in root.iterdir() if not p.name.startswith(".")):
        if path.is_file():
            entries.append(Entry(path=path, name="", problem="not in a person's folder"))
        elif path.is_dir():
            name = " ".join(path.name.replace("_", " ").split())
            entries += [Entry(path=f, name=name) for f in sorted(path.iterdir()) if f.is_file() and not f.name.startswith(".")]
    return entries


_COLUMN_NAMES = {
    "path": ("image", "image_path", "path", "file", "photo", "filename"),
    "name": ("name", "full_name"),
    "email": ("email", "e_mail"),
    "birthdate": ("birthdate", "birth_date", "date_of_birth", "dob"),
    "external_id": ("external_id", "externalid", "employee_id"),
    "watchlists": ("watchlists", "watchlist"),
}
_POSITIONAL = ("path", "name", "email", "birthdate", "external_id", "watchlists")


def entries_from_manifest(manifest: Path) -> list[Entry]:
    """A CSV file: image path (relative to the manifest's folder, or absolute), name, and optionally
    email, birthdate (YYYY-MM-DD), external id, watchlists (separated by ';' or '|').

    A header row naming the columns (e.g. `image,name,email,birthdate,external_id,watchlists`) lets them
    come in any order; without one they are taken in that order. Blank lines and lines starting with
    '#' are skipped. A row that cannot be imported comes back with its `problem`.
    """
    manifest = Path(manifest)
    base = manifest.resolve().parent
    with open(manifest, newline="", encoding="utf-8-sig") as handle:
        rows = [(number, row) for number, row in enumerate(csv.reader(handle), start=1)]
    rows = [(n, [c.strip() for c in r]) for n, r in rows if any(c.strip() for c in r) and not r[0].lstrip().startswith("#")]
    columns = list(_POSITIONAL)
    if rows and _header(rows[0][1]) is not None:
        columns = _header(rows[0][1])
        rows = rows[1:]
    entries = []
    for number, row in rows:
        values = {column: (row[i] if i < len(row) else "") for i, column in enumerate(columns) if column}
        entries.append(_entry_from_row(values, base, number))
    return entries


def _header(cells: list[str]) -> list[str | None] | None:
    lookup = {alias: column for column, aliases in _COLUMN_NAMES.items() for alias in aliases}
    columns = [lookup.get("_".join(c.lower().replace("-", " ").split())) for c in cells]
    return columns if "path" in columns and "name" in columns else None


def _entry_from_row(values: dict[str, str], base: Path, number: int) -> Entry:
    raw_path, name = values.get("path", ""), " ".join(values.get("name", "").split())
    path = (base / raw_path) if raw_path else base
    problems = []
    if not raw_path:
        problems.append("no image path")
    if not name:
        problems.append("no name")
    email = values.get("email") or None
    if email:
        try:
            validate_email(email)
        except ValidationError:
            problems.append(f"bad email {email!r}")
    birthdate = None
    if values.get("birthdate"):
        try:
            birthdate = dt.date.fromisoformat(values["birthdate"])
            validate_birthdate(birthdate)
        except ValueError:
            problems.append(f"bad birthdate {values['birthdate']!r} (use YYYY-MM-DD)")
        except ValidationError:
            birthdate = None
            problems.append(f"bad birthdate {values['birthdate']!r} (from 1800-01-01 to today)")
    watchlists = tuple(w.strip() for w in values.get("watchlists", "").replace("|", ";").split(";") if w.strip())
    return Entry(
        path=path,
        name=name,
        email=email,
        birthdate=birthdate,
        external_id=values.get("external_id") or None,
        watchlists=watchlists,
        line=number,
        problem="; ".join(problems) or None,
    )

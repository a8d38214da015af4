"""Export and import of people, for backup and migration between installations (JSON lines).

The file is UTF-8 JSON, one object per line:

  {"type": "header", "format": "faceapp-people", "version": 1, "exported_at": "...", "embedding_model": "facenet:…",
   "with_embeddings": true, "with_source_images": false}
  {"type": "watchlist", "id": "…", "name": "…", "description": "…"}                                  (each watchlist)
  {"type": "person", "id": "…", "name": "…", "email": …, "birthdate": "YYYY-MM-DD" | null, "external_id": …,
   "metadata": {…}, "watchlists": ["<watchlist id>", …], "created_at": "…",
   "faces": [{"id": "…", "created_at": "…", "source": "…", "source_sha256": "…", "box": {…}, "landmarks": […],
              "quality": {…}, "crop_jpeg": "<base64>", "embedding_model": "…",
              "embedding": [512 floats]            (with --with-embeddings)
              "source_image": "<base64>"           (with --with-source-images)}]}

Each face carries its 160×160 crop (JPEG, base64) in its line, so one file holds everything; thumbnails
are made again from the crop. Importing keeps every id. A vector is used when it was exported and made by
this installation's embedding model; otherwise the face is embedded again from its crop. Re-importing is
idempotent: people, faces and watchlists that exist (by id) are left as they are and only what is
missing is added. Each person is stored in one transaction with its faces.
"""
from __future__ import annotations

import base64
import datetime as dt
import io
import json
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO

import numpy as np
from django.db import transaction
from django.utils import timezone
from PIL import Image

from recognition import embedders
from recognition.exceptions import EmailTaken, ExternalIdTaken

from . import services
from .file_journal import FileJournal
from .importing import journal_dir
from .models import Face, Person, Watchlist

FORMAT = "faceapp-people"
VERSION = 1


class ImportFileError(ValueError):
    """The file is not a faceapp people export this version can read."""


# --- Export ------------------------------------------------------------------------------------


def export_lines(*, with_embeddings: bool = False, with_source_images: bool = False, people=None) -> Iterator[dict]:
    """The export as dicts, header first, then watchlists, then people (with their faces)."""
    yield {
        "type": "header",
        "format": FORMAT,
        "version": VERSION,
        "exported_at": timezone.now().isoformat(),
        "embedding_model": services.current_embedding_model(),
        "with_embeddings": with_embeddings,
        "with_source_images": with_source_images,
    }
    for watchlist in Watchlist.objects.order_by("name"):
        yield {"type": "watchlist", "id": str(watchlist.id), "name": watchlist.name, "description": watchlist.description}
    people = Person.objects.all() if people is None else people
    for person in people.order_by("created_at", "id").prefetch_related("faces", "watchlists").iterator(chunk_size=200):
        yield {
            "type": "person",
            "id": str(person.id),
            "name": person.name,
            "email": person.email,
            "birthdate": person.birthdate.isoformat() if person.birthdate else None,
            "external_id": person.external_id,
            "metadata": person.metadata,
            "watchlists": sorted(str(w.id) for w in person.watchlists.all()),
            "created_at": person.created_at.isoformat(),
            "faces": [_face_dict(face, with_embeddings, with_source_images) for face in person.faces.all()],
        }


def _face_dict(face: Face, with_embeddings: bool, with_source_images: bool) -> dict:
    item = {
        "id": str(face.id),
        "created_at": face.created_at.isoformat(),
        "source": face.source,
        "source_sha256": face.source_sha256,
        "box": face.box,
        "landmarks": face.landmarks,
        "quality": face.quality,
        "embedding_model": face.embedding_model,
        "crop_jpeg": _b64(_read(face.crop)),
    }
    if with_embeddings:
        item["embedding"] = [round(float(x), 7) for x in face.embedding]
    if with_source_images and face.source_image:
        item["source_image"] = _b64(_read(face.source_image))
    return item


def write_export(out: IO[str], *, progress: Callable[[], None] | None = None, **options) -> Counter:
    counts: Counter = Counter()
    for line in export_lines(**options):
        out.write(json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n")
        counts[line["type"]] += 1
        counts["face"] += len(line.get("faces", ()))
        if progress is not None and line["type"] == "person":
            progress()
    return counts


# --- Import ------------------------------------------------------------------------------------


@dataclass
class RestoreSummary:
    counts: Counter = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)


def import_lines(lines: Iterable[str], *, progress: Callable[[], None] | None = None) -> RestoreSummary:
    """Restore an export (an iterable of its lines). Existing ids are kept as they are."""
    summary = RestoreSummary()
    watchlists: dict[str, Watchlist] = {}
    header = None
    journal = FileJournal(journal_dir())
    try:
        for number, raw in enumerate(lines, start=1):
            if not raw.strip():
                continue
            try:
                item = json.loads(raw)
            except ValueError:
                raise ImportFileError(f"line {number} is not JSON") from None
            kind = item.get("type")
            if header is None:
                if kind != "header" or item.get("format") != FORMAT:
                    raise ImportFileError("not a faceapp people export (its first line must be the header)")
                if item.get("version") != VERSION:
                    raise ImportFileError(f"export version {item.get('version')} is not supported (this reads {VERSION})")
                header = item
            elif kind == "watchlist":
                watchlists[item["id"]] = _restore_watchlist(item, summary)
            elif kind == "person":
                _restore_person(item, watchlists, summary, journal, number)
                if progress is not None:
                    progress()
            else:
                summary.problems.append(f"line {number}: unknown type {kind!r}, skipped")
    finally:
        journal.close()
    if header is None:
        raise ImportFileError("the file is empty")
    return summary


def _restore_watchlist(item: dict, summary: RestoreSummary) -> Watchlist:
    existing = Watchlist.objects.filter(id=item["id"]).first() or Watchlist.objects.filter(name=item["name"]).first()
    if existing is not None:
        summary.counts["watchlists existing"] += 1
        return existing
    summary.counts["watchlists created"] += 1
    return Watchlist.objects.create(id=item["id"], name=item["name"], description=item.get("description", ""))


def _restore_person(item: dict, watchlists: dict, summary: RestoreSummary, journal: FileJournal, number: int) -> None:
    model = services.current_embedding_model()
    try:
        with transaction.atomic():
            person = Person.objects.filter(id=item["id"]).first()
            if person is None:
                person = services.create_person(
                    person_id=item["id"],
                    name=item["name"],
                    birthdate=dt.date.fromisoformat(item["birthdate"]) if item.get("birthdate") else None,
                    email=item.get("email"),
                    external_id=item.get("external_id"),
                    metadata=item.get("metadata") or {},
                )
                if item.get("created_at"):
                    Person.objects.filter(id=person.id).update(created_at=item["created_at"])
                created = "people created"
            else:
                created = "people existing"
            lists = [watchlists[w] for w in item.get("watchlists", ()) if w in watchlists]
            if lists:
                person.watchlists.add(*lists)
            existing = set(map(str, Face.objects.filter(id__in=[f["id"] for f in item.get("faces", ())]).values_list("id", flat=True)))
            missing = [f for f in item.get("faces", ()) if f["id"] not in existing]
            vectors = _vectors(missing, model)
            for face, (vector, reembedded) in zip(missing, vectors):
                services.add_face(person, _sample(face, vector, model if reembedded else face["embedding_model"]), journal=journal,
                                  check_duplicates=False)  # restoring exported faces, as they were
                if face.get("created_at"):
                    Face.objects.filter(id=face["id"]).update(created_at=face["created_at"])
                summary.counts["faces re-embedded" if reembedded else "faces restored with their vector"] += 1
            summary.counts["faces existing"] += len(existing)
    except (EmailTaken, ExternalIdTaken) as exc:
        journal.rolled_back()
        summary.counts["people refused"] += 1
        summary.problems.append(f"line {number}: person {item.get('id')} ({item.get('name')}): {exc.message}")
        return
    except Exception as exc:
        journal.rolled_back()
        summary.counts["people refused"] += 1
        summary.problems.append(f"line {number}: person {item.get('id')} ({item.get('name')}): {type(exc).__name__}: {exc}")
        return
    journal.committed()
    summary.counts[created] += 1


def _vectors(faces: list[dict], model: str) -> list[tuple[np.ndarray, bool]]:
    """Each face's vector: the exported one when this installation's model made it, else re-embedded from the crop."""
    out: list[tuple[np.ndarray, bool] | None] = [None] * len(faces)
    again = []
    for k, face in enumerate(faces):
        if face.get("embedding") is not None and face.get("embedding_model") == model:
            out[k] = (np.asarray(face["embedding"], dtype=np.float32), False)
        else:
            again.append(k)
    if again:
        from .reembedding import prepare_from_crop

        chosen = embedders.active()
        inputs = [prepare_from_crop(_crop_array(base64.b64decode(faces[k]["crop_jpeg"])), chosen) for k in again]
        for k, vector in zip(again, chosen.embed(inputs)):
            out[k] = (vector, True)
    return out


def _crop_array(jpeg: bytes) -> np.ndarray:
    from recognition.align import CROP_SIZE

    with Image.open(io.BytesIO(jpeg)) as image:
        rgb = image.convert("RGB")
        if rgb.size != (CROP_SIZE, CROP_SIZE):
            rgb = rgb.resize((CROP_SIZE, CROP_SIZE), Image.Resampling.BILINEAR)
        return np.asarray(rgb, dtype=np.uint8)


def _sample(face: dict, vector: np.ndarray, model: str) -> services.FaceSample:
    source_image = base64.b64decode(face["source_image"]) if face.get("source_image") else None
    return services.FaceSample(
        embedding=vector,
        embedding_model=model,
        crop_jpeg=base64.b64decode(face["crop_jpeg"]),
        box=face.get("box") or {},
        landmarks=face.get("landmarks") or [],
        quality=face.get("quality") or {},
        source=face.get("source", ""),
        source_image=source_image,
        source_sha256=face.get("source_sha256", ""),
        face_id=face["id"],
    )


def _read(field_file) -> bytes:
    with field_file.open("rb") as handle:
        return handle.read()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")

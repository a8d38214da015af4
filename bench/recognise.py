"""recognise_user latency over real HTTP with N enrolled faces (N = 1,000 and 10,000 by default).

Start the server first (`make run`, or `.venv/bin/python manage.py serve`), then:

    .venv/bin/python bench/recognise.py                        # N = 1000 and 10000, 200 requests each
    .venv/bin/python bench/recognise.py --sizes 1000 --requests 100 --url http://127.0.0.1:8000

The gallery is lfw-dev's people (one real photo each, embedded in-process) plus synthetic random unit
vectors up to N; every row it adds is tagged {"bench": true} in Person.metadata and removed at the end
(--keep leaves them). Requests are sequential (one client), each a random lfw-dev photo.
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "faceapp.settings")
DATA = ROOT.parent / "shared" / "data"


def multipart(field: str, filename: str, data: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    body = (
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{filename}\"\r\n"
        f"Content-Type: image/jpeg\r\n\r\n"
    ).encode() + data + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def post_photo(url: str, photo: Path) -> tuple[float, int, dict]:
    import json

    body, content_type = multipart("image", photo.name, photo.read_bytes())
    request = urllib.request.Request(url, data=body, headers={"Content-Type": content_type}, method="POST")
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            payload = response.read()
            status = response.status
    except urllib.error.HTTPError as error:
        payload, status = error.read(), error.code
    elapsed = (time.perf_counter() - started) * 1000
    return elapsed, status, json.loads(payload or b"{}")


def percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://127.0.0.1:8000", help="server address (default http://127.0.0.1:8000)")
    parser.add_argument("--sizes", default="1000,10000", help="gallery sizes in faces, comma-separated (default 1000,10000)")
    parser.add_argument("--requests", type=int, default=200, help="requests per size (default 200)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="keep the bench people afterwards")
    args = parser.parse_args()

    import django

    django.setup()
    import numpy as np
    from tqdm import tqdm

    from enrollment.models import Face, Person
    from enrollment.services import current_embedding_model
    from recognition import pipeline

    model = current_embedding_model()
    rng = np.random.default_rng(args.seed)
    people_dirs = sorted(p for p in (DATA / "lfw-dev").iterdir() if p.is_dir())
    photos = sorted((DATA / "lfw-dev").glob("*/*.jpg"))
    random.seed(args.seed)

    def add_faces(vectors, names):
        persons = [Person(name=n, metadata={"bench": True}) for n in names]
        Person.objects.bulk_create(persons, batch_size=1000)
        Face.objects.bulk_create(
            (Face(person=p, embedding=v.tolist(), embedding_model=model, crop="bench.jpg", thumbnail="bench.jpg") for p, v in zip(persons, vectors)),
            batch_size=1000,
        )

    try:
        existing = Face.objects.filter(person__metadata__bench=True).count()
        if existing == 0:
            vectors, names = [], []
            for folder in tqdm(people_dirs, desc="embedding lfw-dev gallery", unit="person"):
                face = pipeline.analyse_bytes(sorted(folder.glob("*.jpg"))[0].read_bytes()).largest_face()
                if face is not None:
                    vectors.append(face.embedding)
                    names.append(folder.name.replace("_", " "))
            add_faces(vectors, names)
        url = args.url.rstrip("/") + "/api/v1/recognise_user"
        rows = []
        for size in (int(s) for s in args.sizes.split(",")):
            total = Face.objects.count()
            if total < size:
                missing = size - total
                synthetic = rng.standard_normal((missing, 512)).astype(np.float32)
                synthetic /= np.linalg.norm(synthetic, axis=1, keepdims=True)
                add_faces(synthetic, [f"synthetic {i}" for i in range(missing)])
            total = Face.objects.count()
            for photo in random.sample(photos, 5):
                post_photo(url, photo)  # warm-up
            latencies, failures, no_face, matches = [], 0, 0, 0
            for photo in tqdm(random.choices(photos, k=args.requests), desc=f"N={total}", unit="req"):
                elapsed, status, body = post_photo(url, photo)
                latencies.append(elapsed)
                # A photo in which the detector finds no face is a correct 400/601 answer, not a failure.
                if status == 400 and body.get("error_code") == 601:
                    no_face += 1
                else:
                    failures += status != 200
                matches += body.get("message") == "Match found"
            rows.append((total, len(latencies), failures, no_face, matches, latencies))
        print(f"\nrecognise_user over HTTP, one client, {os.cpu_count()} CPUs, server {args.url}")
        print(f"{'faces':>8}{'requests':>10}{'failures':>10}{'no face':>9}{'matched':>9}{'mean ms':>10}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}")
        for total, count, failures, no_face, matched, latencies in rows:
            print(f"{total:>8}{count:>10}{failures:>10}{no_face:>9}{matched:>9}{statistics.mean(latencies):>10.1f}"
                  f"{percentile(latencies, 50):>9.1f}{percentile(latencies, 95):>9.1f}{max(latencies):>9.1f}")
    finally:
        if not args.keep:
            Person.objects.filter(metadata__bench=True).delete()


if __name__ == "__main__":
    main()

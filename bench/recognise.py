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

from _common import Client, lfw_photos, percentile, remove_gallery, seed_gallery


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
    from tqdm import tqdm

    photos = lfw_photos()
    random.seed(args.seed)
    client = Client(args.url)
    rows = []
    try:
        for size in (int(s) for s in args.sizes.split(",")):
            total = seed_gallery(size, seed=args.seed)
            for photo in random.sample(photos, 5):
                client.post_photo("/api/v1/recognise_user", photo.name, photo.read_bytes())  # warm-up
            latencies, failures, no_face, matches = [], 0, 0, 0
            for photo in tqdm(random.choices(photos, k=args.requests), desc=f"N={total}", unit="req"):
                elapsed, status, body, _ = client.post_photo("/api/v1/recognise_user", photo.name, photo.read_bytes())
                latencies.append(elapsed)
                # A photo in which the detector finds no face is a correct 400/601 answer, not a failure.
                if status == 400 and body.get("error_code") == 601:
                    no_face += 1
                else:
                    failures += status != 200
                matches += body.get("message") == "Match found"
            rows.append((total, len(latencies), failures, no_face, matches, latencies))
    finally:
        if not args.keep:
            remove_gallery()
    print(f"\nrecognise_user over HTTP, one client, {os.cpu_count()} CPUs, server {args.url}")
    print(f"{'faces':>8}{'requests':>10}{'failures':>10}{'no face':>9}{'matched':>9}{'mean ms':>10}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}")
    for total, count, failures, no_face, matched, latencies in rows:
        print(f"{total:>8}{count:>10}{failures:>10}{no_face:>9}{matched:>9}{statistics.mean(latencies):>10.1f}"
              f"{percentile(latencies, 50):>9.1f}{percentile(latencies, 95):>9.1f}{max(latencies):>9.1f}")


if __name__ == "__main__":
    main()

"""recognise_user latency with one client, broken down by stage from the server's Server-Timing header.

Start the server first (`make run`), then:

    .venv/bin/python bench/latency.py                 # 60 lfw-dev photos (250x250) and samples/obama-240p..1080p
    .venv/bin/python bench/latency.py --repeat 30

Prints p50 (and p95 for the total) of decode, detect, crop, embed, search, store, the server's whole time
in Django (app) and what the client saw, per kind of photo. Goals: p50 <= 80 ms at 250x250, <= 150 ms at 480p.
"""
from __future__ import annotations

import argparse
import os
import random

from _common import DATA, Client, lfw_photos, percentile

STAGES = ("decode", "detect", "crop", "embed", "search", "store", "app")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://127.0.0.1:8000", help="the running server")
    parser.add_argument("--lfw", type=int, default=60, help="lfw-dev photos to send (default 60)")
    parser.add_argument("--repeat", type=int, default=20, help="requests per sample photo (default 20)")
    args = parser.parse_args()

    client = Client(args.url)
    groups = {"lfw-dev 250x250": random.Random(0).sample(lfw_photos(), args.lfw)}
    for size in ("240p", "480p", "720p", "1080p"):
        groups[f"obama-{size}"] = [DATA / "samples" / f"obama-{size}.jpg"] * args.repeat
    for photo in groups["lfw-dev 250x250"][:5]:
        client.post_photo("/api/v1/recognise_user", photo.name, photo.read_bytes())  # warm-up

    print(f"load average {os.getloadavg()[0]:.1f} (goals, issue 19: p50 ≤ 35 ms at 250x250, ≤ 60 ms at 480p)")
    print(f"{'photos':<18}{'n':>4}" + "".join(f"{s:>9}" for s in STAGES) + f"{'client':>9}{'p95':>8}   (ms, p50 unless noted)")
    for label, photos in groups.items():
        stages = {s: [] for s in STAGES}
        totals = []
        for photo in photos:
            elapsed, status, _, timing = client.post_photo("/api/v1/recognise_user", photo.name, photo.read_bytes())
            if status != 200:
                continue  # no face: not a recognition
            totals.append(elapsed)
            for stage in STAGES:
                stages[stage].append(timing.get(stage, 0.0))
        print(f"{label:<18}{len(totals):>4}" + "".join(f"{percentile(stages[s], 50):>9.1f}" for s in STAGES)
              + f"{percentile(totals, 50):>9.1f}{percentile(totals, 95):>8.1f}")


if __name__ == "__main__":
    main()

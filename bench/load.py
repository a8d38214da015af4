"""HTTP load on recognise_user in stages of concurrent clients, against a running server, with a model ceiling.

Start the server as `make run` does (`make run`, or `.venv/bin/python manage.py serve`), then:

    .venv/bin/python bench/load.py                            # 10,000 faces; stages of 4, 8, 12 clients, 60 s each
    .venv/bin/python bench/load.py --stage-seconds 120 --stages 8

Each request is a recognise_user with a random lfw-dev photo. A photo in which no face is found is a
correct 400/601 answer, counted apart from failures (anything else that is not a 200). The ceiling is
what the models alone do on the same photos in this process, with as many threads as the server has web
workers (FACEAPP_WEB_WORKERS) and the same ONNX Runtime settings; efficiency = throughput / ceiling.
Gallery rows it adds are tagged metadata.bench=true and removed at the end (--keep leaves them).
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import threading
import time

from _common import Client, lfw_photos, percentile, remove_gallery, seed_gallery


def model_ceiling(photos, threads: int, seconds: float) -> float:
    from recognition import pipeline

    data = [p.read_bytes() for p in photos[:200]]
    for blob in data[:5]:
        pipeline.analyse_bytes(blob)
    done = [0] * threads
    deadline = time.perf_counter() + seconds

    def work(i):
        rng = random.Random(i)
        while time.perf_counter() < deadline:
            pipeline.analyse_bytes(rng.choice(data))
            done[i] += 1

    started = time.perf_counter()
    workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return sum(done) / (time.perf_counter() - started)


def run_stage(url: str, photos, clients: int, seconds: float, seed: int) -> dict:
    blobs = [(p.name, p.read_bytes()) for p in photos]
    results = []  # (latency ms, status, no_face)
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def client(i):
        rng = random.Random(seed * 1000 + i)
        http = Client(url)
        while time.perf_counter() < deadline:
            name, data = rng.choice(blobs)
            elapsed, status, body, _ = http.post_photo("/api/v1/recognise_user", name, data)
            with lock:
                results.append((elapsed, status, status == 400 and body.get("error_code") == 601))

    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    latencies = [r[0] for r in results]
    return {
        "clients": clients,
        "requests": len(results),
        "failures": sum(1 for _, status, no_face in results if status != 200 and not no_face),
        "no_face": sum(1 for r in results if r[2]),
        "throughput": len(results) / wall,
        "avg": statistics.mean(latencies) if latencies else float("nan"),
        "p95": percentile(latencies, 95),
        "max": max(latencies) if latencies else float("nan"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://127.0.0.1:8000", help="the running server (default http://127.0.0.1:8000)")
    parser.add_argument("--stages", default="4,8,12", help="concurrent clients per stage (default 4,8,12)")
    parser.add_argument("--stage-seconds", type=float, default=60, help="seconds per stage (default 60)")
    parser.add_argument("--faces", type=int, default=10000, help="enrolled faces during the test (default 10,000)")
    parser.add_argument("--ceiling-seconds", type=float, default=20, help="seconds for the model ceiling (0 skips it)")
    parser.add_argument("--keep", action="store_true", help="keep the bench gallery afterwards")
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings

    photos = lfw_photos()
    try:
        faces = seed_gallery(args.faces)
        warm = Client(args.url)
        for photo in photos[:8]:
            warm.post_photo("/api/v1/recognise_user", photo.name, photo.read_bytes())
        stages = [run_stage(args.url, photos, int(n), args.stage_seconds, seed=k) for k, n in enumerate(args.stages.split(","))]
        workers = settings.FACEAPP_WEB_WORKERS
        ceiling = model_ceiling(photos, workers, args.ceiling_seconds) if args.ceiling_seconds > 0 else float("nan")
    finally:
        if not args.keep:
            remove_gallery()

    print(f"\nrecognise_user load: {faces:,} enrolled faces, {os.cpu_count()} CPUs, {args.stage_seconds:.0f} s per stage, server {args.url}, "
          f"load average {os.getloadavg()[0]:.1f} (goal, issue 19: 8 clients ≥ 45 req/s, p95 ≤ 300 ms, 0 failures)")
    print(f"server: {settings.FACEAPP_WEB_WORKERS} web workers x {settings.FACEAPP_WEB_THREADS} threads, ORT threads {settings.FACEAPP_ORT_THREADS}")
    header = "| Metric | " + " | ".join(f"{s['clients']} clients" for s in stages) + " |"
    print(header)
    print("|" + " --- |" * (len(stages) + 1))
    rows = [
        ("Requests", "requests", "{:,}"), ("Failures", "failures", "{:,}"), ("No face (400/601)", "no_face", "{:,}"),
        ("Throughput (req/s)", "throughput", "{:.1f}"), ("Average latency (ms)", "avg", "{:.0f}"),
        ("p95 latency (ms)", "p95", "{:.0f}"), ("Max latency (ms)", "max", "{:.0f}"),
    ]
    for label, key, fmt in rows:
        print(f"| {label} | " + " | ".join(fmt.format(s[key]) for s in stages) + " |")
    print(f"| Efficiency (throughput / model ceiling {ceiling:.1f} req/s) | " + " | ".join(f"{s['throughput'] / ceiling:.0%}" for s in stages) + " |")


if __name__ == "__main__":
    main()

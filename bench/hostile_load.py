"""Normal clients' latency while hostile clients send the worst images the limits still accept (docs/security.md).

Starts gunicorn as `serve` does (FACEAPP_WEB_WORKERS × FACEAPP_WEB_THREADS) on a free port, on the default
database, then for --seconds: --normal clients post a 240p photo to recognise_user in a loop, and --hostile
clients post a blank 6300 × 6300 PNG (39.7 M pixels: under the pixel limit, ~4 s of CPU each here). Prints the normal
clients' p50/p95, what the hostile ones got, and the web workers' peak memory (RSS, summed).

    nice -n 10 .venv/bin/python bench/hostile_load.py --seconds 40
    nice -n 10 .venv/bin/python bench/hostile_load.py --seconds 40 --hostile 0     # the baseline
"""
from __future__ import annotations

import argparse
import collections
import io
import os
import socket
import subprocess
import sys
import threading
import time

import psutil
from PIL import Image

from _common import ROOT, Client, percentile


def worst_png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (6300, 6300), (255, 255, 255)).save(buffer, "PNG")
    return buffer.getvalue()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=40)
    parser.add_argument("--normal", type=int, default=2, help="clients sending an ordinary photo")
    parser.add_argument("--hostile", type=int, default=8, help="clients sending the worst accepted image")
    args = parser.parse_args()

    subprocess.run([sys.executable, "manage.py", "migrate", "--verbosity", "0"], cwd=ROOT, check=True)
    port = free_port()
    workers, threads = os.environ.get("FACEAPP_WEB_WORKERS", "2"), os.environ.get("FACEAPP_WEB_THREADS", "4")
    server = subprocess.Popen([str(ROOT / ".venv" / "bin" / "gunicorn"), "faceapp.wsgi", "-b", f"127.0.0.1:{port}", "-w", workers,
                               "--threads", threads, "--timeout", "120"], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    normal_photo = (ROOT / "tests" / "fixtures" / "data" / "samples" / "obama-240p.jpg").read_bytes()
    hostile_photo = worst_png()
    try:
        warm = Client(url)
        deadline = time.monotonic() + 120
        while warm.post_photo("/api/v1/recognise_user", "warm.jpg", normal_photo)[1] not in (200,) and time.monotonic() < deadline:
            time.sleep(0.5)
        for _ in range(4):  # every worker loads its models
            warm.post_photo("/api/v1/recognise_user", "warm.jpg", normal_photo)
        process = psutil.Process(server.pid)
        normal_ms, hostile_codes, peak_rss = [], collections.Counter(), [0]
        normal_codes = collections.Counter()
        stop = time.monotonic() + args.seconds

        def normal():
            client = Client(url)
            while time.monotonic() < stop:
                ms, status, _, _ = client.post_photo("/api/v1/recognise_user", "photo.jpg", normal_photo)
                normal_ms.append(ms)
                normal_codes[status] += 1

        def hostile():
            client = Client(url)
            while time.monotonic() < stop:
                hostile_codes[client.post_photo("/api/v1/recognise_user", "big.png", hostile_photo)[1]] += 1

        def memory():
            while time.monotonic() < stop:
                rss = sum(p.memory_info().rss for p in process.children(recursive=True))
                peak_rss[0] = max(peak_rss[0], rss)
                time.sleep(0.25)

        pool = [threading.Thread(target=normal) for _ in range(args.normal)]
        pool += [threading.Thread(target=hostile) for _ in range(args.hostile)] + [threading.Thread(target=memory)]
        for thread in pool:
            thread.start()
        for thread in pool:
            thread.join()
        print(f"{args.normal} normal + {args.hostile} hostile clients, {args.seconds:.0f} s, gunicorn {workers}×{threads}")
        print(f"normal: {len(normal_ms)} requests {dict(normal_codes)}, p50 {percentile(normal_ms, 50):.0f} ms, "
              f"p95 {percentile(normal_ms, 95):.0f} ms, max {max(normal_ms, default=0):.0f} ms")
        print(f"hostile: {dict(hostile_codes)}")
        print(f"web workers' peak RSS: {peak_rss[0] / 2**20:.0f} MiB")
    finally:
        server.terminate()
        server.wait(30)


if __name__ == "__main__":
    main()

"""Soak: clients recognising, enrolling and deleting for a while, with one database restart in the middle.

Starts gunicorn as `serve` does on a free port, talking to the embedded PostgreSQL as a plain client
(DATABASE_URL on its socket, so the server cannot restart the database itself and the outage is real), then for
--minutes runs --clients clients, each looping over: recognise_user (an lfw-dev photo), add_user (a new person
from another photo; its user_id is kept as acknowledged), and now and then DELETE of one of its own people. At the
middle the database is stopped for --outage seconds and started again.

It prints: failures outside the outage window (anything but 200/201, 400/601 no face, 409 duplicate; must be 0),
what the window got (503 database_unavailable expected), the web workers' RSS growth from after --warmup minutes of
the same load to the end (must stay under 10%; the growth from the models loaded and the trend over the second half
are printed too), and whether every acknowledged enrolment that was not deleted is there afterwards.

    nice -n 10 .venv/bin/python bench/soak.py --minutes 30          # the issue's run
    nice -n 10 .venv/bin/python bench/soak.py --minutes 3 --outage 20
The people it adds are named "soak …" and removed at the end.
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import random
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from urllib.parse import quote

import numpy as np
import psutil

from _common import ROOT, lfw_photos, multipart

MANAGE = [sys.executable, str(ROOT / "manage.py")]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(url: str, *, method="GET", body: bytes | None = None, content_type="", key="") -> tuple[int, dict]:
    headers = {"Content-Type": content_type} if content_type else {}
    if key:
        headers["X-API-Key"] = key
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=body, method=method, headers=headers), timeout=60) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        try:
            return exc.code, json.loads(exc.read() or b"{}")
        except ValueError:
            return exc.code, {}
    except OSError:
        return 0, {}


def form(fields: dict, image: bytes) -> tuple[bytes, str]:
    """A multipart body of text fields and one image."""
    boundary = uuid.uuid4().hex
    parts = [f"--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n".encode() for k, v in fields.items()]
    parts.append(f"--{boundary}\r\nContent-Disposition: form-data; name=\"image\"; filename=\"p.jpg\"\r\n"
                 f"Content-Type: image/jpeg\r\n\r\n".encode() + image + b"\r\n")
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def workers_rss(server: psutil.Process) -> int:
    return sum(child.memory_info().rss for child in server.children(recursive=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--outage", type=float, default=30, help="seconds the database is stopped, at the middle")
    parser.add_argument("--warmup", type=float, default=2, help="minutes of the same load before the RSS baseline (default 2)")
    args = parser.parse_args()

    subprocess.run([*MANAGE, "migrate", "--verbosity", "0"], cwd=ROOT, check=True)
    key = subprocess.run([*MANAGE, "create_api_key", "soak", "--scope", "enroll", "--rate", "100000/min"], cwd=ROOT,
                         check=True, capture_output=True, text=True).stdout.strip()
    url_of_db = subprocess.run([*MANAGE, "embedded_db", "url"], cwd=ROOT, check=True, capture_output=True, text=True).stdout.strip()
    socket_dir = dict(p.split("=", 1) for p in url_of_db.split("?", 1)[1].split("&"))["host"]
    port = free_port()
    env = {**os.environ, "DATABASE_URL": f"postgresql://postgres@{quote(socket_dir, safe='')}/postgres", "DB_CONNECT_TIMEOUT": "2"}
    server = subprocess.Popen([str(ROOT / ".venv" / "bin" / "gunicorn"), "faceapp.wsgi", "-b", f"127.0.0.1:{port}",
                               "-w", os.environ.get("FACEAPP_WEB_WORKERS", "2"), "--threads", os.environ.get("FACEAPP_WEB_THREADS", "4"),
                               "--timeout", "120"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}/api/v1"
    photos = lfw_photos()
    if not photos:
        sys.exit("lfw-dev is not in ../shared/data")
    blobs = [p.read_bytes() for p in random.Random(1).sample(photos, min(400, len(photos)))]
    results = []  # (time, kind, status, error_code)
    acknowledged, deleted = set(), set()
    lock = threading.Lock()
    try:
        deadline = time.monotonic() + 120
        while request(f"{base}/health")[0] != 200 and time.monotonic() < deadline:
            time.sleep(0.5)
        for blob in blobs[:8]:  # every worker loads its models
            body, content_type = multipart("image", "warm.jpg", blob)
            request(f"{base}/recognise_user", method="POST", body=body, content_type=content_type)
        process = psutil.Process(server.pid)
        rss_loaded = workers_rss(process)
        # Warm-up: the same load for --warmup minutes before the baseline (the allocators' and ONNX Runtime's arenas
        # grow to the load's working set); its requests count like the others.
        warm_until = time.monotonic() + args.warmup * 60
        started = warm_until
        stop_at = started + args.minutes * 60
        outage = {"from": started + args.minutes * 30 - args.outage / 2, "to": None}
        rss = {}

        def client(number: int):
            rng = random.Random(number)
            mine: list[str] = []
            while time.monotonic() < stop_at:
                roll = rng.random()
                if roll < 0.6:
                    kind = "recognise"
                    body, content_type = multipart("image", "p.jpg", rng.choice(blobs))
                    status, answer = request(f"{base}/recognise_user", method="POST", body=body, content_type=content_type)
                elif roll < 0.9 or not mine:
                    kind = "enrol"
                    fields = {"name": f"soak {number}-{uuid.uuid4().hex[:8]}", "birthdate": "1980-01-01", "allow_duplicates": "true"}
                    body, content_type = form(fields, rng.choice(blobs))
                    status, answer = request(f"{base}/add_user", method="POST", body=body, content_type=content_type)
                    if status in (200, 201) and answer.get("user_id"):
                        mine.append(answer["user_id"])
                        with lock:
                            acknowledged.add(answer["user_id"])
                else:
                    kind = "delete"
                    victim = mine.pop(rng.randrange(len(mine)))
                    status, answer = request(f"{base}/people/{victim}", method="DELETE", key=key)
                    if status == 200:
                        with lock:
                            deleted.add(victim)
                    else:
                        mine.append(victim)
                with lock:
                    results.append((time.monotonic(), kind, status, answer.get("error_code")))

        def database():
            time.sleep(max(0.0, outage["from"] - time.monotonic()))
            outage["from"] = time.monotonic()  # the window opens when the stop begins
            subprocess.run([*MANAGE, "embedded_db", "stop"], cwd=ROOT, capture_output=True)
            time.sleep(args.outage)
            subprocess.run([*MANAGE, "embedded_db", "start"], cwd=ROOT, capture_output=True)
            outage["to"] = time.monotonic()

        timeline = []  # (minute, MiB): growth that levels off is warm-up, growth that keeps on is a leak

        def memory():
            time.sleep(max(0.0, warm_until - time.monotonic()))
            rss["start"] = workers_rss(process)
            while time.monotonic() < stop_at:
                timeline.append(((time.monotonic() - started) / 60, workers_rss(process) / 2**20))
                time.sleep(min(30.0, args.minutes * 60 / 10))

        threads = [threading.Thread(target=client, args=(n,)) for n in range(args.clients)]
        threads += [threading.Thread(target=database), threading.Thread(target=memory)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        rss_end = workers_rss(process)

        grace = 5.0  # the first requests after the start may still meet the old connections
        ok = {200, 201}
        outside, inside, late = collections.Counter(), collections.Counter(), []
        for at, kind, status, code in results:
            correct = status in ok or (status == 400 and code == 601) or (status == 409)
            if outage["from"] <= at <= (outage["to"] or at) + grace:
                inside[(kind, status, code)] += 1
            elif not correct:
                outside[(kind, status, code)] += 1
                late.append(at - (outage["to"] or at) if at > outage["from"] else at - outage["from"])
        missing = [pid for pid in acknowledged - deleted if request(f"{base}/people/{pid}", key=key)[0] != 200]
        print(f"{args.clients} clients, {args.minutes:g} min, database stopped {args.outage:g} s in the middle; "
              f"{len(results)} requests ({dict(collections.Counter(k for _, k, _, _ in results))})")
        print(f"failures outside the outage window: {sum(outside.values())} {dict(outside) if outside else ''}")
        if late:
            print(f"  those failures came {min(late):+.1f} s to {max(late):+.1f} s from the window's edge")
        print(f"in the window (+{grace:g} s): {dict(inside)}")
        rss_start = rss["start"]
        print(f"web workers' RSS: {rss_loaded / 2**20:.0f} MiB with the models loaded, {rss_start / 2**20:.0f} MiB after "
              f"{args.warmup:g} min of warm-up load, {rss_end / 2**20:.0f} MiB at the end: {100 * (rss_end - rss_start) / rss_start:+.1f}% "
              f"from the warm-up (goal < 10%), {100 * (rss_end - rss_loaded) / rss_loaded:+.1f}% from the models loaded")
        print("  RSS over time (minutes after the warm-up): " + ", ".join(f"{minute:.1f} min {mib:.0f}" for minute, mib in timeline))
        half = [(m, mib) for m, mib in timeline if m >= args.minutes / 2]
        if len(half) >= 2:
            slope = np.polyfit([m for m, _ in half], [mib for _, mib in half], 1)[0]
            print(f"  trend over the second half: {slope:+.2f} MiB/min (a leak keeps climbing; warm-up levels off)")
        print(f"acknowledged enrolments: {len(acknowledged)}, deleted by the clients: {len(deleted)}, missing afterwards: {len(missing)}")
        for pid in acknowledged - deleted:
            request(f"{base}/people/{pid}", method="DELETE", key=key)
    finally:
        server.terminate()
        server.wait(30)
        subprocess.run([*MANAGE, "embedded_db", "start"], cwd=ROOT, capture_output=True)


if __name__ == "__main__":
    main()

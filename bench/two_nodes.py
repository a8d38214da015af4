"""recognise_user throughput of one web node, then of two behind one address, each node pinned to its own cores.

    .venv/bin/python bench/two_nodes.py                          # node a on CPU 0, node b on CPU 1
    .venv/bin/python bench/two_nodes.py --cpus-a 0-3 --cpus-b 4-7 --clients 16

It starts deploy/compose.yaml's topology as plain processes (tools/localcluster.py: a PostgreSQL server and a Redis
of their own, nodes running `serve --role web`) with each node under `taskset`, puts a round-robin TCP proxy in
front (one address, as nginx is in compose), seeds the gallery (lfw-dev's people plus synthetic vectors, as
bench/load.py does), and runs bench/load.py's client stage twice with the same number of clients: through the proxy
to node a alone, then to both. It prints both tables, the ratio, the CPU each node used per second of wall time
(1.0 = its core was busy all along), and the load average before and after (the machine may be shared).
"""
from __future__ import annotations

import argparse
import itertools
import os
import socket
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tools.localcluster import LocalCluster  # noqa: E402


class RoundRobinProxy:
    """Each new client connection goes to the next backend (clients keep their connection, as load.py's do)."""

    def __init__(self, backends: list[tuple[str, int]]):
        self.backends = backends
        self.cycle = itertools.cycle(backends)
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(128)
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def use(self, backends) -> None:
        self.cycle = itertools.cycle(backends)

    def _accept(self) -> None:
        while True:
            client, _ = self.listener.accept()
            upstream = socket.create_connection(next(self.cycle))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source, target) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, target):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


def cpu_seconds(process) -> float:
    """CPU time of a process and all its children (the node's serve, gunicorn and its workers)."""
    import psutil

    try:
        root = psutil.Process(process.pid)
        total = 0.0
        for p in [root, *root.children(recursive=True)]:
            times = p.cpu_times()
            total += times.user + times.system
        return total
    except psutil.NoSuchProcess:
        return 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cpus-a", default="0", help="taskset CPU list of node a (default 0)")
    parser.add_argument("--cpus-b", default="1", help="taskset CPU list of node b (default 1)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients in both stages (default 8)")
    parser.add_argument("--stage-seconds", type=float, default=45, help="seconds per stage (default 45)")
    parser.add_argument("--faces", type=int, default=10000, help="enrolled faces (default 10,000)")
    parser.add_argument("--workers", type=int, default=1, help="gunicorn workers per node (default 1, one per core)")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker (default 4)")
    parser.add_argument("--ort-threads", type=int, default=1, help="ONNX Runtime threads per session (default 1, per core)")
    args = parser.parse_args()

    env = {"FACEAPP_WEB_WORKERS": str(args.workers), "FACEAPP_WEB_THREADS": str(args.threads),
           "FACEAPP_ORT_THREADS": str(args.ort_threads), "FACEAPP_RUN_CAMERAS": "0"}
    load_before = os.getloadavg()
    with LocalCluster(use_netns=False, env=env) as cluster:
        cluster.start_services()
        a, b = cluster.add_node("a"), cluster.add_node("b")
        cluster.start_role(a, "web", cpus=args.cpus_a)
        cluster.start_role(b, "web", cpus=args.cpus_b)
        cluster.wait_ready(a)
        cluster.wait_ready(b)
        os.environ.update({k: v for k, v in cluster.env().items() if k in ("DATABASE_URL", "FACEAPP_REDIS_URL", "FACEAPP_REDIS_PREFIX", "SECRET_KEY", "FACEAPP_MEDIA_ROOT")})
        os.environ["DJANGO_SETTINGS_MODULE"] = "faceapp.settings"
        import django

        django.setup()
        from _common import Client, lfw_photos, seed_gallery
        from load import run_stage

        photos = lfw_photos()
        faces = seed_gallery(args.faces)
        proxy = RoundRobinProxy([(a.address, a.port)])
        results = {}
        for label, backends in (("one node (a)", [(a.address, a.port)]), ("two nodes (a + b)", [(a.address, a.port), (b.address, b.port)])):
            proxy.use(backends)
            warm = Client(proxy.url)
            for photo in photos[:6]:
                warm.post_photo("/api/v1/recognise_user", photo.name, photo.read_bytes())
            warm.connection.close()
            cpu_before = {n.name: cpu_seconds(n.processes["web"]) for n in (a, b)}
            started = time.perf_counter()
            results[label] = run_stage(proxy.url, photos, args.clients, args.stage_seconds, seed=len(results))
            wall = time.perf_counter() - started
            results[label]["cpu"] = {n.name: (cpu_seconds(n.processes["web"]) - cpu_before[n.name]) / wall for n in (a, b)}
            results[label]["load"] = os.getloadavg()[0]
    load_after = os.getloadavg()

    print(f"\nrecognise_user, {faces:,} enrolled faces, {args.clients} clients, {args.stage_seconds:.0f} s per stage, "
          f"{os.cpu_count()} CPUs; node a on CPUs {args.cpus_a}, node b on CPUs {args.cpus_b}; per node "
          f"{args.workers} gunicorn worker(s) x {args.threads} threads, ONNX Runtime {args.ort_threads} thread(s)")
    print("| Metric | " + " | ".join(results) + " |")
    print("|" + " --- |" * (len(results) + 1))
    rows = [("Requests", "requests", "{:,}"), ("Failures", "failures", "{:,}"), ("No face (400/601)", "no_face", "{:,}"),
            ("Throughput (req/s)", "throughput", "{:.1f}"), ("Average latency (ms)", "avg", "{:.0f}"),
            ("p95 latency (ms)", "p95", "{:.0f}")]
    for title, key, fmt in rows:
        print(f"| {title} | " + " | ".join(fmt.format(r[key]) for r in results.values()) + " |")
    print("| CPU used per wall second, node a / b | " + " | ".join(f"{r['cpu']['a']:.2f} / {r['cpu']['b']:.2f}" for r in results.values()) + " |")
    print("| Load average (1 min) at the end of the stage | " + " | ".join(f"{r['load']:.1f}" for r in results.values()) + " |")
    one, two = (r["throughput"] for r in results.values())
    print(f"\nscaling: {two / one:.2f}x one node's throughput (goal: at least 1.8x)")
    print(f"load average before {load_before[0]:.1f} / {load_before[1]:.1f} / {load_before[2]:.1f}, "
          f"after {load_after[0]:.1f} / {load_after[1]:.1f} / {load_after[2]:.1f}")


if __name__ == "__main__":
    main()

"""Serve faceapp: gunicorn for the web, django-q2 workers for background work, the camera runner (`run_cameras`)
and the metrics exporter, as one command; or only some of them, so that each role can run (and scale) on its own
machines.

    manage.py serve                        everything (the single-machine default, `make run`)
    manage.py serve --role web             only gunicorn (and the metrics exporter)
    manage.py serve --role worker          only the background workers: one django-q2 cluster per queue
    manage.py serve --role cameras         only a camera runner (several runners share the cameras by lease)
    FACEAPP_ROLES=web,worker manage.py serve

All run as child processes; Ctrl-C (SIGINT) or SIGTERM stops them all, and if one dies the others are stopped too,
so a half-running server never goes unnoticed (the orchestrator, or the operator, restarts the node).
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from faceapp import taskqueue

ROLES = ("web", "worker", "cameras", "metrics")


def banner(host: str, port: int) -> list[str]:
    """What `serve` prints at start: where the app is, where operators log in, how to make the first login."""
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    base = f"http://{shown}:{port}"
    return [
        f"faceapp is serving on {base}/  (API: /api/v1/, docs: /api/v1/docs, admin: /admin/)",
        f"Operators log in at {base}/accounts/login/ (staff accounts), then use {base}/ui/",
        "First time? Create a login with: .venv/bin/python manage.py createsuperuser",
    ]


def parse_roles(values: list[str], *, queue: bool = True, cameras: bool = True, metrics: bool = True) -> list[str]:
    """Roles from --role / FACEAPP_ROLES ('all' or a comma list of web, worker, cameras, metrics)."""
    names = [n.strip() for value in values for n in value.split(",") if n.strip()] or ["all"]
    unknown = sorted(set(names) - set(ROLES) - {"all"})
    if unknown:
        raise CommandError(f"unknown role(s) {', '.join(unknown)}: choose from all, {', '.join(ROLES)}")
    if "all" in names:
        names = ["web", "worker" if queue else "", "cameras" if cameras else "", "metrics" if metrics else ""]
    elif "web" in names and metrics and "metrics" not in names:
        names.append("metrics")  # a web node reports its metrics
    return [name for name in ROLES if name in names]


def metrics_dir() -> Path:
    """This node's PROMETHEUS_MULTIPROC_DIR (the operator's, else var/prometheus), without the files of processes
    that are gone (counter_<pid>.db, ...). Files of live processes stay: other roles' `serve` may share the folder."""
    directory = Path(os.environ.get("PROMETHEUS_MULTIPROC_DIR") or settings.VAR_DIR / "prometheus")
    directory.mkdir(parents=True, exist_ok=True)
    for path in directory.glob("*.db"):
        pid = path.stem.rsplit("_", 1)[-1]
        if pid.isdigit() and not _alive(int(pid)):
            path.unlink(missing_ok=True)
    return directory


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Command(BaseCommand):
    help = (
        "Serve the app: gunicorn (web), django-q2 workers (background tasks), the camera runner and the metrics "
        "exporter together, or only the roles given with --role; Ctrl-C stops them all."
    )

    def add_arguments(self, parser):
        parser.add_argument("--host", default=settings.FACEAPP_HOST, help="Address to listen on (default: HOST or 127.0.0.1).")
        parser.add_argument("--port", type=int, default=settings.FACEAPP_PORT, help="Port (default: PORT or 8000).")
        parser.add_argument("--workers", type=int, default=settings.FACEAPP_WEB_WORKERS, help="gunicorn worker processes (default: FACEAPP_WEB_WORKERS).")
        parser.add_argument("--threads", type=int, default=settings.FACEAPP_WEB_THREADS, help="Threads per gunicorn worker (default: FACEAPP_WEB_THREADS).")
        parser.add_argument(
            "--role", action="append", default=[],
            help="What this node runs: all (default), or web, worker, cameras, metrics (repeat or comma-separate; "
                 "also FACEAPP_ROLES). A web node also runs the metrics exporter unless FACEAPP_METRICS=0.",
        )
        parser.add_argument("--no-queue", action="store_true", help="With the role 'all': do not start the django-q2 workers.")
        parser.add_argument(
            "--no-cameras", action="store_true",
            help="With the role 'all': do not start the camera runner, e.g. when it runs on other machines (also FACEAPP_RUN_CAMERAS=0).",
        )

    def handle(self, *args, host, port, workers, threads, role, no_queue, no_cameras, **options):
        roles = parse_roles(
            role or [settings.FACEAPP_ROLES],
            queue=not no_queue,
            cameras=settings.FACEAPP_RUN_CAMERAS and not no_cameras,
            metrics=settings.FACEAPP_METRICS,
        )
        env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir())}
        python = sys.executable
        children: dict[str, subprocess.Popen] = {}
        if "web" in roles:
            call_command("collectstatic", interactive=False, verbosity=0)
            children["web"] = subprocess.Popen([
                python, "-m", "gunicorn", "faceapp.wsgi:application",
                "--bind", f"{host}:{port}",
                "--workers", str(workers),
                "--threads", str(threads),
                "--timeout", "120",
                "--graceful-timeout", "20",
                "--config", "python:faceapp.gunicorn_config",
            ], env=env)
        if "worker" in roles:
            for queue in taskqueue.queue_names():
                children[f"worker {queue}"] = subprocess.Popen(
                    [python, "manage.py", "qcluster"], cwd=settings.BASE_DIR, env={**env, "Q_CLUSTER_NAME": queue}
                )
        if "cameras" in roles:
            children["cameras"] = subprocess.Popen([python, "manage.py", "run_cameras"], cwd=settings.BASE_DIR, env=env)
        if "metrics" in roles:
            children["metrics"] = subprocess.Popen([python, "manage.py", "metrics_exporter"], cwd=settings.BASE_DIR, env=env)
        self.stdout.write(f"roles: {', '.join(roles)} ({', '.join(children)})")
        if "web" in roles:
            first, *rest = banner(host, port)
            self.stdout.write(self.style.SUCCESS(first))
            for line in rest:
                self.stdout.write(line)
        if "metrics" in roles:
            self.stdout.write(f"Prometheus metrics on http://{settings.FACEAPP_METRICS_HOST}:{settings.FACEAPP_METRICS_PORT}/metrics")
        self.stdout.flush()

        stopping = False

        def stop(signum, frame):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        exit_code = 0
        while not stopping:
            for name, child in list(children.items()):
                if child.poll() is None:
                    continue
                if name == "metrics":  # the exporter is not worth stopping the node for (e.g. its port is taken)
                    self.stderr.write(f"the metrics exporter exited with code {child.returncode}; serving on without it.")
                    del children[name]
                    continue
                self.stderr.write(f"{name} exited with code {child.returncode}; stopping.")
                exit_code = child.returncode or 1
                stopping = True
            time.sleep(0.5)
        for child in children.values():
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 25
        for child in children.values():
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
        self.stdout.write("faceapp stopped.")
        if exit_code:
            sys.exit(exit_code)

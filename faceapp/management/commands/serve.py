"""Serve faceapp: gunicorn for the web, a django-q2 cluster for background work and the camera
runner (`run_cameras`), as one command.

All run as child processes; Ctrl-C (SIGINT) or SIGTERM stops them all, and if one dies the others
are stopped too, so a half-running server never goes unnoticed.
"""
from __future__ import annotations

import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand


def banner(host: str, port: int) -> list[str]:
    """What `serve` prints at start: where the app is, where operators log in, how to make the first login."""
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    base = f"http://{shown}:{port}"
    return [
        f"faceapp is serving on {base}/  (API: /api/v1/, docs: /api/v1/docs, admin: /admin/)",
        f"Operators log in at {base}/accounts/login/ (staff accounts), then use {base}/ui/",
        "First time? Create a login with: .venv/bin/python manage.py createsuperuser",
    ]


class Command(BaseCommand):
    help = (
        "Serve the app with gunicorn (web), django-q2 workers (background tasks) and the camera runner together; "
        "Ctrl-C stops them all."
    )

    def add_arguments(self, parser):
        parser.add_argument("--host", default=settings.FACEAPP_HOST, help="Address to listen on (default: HOST or 127.0.0.1).")
        parser.add_argument("--port", type=int, default=settings.FACEAPP_PORT, help="Port (default: PORT or 8000).")
        parser.add_argument("--workers", type=int, default=settings.FACEAPP_WEB_WORKERS, help="gunicorn worker processes (default: FACEAPP_WEB_WORKERS).")
        parser.add_argument("--threads", type=int, default=settings.FACEAPP_WEB_THREADS, help="Threads per gunicorn worker (default: FACEAPP_WEB_THREADS).")
        parser.add_argument("--no-queue", action="store_true", help="Do not start the django-q2 workers.")
        parser.add_argument(
            "--no-cameras", action="store_true",
            help="Do not start the camera runner (run_cameras), e.g. when it runs on other machines (also FACEAPP_RUN_CAMERAS=0).",
        )

    def handle(self, *args, host, port, workers, threads, no_queue, no_cameras, **options):
        call_command("collectstatic", interactive=False, verbosity=0)
        python = sys.executable
        web = [
            python, "-m", "gunicorn", "faceapp.wsgi:application",
            "--bind", f"{host}:{port}",
            "--workers", str(workers),
            "--threads", str(threads),
            "--timeout", "120",
            "--graceful-timeout", "20",
            "--config", "python:faceapp.gunicorn_config",
        ]
        children = {"web": subprocess.Popen(web)}
        if not no_queue:
            children["queue"] = subprocess.Popen([python, "manage.py", "qcluster"], cwd=settings.BASE_DIR)
        if settings.FACEAPP_RUN_CAMERAS and not no_cameras:
            children["cameras"] = subprocess.Popen([python, "manage.py", "run_cameras"], cwd=settings.BASE_DIR)
        first, *rest = banner(host, port)
        self.stdout.write(self.style.SUCCESS(first))
        for line in rest:
            self.stdout.write(line)

        stopping = False

        def stop(signum, frame):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        exit_code = 0
        while not stopping:
            for name, child in children.items():
                if child.poll() is not None:
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

"""Serve /metrics on a port of its own (Prometheus scrapes it there; the web port stays for users).

It adds up the instruments of this node's processes (PROMETHEUS_MULTIPROC_DIR, set by `serve`) and reads the
cluster gauges (queues, cameras, leases, webhooks, database) at each scrape. Ctrl-C or SIGTERM stops it.
"""
from __future__ import annotations

import signal
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connections
from prometheus_client import CONTENT_TYPE_LATEST

from faceapp.metrics import exposition


class MetricsHandler(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server's name)
        if self.path.split("?")[0] != "/metrics":
            self.send_error(404, "Prometheus metrics are at /metrics")
            return
        try:
            body = exposition.render()
        finally:
            connections.close_all()  # this thread's connection: one per scrape, never left open
        self.send_response(200)
        self.send_header("Content-Type", CONTENT_TYPE_LATEST)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):  # scrapes every few seconds would flood the log
        pass


class Command(BaseCommand):
    help = "Serve Prometheus metrics at http://HOST:PORT/metrics (default FACEAPP_METRICS_HOST:FACEAPP_METRICS_PORT)."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=settings.FACEAPP_METRICS_HOST, help="Address to listen on (default: FACEAPP_METRICS_HOST, 127.0.0.1).")
        parser.add_argument("--port", type=int, default=settings.FACEAPP_METRICS_PORT, help="Port (default: FACEAPP_METRICS_PORT, 9464).")

    def handle(self, *args, host, port, **options):
        try:
            server = ThreadingHTTPServer((host, port), MetricsHandler)
        except OSError as exc:
            raise CommandError(f"cannot serve metrics on {host}:{port}: {exc} (set FACEAPP_METRICS_PORT)") from None
        server.daemon_threads = True
        stop = threading.Event()

        def shutdown(signum, frame):
            stop.set()
            threading.Thread(target=server.shutdown, daemon=True).start()

        signal.signal(signal.SIGTERM, shutdown)
        signal.signal(signal.SIGINT, shutdown)
        self.stdout.write(f"metrics on http://{host}:{server.server_address[1]}/metrics")
        self.stdout.flush()
        server.serve_forever(poll_interval=0.5)
        server.server_close()

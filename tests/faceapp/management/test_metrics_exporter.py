"""manage.py metrics_exporter: the instruments of every process of the node (PROMETHEUS_MULTIPROC_DIR) added up,
served on a port of its own."""
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parents[3]

RECORD = """
import django, os; os.environ["DJANGO_SETTINGS_MODULE"] = "faceapp.settings"; django.setup()
from faceapp import metrics
metrics.pipeline_stage_seconds.labels("detect").observe(0.05)
metrics.identifications.labels("named").inc()
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_exporter_adds_up_the_metrics_of_the_nodes_processes(tmp_path):
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "faceapp.settings"}
    for _ in range(2):  # two processes, as two gunicorn workers
        subprocess.run([sys.executable, "-c", RECORD], cwd=ROOT, env=env, check=True, timeout=120)
    port = free_port()
    exporter = subprocess.Popen([sys.executable, "manage.py", "metrics_exporter", "--port", str(port)], cwd=ROOT, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
                    text = response.read().decode()
                break
            except OSError:
                assert exporter.poll() is None and time.monotonic() < deadline, exporter.stdout.read() if exporter.poll() is not None else "timeout"
                time.sleep(0.3)
    finally:
        exporter.terminate()
        exporter.wait(timeout=30)
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value for f in text_string_to_metric_families(text) for s in f.samples}
    assert samples[("faceapp_pipeline_stage_duration_seconds_count", (("stage", "detect"),))] == 2
    assert samples[("faceapp_identifications_total", (("verdict", "named"),))] == 2
    # The cluster gauges are read at each scrape too (here from whatever database this checkout uses: each source
    # reports whether it could be read, and the scrape never fails for it).
    assert {("faceapp_scrape_error", (("source", source),)) for source in ("database", "queues", "cameras", "webhooks")} <= set(samples)


def test_a_taken_port_is_a_clear_error():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run([sys.executable, "manage.py", "metrics_exporter", "--port", str(port)], cwd=ROOT,
                                capture_output=True, text=True, timeout=120)
    assert result.returncode != 0 and "cannot serve metrics on 127.0.0.1" in result.stderr

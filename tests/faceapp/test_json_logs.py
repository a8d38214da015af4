"""FACEAPP_LOG_FORMAT=json: one JSON object per log line, with the request id."""
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_json_log_lines_carry_time_level_logger_request_id_and_the_traceback():
    script = (
        "import django, logging; django.setup();"
        "from faceapp.requestid import _current; _current.set('req-42');"
        "log = logging.getLogger('faceapp.test'); log.warning('hello %s', 'there');"
        "\ntry:\n    1 / 0\nexcept ZeroDivisionError:\n    log.exception('failed')"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "faceapp.settings", "FACEAPP_LOG_FORMAT": "json"}
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    hello = next(line for line in lines if line["message"] == "hello there")
    assert (hello["level"], hello["logger"], hello["request_id"]) == ("WARNING", "faceapp.test", "req-42")
    assert "time" in hello and isinstance(hello["pid"], int)
    failed = next(line for line in lines if line["message"] == "failed")
    assert "ZeroDivisionError" in failed["exc_info"]

"""Configuration-change broadcasts over a real Redis: a change published anywhere reaches every listener."""
import subprocess
import sys
import threading
from pathlib import Path

from faceapp import broadcast

ROOT = Path(__file__).resolve().parents[2]


def test_without_redis_publishing_does_nothing(settings):
    settings.FACEAPP_REDIS_URL = ""
    assert broadcast.publish("cameras") is False


def test_a_change_published_by_another_process_reaches_the_listener(redis_settings, settings):
    heard = threading.Event()
    broadcast.listen("cameras", heard.set)
    heard.wait(3)  # the listener looks once when it (re)subscribes
    heard.clear()
    script = (
        "import os, django; os.environ['DJANGO_SETTINGS_MODULE'] = 'faceapp.settings'; django.setup();"
        "from django.conf import settings; from faceapp import broadcast;"
        f"settings.FACEAPP_REDIS_URL = {settings.FACEAPP_REDIS_URL!r}; settings.FACEAPP_REDIS_PREFIX = {settings.FACEAPP_REDIS_PREFIX!r};"
        "assert broadcast.publish('cameras')"
    )
    subprocess.run([sys.executable, "-c", script], cwd=ROOT, check=True, timeout=60)
    assert heard.wait(5), "the broadcast did not arrive"

"""The camera reader against a real RTSP server (GStreamer's, from Debian packages: tools/rtsp_server.py)
serving the shared Hamilton clip. The packages are installed with apt-get on first use where that can be
done (root); elsewhere the test skips and says how to install them."""
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import shared_data_path
from videostreams.processing import CameraConfig
from videostreams.queues import FrameQueue
from videostreams.sources import RUNNING, CameraReader

SERVER = Path(__file__).resolve().parents[2] / "tools" / "rtsp_server.py"
SYSTEM_PYTHON = "/usr/bin/python3"
PACKAGES = ["python3-gi", "gir1.2-gst-rtsp-server-1.0", "gstreamer1.0-plugins-good", "gstreamer1.0-plugins-bad", "gstreamer1.0-rtsp"]
INSTALL = "apt-get install " + " ".join(PACKAGES)


def server_available() -> bool:
    probe = "import gi; gi.require_version('Gst', '1.0'); gi.require_version('GstRtspServer', '1.0'); from gi.repository import GstRtspServer"
    try:
        return subprocess.run([SYSTEM_PYTHON, "-c", probe], capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def install_server() -> str:
    """'' once the RTSP server runs (installing its Debian packages when we are root), else why it cannot."""
    if server_available():
        return ""
    if not shutil.which("apt-get") or os.geteuid() != 0:
        return f"GStreamer's RTSP server is not installed for {SYSTEM_PYTHON} and cannot be installed here (needs root): {INSTALL}"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    command = ["apt-get", "install", "-y", "--no-install-recommends", *PACKAGES]
    if subprocess.run(command, env=env, capture_output=True, timeout=1200).returncode != 0:
        subprocess.run(["apt-get", "update"], env=env, capture_output=True, timeout=600)
        result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=1200)
        if result.returncode != 0:
            return f"apt-get could not install the RTSP server: {result.stderr.strip()[-500:]}"
    return "" if server_available() else f"the RTSP server packages were installed but {SYSTEM_PYTHON} cannot load them"


@pytest.fixture(scope="module")
def rtsp():
    problem = install_server()
    if problem:
        pytest.skip(problem)
    clip = shared_data_path("video", "short_hamilton_clip.mp4")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    servers = []

    def start():
        process = subprocess.Popen([SYSTEM_PYTHON, str(SERVER), str(clip), "--port", str(port)], stdout=subprocess.PIPE, text=True)
        assert process.stdout.readline().strip() == "ready"
        servers.append(process)
        return process

    def stop(process):
        process.terminate()
        process.wait(timeout=10)

    yield f"rtsp://127.0.0.1:{port}/clip", start, stop
    for process in servers:
        if process.poll() is None:
            stop(process)


def wait_for(condition, timeout: float) -> float:
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"not within {timeout} s")
        time.sleep(0.05)
    return time.monotonic() - started


def test_the_reader_takes_frames_from_an_rtsp_server_and_is_back_soon_after_it_restarts(rtsp):
    url, start, stop = rtsp
    server = start()
    queue = FrameQueue(1000)
    reader = CameraReader(CameraConfig(id="rtsp", name="rtsp", sample_fps=10, source=url), queue,
                          backoff_min=0.2, backoff_max=1.0, open_timeout=5, error_after=100)
    reader.start()
    try:
        wait_for(lambda: reader.state == RUNNING and len(queue) >= 10, timeout=20)
        frame = queue.get_batch(1)[0]
        assert frame.image.shape == (360, 640, 3)
        stop(server)
        wait_for(lambda: reader.state != RUNNING, timeout=15)  # the read times out or fails
        reconnects = reader.reconnects
        read_before = reader.frames_read
        restarted = time.monotonic()
        start()
        wait_for(lambda: reader.frames_read > read_before, timeout=20)
        back = time.monotonic() - restarted
        assert reader.state == RUNNING and reader.reconnects >= reconnects >= 1
        # With back-off capped at 1 s and a 2 s RTSP handshake, the reader is back within a few seconds.
        assert back < 8, f"back after {back:.1f} s"
        print(f"RTSP: frames again {back:.2f} s after the server restarted ({reader.reconnects} reconnects)", file=sys.stderr)
    finally:
        reader.stop()
        reader.join(timeout=15)

"""A real RTSP server for tests: GStreamer's gst-rtsp-server (Debian packages), serving a video file's
H.264 stream as it is (no re-encoding), from its start for each new session (a client that reads it to
the end sees the stream end, as when a camera drops).

Run with the system Python that has PyGObject and the GStreamer RTSP server bindings:

    apt-get install python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-good gstreamer1.0-plugins-bad gstreamer1.0-rtsp
    /usr/bin/python3 tools/rtsp_server.py ../shared/data/video/short_hamilton_clip.mp4 --port 8554
    # → rtsp://127.0.0.1:8554/clip

It listens on 127.0.0.1 only and prints "ready" once it serves. `tests/videostreams/test_rtsp.py` starts
and stops it to test the camera reader against a real server, and prints how fast the reader is back
after the server restarts (`pytest -s`).
"""
from __future__ import annotations

import argparse
import signal
import sys


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("file", help="an MP4 file with an H.264 video stream")
    parser.add_argument("--port", type=int, default=8554)
    parser.add_argument("--path", default="/clip")
    args = parser.parse_args()

    import gi

    gi.require_version("Gst", "1.0")
    gi.require_version("GstRtspServer", "1.0")
    from gi.repository import GLib, Gst, GstRtspServer

    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(args.port))
    factory = GstRtspServer.RTSPMediaFactory()
    location = args.file.replace("\\", "\\\\").replace('"', '\\"')
    factory.set_launch(f'( filesrc location="{location}" ! qtdemux ! h264parse ! rtph264pay name=pay0 pt=96 config-interval=1 )')
    factory.set_shared(True)
    server.get_mount_points().add_factory(args.path, factory)
    if server.attach(None) == 0:
        sys.exit(f"cannot listen on 127.0.0.1:{args.port}")
    loop = GLib.MainLoop()
    signal.signal(signal.SIGTERM, lambda *_: loop.quit())
    print("ready", flush=True)
    loop.run()


if __name__ == "__main__":
    main()

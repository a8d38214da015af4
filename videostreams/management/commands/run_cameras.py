"""Run every enabled camera: read, sample, analyse, track, recognise, store events, run rules."""
from __future__ import annotations

import signal

from django.conf import settings
from django.core.management.base import BaseCommand

from videostreams.runner import Runner


class Command(BaseCommand):
    help = (
        "Run the enabled cameras until Ctrl-C or SIGTERM: one reader thread per camera (reconnecting with back-off), "
        "a bounded queue per camera (the oldest frames are dropped under overload), one processing thread. "
        "Cameras enabled, disabled or edited while it runs take effect within --refresh seconds. Several runners "
        "(on one or more machines) share the cameras: each camera is owned by one runner at a time (a lease)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--refresh", type=float, default=settings.FACEAPP_CAMERA_REFRESH_SECONDS,
            help="Seconds between re-reading the camera table and writing status (default: FACEAPP_CAMERA_REFRESH_SECONDS).",
        )
        parser.add_argument(
            "--queue-frames", type=int, default=settings.FACEAPP_CAMERA_QUEUE_FRAMES,
            help="Frames held per camera before the oldest is dropped (default: FACEAPP_CAMERA_QUEUE_FRAMES).",
        )
        parser.add_argument(
            "--batch-frames", type=int, default=settings.FACEAPP_CAMERA_BATCH_FRAMES,
            help="Frames analysed together, one embedding batch (default: FACEAPP_CAMERA_BATCH_FRAMES).",
        )
        parser.add_argument("--owner", help="This runner's lease name (default: host:pid:random).")

    def handle(self, *args, refresh, queue_frames, batch_frames, owner, **options):
        runner = Runner(owner=owner, refresh_seconds=refresh, queue_frames=queue_frames, batch_frames=batch_frames)

        def stop(signum, frame):
            self.stdout.write("stopping cameras...")
            runner.stop()

        previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
        self.stdout.write(self.style.SUCCESS(f"camera runner {runner.owner} started (refresh every {refresh:g} s); Ctrl-C stops it."))
        try:
            runner.run_forever()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        counters = runner.processor.counters
        frames = sum(c.frames for c in counters.values())
        faces = sum(c.faces for c in counters.values())
        events = sum(c.events for c in counters.values())
        self.stdout.write(f"camera runner stopped: {frames} frames analysed, {faces} faces, {events} events.")

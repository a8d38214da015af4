"""Run a video file through the camera processing path and print the events it makes."""
from __future__ import annotations

import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from videostreams.models import Camera
from videostreams.processing import CameraConfig, Frame, Processor
from videostreams.sources import file_frames


class Command(BaseCommand):
    help = (
        "Process a video file as if it came from a camera (detect, track, best shot, recognise, store events, "
        "run rules) and print the events. For tests and demos."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="The video file (anything FFmpeg reads: mp4, avi, mkv, ...).")
        parser.add_argument(
            "--camera",
            help="Use this camera's settings and file the events under it (created, disabled, if it does not exist; "
            "default: a camera named after the file).",
        )
        parser.add_argument("--fps", type=float, help="Frames per second to analyse (default: the camera's sample rate).")
        parser.add_argument("--mode", choices=[m.value for m in Camera.Mode], help="Override the camera's mode for this run.")
        parser.add_argument("--batch", type=int, default=4, help="Frames analysed together (one embedding batch); default 4.")

    def handle(self, *args, file, camera, fps, mode, batch, **options):
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"no such file: {file}")
        name = camera or f"file:{path.name}"
        # Disabled, so a running `run_cameras` does not pick it up too.
        cam, created = Camera.objects.get_or_create(name=name, defaults={"source": str(path.resolve()), "enabled": False})
        config = CameraConfig.from_camera(cam)
        overrides = {k: v for k, v in {"sample_fps": fps, "mode": mode}.items() if v is not None}
        if overrides:
            config = CameraConfig(**{**config.__dict__, **overrides})
        processor = Processor()
        processor.set_config(config)
        base = time.time()
        events = {}
        pending: list[Frame] = []
        frames = 0
        started = time.perf_counter()
        try:
            progress = tqdm(file_frames(str(path), config.sample_fps), desc="frames", unit="frame", disable=options["verbosity"] < 1)
            for index, position, image in progress:
                pending.append(Frame(camera_id=cam.id, image=image, timestamp=base + position, index=index))
                frames += 1
                if len(pending) >= batch:
                    events.update((e.id, e) for e in processor.process(pending))
                    pending = []
            events.update((e.id, e) for e in processor.process(pending))
        except OSError as exc:
            raise CommandError(str(exc)) from exc
        events.update((e.id, e) for e in processor.flush())
        elapsed = time.perf_counter() - started
        counters = processor.counters[cam.id]
        for event in sorted(events.values(), key=lambda e: e.first_seen):
            who = f"{event.person.name} (similarity {event.similarity:.3f})" if event.matched else "unknown"
            offset = event.first_seen.timestamp() - base
            self.stdout.write(
                f"event {event.id}  t={offset:6.2f}s  {who}  quality {event.quality:.2f}  frames {event.frames_seen}  "
                f"crop {event.crop.name}  frame {event.frame.name}"
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"{frames} frames analysed in {elapsed:.1f} s ({frames / max(elapsed, 1e-9):.1f} frames/s), "
                f"{counters.faces} faces, {len(events)} events on camera {cam.name!r}"
                + (" (created)" if created else "")
            )
        )

"""Video throughput and agreement: the cheap video path against full detection on every frame.

    .venv/bin/python bench/make_clip.py            # once: the several-people clip (var/bench/crowd.mp4)
    .venv/bin/python bench/video.py                # Hamilton and crowd clips, 720p and 1080p, interval 5
    .venv/bin/python bench/video.py --clips hamilton --sizes 720p --intervals 1 3 5 --cameras 1 5
    .venv/bin/python bench/video.py --live 5       # also the real runner on 5 cameras playing a 720p file

Needs the database (`manage.py migrate`): events are written and names decided exactly as the camera
runner does (`videostreams.processing.Processor`: plan → batched detection → tracker → embeddings it
asks for → search and track voting through `enrollment.decision` → events), into scratch cameras
deleted afterwards. The gallery is lfw-dev's 649 people (first photo each, tagged as bench data, kept
for the next run) plus the people of the clips enrolled from the shared sample photos.

For each clip and frame size, frames are sampled at --sample-fps and scaled to the size, then:
  1. the reference: `detect_interval` 1 (the whole picture every frame, every face embedded: what a
     camera cost before this change);
  2. each --intervals value > 1: the cheap path (motion gate, windows around tracked faces, moving
     parts searched for new faces every N frames, embeddings only where the tracker needs them).
Printed per run: analysed frames/s (wall), CPU ms per frame, cameras sustainable at --camera-fps
(analysis only, and with decoding the streams), frames detected whole / in regions / not at all
(still), faces embedded, events; and against the reference: track recall (reference events whose
track the cheap path followed too: the same face in at least one common frame, box IoU ≥ 0.5, and an
event made) and name agreement (of those, the same person named, or both unknown), best shots taken
from the same frame, and extra events (cheap-path events with no reference counterpart).
--cameras N feeds the same frames to N cameras in round-robin batches (detection batched across
them). On a machine shared with other work, wall-clock rates measure the neighbours too: the CPU time
per frame, and the rate an idle machine would reach (cores / CPU seconds per frame), are printed beside.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "faceapp.settings")

CLIPS = {"hamilton": DATA / "video" / "short_hamilton_clip.mp4", "crowd": ROOT / "var" / "bench" / "crowd.mp4"}
SIZES = {"720p": (1280, 720), "1080p": (1920, 1080)}
# The people of the clips, enrolled from sample photos (the crowd clip shows other photos of them, or the same).
PEOPLE = {
    "Lin-Manuel Miranda": "lin-manuel-miranda.png", "Alex Lacamoire": "alex-lacamoire.png", "Barack Obama": "obama.jpg",
    "Joe Biden": "biden.jpg", "Rose Leslie": "rose_leslie_img2.jpg",
}


@dataclass
class Run:
    label: str
    frames: int
    wall: float
    cpu: float
    counters: object
    events: dict = field(default_factory=dict)  # track id → (person id or None, best-shot frame index)
    seen: dict = field(default_factory=dict)  # track id → {frame index: box}


def load_frames(path: Path, count: int, fps: float, size: tuple[int, int]):
    import cv2

    from videostreams.sources import file_frames

    frames = []
    for index, position, image in file_frames(str(path), fps):
        if image.shape[1] != size[0]:
            image = cv2.resize(image, size, interpolation=cv2.INTER_LINEAR)
        frames.append((index, position, image))
        if len(frames) >= count:
            break
    return frames


def enrol_people() -> None:
    import datetime as dt

    from _common import seed_gallery

    from enrollment import services
    from enrollment.models import Person

    seed_gallery(0, progress=False)
    for name, photo in PEOPLE.items():
        if not Person.objects.filter(name=name, metadata__bench=True).exists():
            person = services.enrol_person(name=name, birthdate=dt.date(1970, 1, 1), image=(DATA / "samples" / photo).read_bytes(),
                                           image_name=photo)
            person.metadata = {"bench": True}
            person.save(update_fields=["metadata"])


def run(frames, *, label: str, interval: int, cameras: int, min_face: int) -> Run:
    from videostreams.models import Camera, Event
    from videostreams.processing import CameraConfig, Frame, Processor

    made = [Camera.objects.create(name=f"bench-video-{os.getpid()}-{label}-{i}", source="bench", enabled=False, detect_interval=interval,
                                  min_face_size=min_face) for i in range(cameras)]
    processor = Processor()
    for camera in made:
        processor.set_config(CameraConfig.from_camera(camera))
    first = made[0].id
    tracker = processor.trackers[first]
    result = Run(label, len(frames) * cameras, 0.0, 0.0, None)
    current = {"index": None}
    update, hold = tracker.update, tracker.hold

    def record(timestamp):
        for track in tracker.tracks:
            if track.last_seen == timestamp:
                result.seen.setdefault(track.id, {})[current["index"]] = track.box

    def traced_update(observations, timestamp, **kwargs):
        out = update(observations, timestamp, **kwargs)
        record(timestamp)
        return out

    def traced_hold(timestamp):
        out = hold(timestamp)
        record(timestamp)
        return out

    tracker.update, tracker.hold = traced_update, traced_hold
    wrapped = [[Frame(camera_id=c.id, image=image, timestamp=1e9 + position, index=index) for c in made] for index, position, image in frames]
    cpu_started, started = time.process_time(), time.perf_counter()
    try:
        for group in wrapped:  # one frame per camera: a round, detected in one batch across the cameras
            current["index"] = group[0].index
            processor.process(group)
        processor.flush()
        result.wall = time.perf_counter() - started
        result.cpu = time.process_time() - cpu_started
        result.counters = processor.counters[first]
        for event in Event.objects.filter(camera_id=first):
            best_index = int(event.crop.name.rsplit("-", 1)[-1].split(".")[0])
            result.events[event.track_id] = (event.person_id, best_index, event.votes)
    finally:
        Event.objects.filter(camera__in=made).delete()
        Camera.objects.filter(pk__in=[c.pk for c in made]).delete()
    return result


def iou(a, b) -> float:
    x1, y1, x2, y2 = max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])
    inter = max(0.0, x2 - x1) * max(0.0, y2 - y1)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def agreement(reference: Run, cheap: Run, details: bool = False) -> dict:
    """Match the reference's event tracks to the cheap run's (most common frames with IoU ≥ 0.5 first)."""
    pairs = []
    for r_id in reference.events:
        for c_id in cheap.events:
            r_seen, c_seen = reference.seen.get(r_id, {}), cheap.seen.get(c_id, {})
            common = sum(1 for i, box in r_seen.items() if i in c_seen and iou(box, c_seen[i]) >= 0.5)
            if common:
                pairs.append((common, r_id, c_id))
    pairs.sort(reverse=True)
    used_r, used_c, matched = set(), set(), []
    for _, r_id, c_id in pairs:
        if r_id not in used_r and c_id not in used_c:
            used_r.add(r_id)
            used_c.add(c_id)
            matched.append((r_id, c_id))
    shots = sum(1 for r, c in matched if reference.events[r][1] == cheap.events[c][1])
    total = len(reference.events)
    if details:
        names = {}
        from enrollment.models import Person
        for p in Person.objects.filter(pk__in={str(v[0]) for v in [*reference.events.values(), *cheap.events.values()] if v[0]}):
            names[p.pk] = names[str(p.pk)] = p.name
        partner = dict(matched)
        for r_id, (person, shot, _) in reference.events.items():
            c_id = partner.get(r_id)
            frames = sorted(reference.seen.get(r_id, {}))
            other = f"{c_id}: {names.get(cheap.events[c_id][0], 'unknown')}, frames {len(cheap.seen.get(c_id, {}))}" if c_id else "missed"
            print(f"    ref {r_id}: {names.get(person, 'unknown')}, frames {len(frames)} ({frames[:1]}..{frames[-1:]}) -> {other}")
            if c_id and cheap.events[c_id][0] != person:
                for label, votes in (("ref", reference.events[r_id][2]), ("cheap", cheap.events[c_id][2])):
                    print(f"      {label} votes: " + ", ".join(f"{names.get(v['person'], v['person'])} {v['score']} w{v['weight']}"
                                                      for v in votes.get("votes", [])) + f" (threshold {votes.get('threshold')})")
        for c_id in set(cheap.events) - set(partner.values()):
            print(f"    extra {c_id}: {names.get(cheap.events[c_id][0], 'unknown')}, frames {sorted(cheap.seen.get(c_id, {}))}")
    names = sum(1 for r, c in matched if reference.events[r][0] == cheap.events[c][0])
    return {"recall": len(matched) / total if total else 1.0, "matched": len(matched), "reference": total,
            "names": names / len(matched) if matched else 1.0, "named_agree": names,
            "shots": shots / len(matched) if matched else 1.0, "extra": len(cheap.events) - len(matched)}


def bench_decode(frames, fps: float) -> float:
    """Wall seconds per decoded frame of an MP4 (mp4v) made from the frames (one decoder thread)."""
    import cv2

    height, width = frames[0][2].shape[:2]
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "bench.mp4")
        writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
        for _ in range(2):
            for _, _, image in frames:
                writer.write(image)
        writer.release()
        capture = cv2.VideoCapture(path, cv2.CAP_FFMPEG)
        decoded = 0
        started = time.perf_counter()
        while capture.read()[0]:
            decoded += 1
        elapsed = time.perf_counter() - started
        capture.release()
    return elapsed / max(decoded, 1)


def bench_live(frames, *, cameras: int, seconds: float, camera_fps: float, stream_fps: float, interval: int) -> None:
    import threading

    import cv2
    from django.conf import settings
    from django.db import connection

    from videostreams.models import Camera, Event
    from videostreams.runner import Runner

    height, width = frames[0][2].shape[:2]
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "live.mp4")
        writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"mp4v"), stream_fps, (width, height))
        for i in range(int((seconds + 5) * camera_fps)):
            for _ in range(max(1, int(stream_fps / camera_fps))):
                writer.write(frames[i % len(frames)][2])
        writer.release()
        settings.FACEAPP_CAMERA_BACKOFF_MIN_SECONDS = 0.1
        made = [Camera.objects.create(name=f"bench-live-{os.getpid()}-{i}", source=path, sample_fps=camera_fps, min_quality=0.0,
                                      detect_interval=interval) for i in range(cameras)]
        runner = Runner(refresh_seconds=1.0)
        thread = threading.Thread(target=lambda: (runner.run_forever(), connection.close()), daemon=True)
        thread.start()
        try:
            time.sleep(3)  # readers open, models warm
            start = {c.id: (runner.processor.counters[c.id].frames, runner.queue.dropped(c.id)) for c in made}
            cpu = time.process_time()
            time.sleep(seconds)
            cpu = time.process_time() - cpu
            total = 0
            for camera in made:
                counters = runner.processor.counters[camera.id]
                frames0, dropped0 = start[camera.id]
                total += counters.frames - frames0
                print(f"  live {camera.name}: {(counters.frames - frames0) / seconds:.1f} analysed frames/s, "
                      f"{runner.queue.dropped(camera.id) - dropped0} frames dropped in {seconds:g} s")
            print(f"  live, {cameras} camera(s) at {camera_fps:g} fps, interval {interval}: {total / seconds:.1f} analysed frames/s in all, "
                  f"process CPU {cpu / seconds * 100:.0f}% (readers decoding {stream_fps:g} fps streams included)")
        finally:
            runner.stop()
            thread.join(timeout=60)
            Event.objects.filter(camera__in=made).delete()
            Camera.objects.filter(pk__in=[c.pk for c in made]).delete()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", nargs="+", default=["hamilton", "crowd"], help="hamilton, crowd or video paths (default: both)")
    parser.add_argument("--sizes", nargs="+", default=["720p", "1080p"], choices=list(SIZES), help="frame sizes (default: 720p 1080p)")
    parser.add_argument("--frames", type=int, default=200, help="at most this many frames per clip (default 200)")
    parser.add_argument("--sample-fps", type=float, default=5, help="rate the frames are taken from the video (default 5)")
    parser.add_argument("--intervals", type=int, nargs="+", default=[5], help="detect_interval values of the cheap path (default 5)")
    parser.add_argument("--cameras", type=int, nargs="+", default=[1], help="cameras fed the same frames, batched (default 1)")
    parser.add_argument("--min-face", type=int, default=40, help="camera minimum face size in px (default 40)")
    parser.add_argument("--camera-fps", type=float, default=5, help="analysed frames/s per camera (default 5)")
    parser.add_argument("--stream-fps", type=float, default=25, help="frames/s a camera sends (default 25)")
    parser.add_argument("--details", action="store_true", help="print each reference event and its cheap-path counterpart")
    parser.add_argument("--no-reference", action="store_true", help="skip the reference runs (speed only)")
    parser.add_argument("--live", type=int, nargs="*", default=[], help="also run the real runner on this many cameras (e.g. --live 5)")
    parser.add_argument("--live-seconds", type=float, default=20, help="seconds of each --live run (default 20)")
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings

    from recognition import embedders, pipeline

    enrol_people()
    cores = os.cpu_count() or 1
    print(f"{cores} CPU cores, ONNX Runtime threads {settings.FACEAPP_ORT_THREADS}, embedder {settings.FACEAPP_EMBEDDER} "
          f"(flip {'on' if settings.FACEAPP_EMBED_FLIP else 'off'}), min face {args.min_face}; load average {os.getloadavg()[0]:.1f}")
    header = (f"{'clip':<9} {'size':>5} {'cams':>4} {'interval':>8} {'frames':>6} {'frames/s':>8} {'CPU ms/fr':>9} {'cams@' + format(args.camera_fps, 'g') + 'fps':>9}"
              f" {'w/decode':>8} {'idle fr/s':>9} {'full':>5} {'regions':>7} {'still':>5} {'embedded':>8} {'events':>6}"
              f" {'recall':>11} {'names':>11} {'same shot':>9} {'extra':>5}")
    warmed = False
    for clip in args.clips:
        path = CLIPS.get(clip, Path(clip))
        if not path.is_file():
            print(f"{clip}: {path} is missing" + (" (make it with bench/make_clip.py)" if clip == "crowd" else ""))
            continue
        for size_name in args.sizes:
            frames = load_frames(path, args.frames, args.sample_fps, SIZES[size_name])
            if not warmed:
                rgb = frames[0][2][:, :, ::-1].copy()
                faces = pipeline.describe(rgb, pipeline.detect(rgb, min_face_size=args.min_face, min_score=0.95))
                embedders.active().embed([f.crop for f in faces] or [rgb[:160, :160].copy()])
                warmed = True
            decode_s = bench_decode(frames, args.stream_fps)
            print(f"\n{clip} at {size_name}: {len(frames)} frames ({args.sample_fps:g} fps); decoding {decode_s * 1000:.1f} ms per frame; "
                  f"load average {os.getloadavg()[0]:.1f}")
            print(header)
            for cameras in args.cameras:
                reference = None
                if not args.no_reference:
                    reference = run(frames, label=f"{clip}-{size_name}-ref", interval=1, cameras=cameras, min_face=args.min_face)
                runs = ([reference] if reference else []) + [
                    run(frames, label=f"{clip}-{size_name}-{n}", interval=n, cameras=cameras, min_face=args.min_face)
                    for n in args.intervals if n > 1]
                for result, interval in zip(runs, ([1] if reference else []) + [n for n in args.intervals if n > 1]):
                    fps = result.frames / result.wall
                    cpu_ms = result.cpu / result.frames * 1000
                    idle_fps = cores / (cpu_ms / 1000)
                    with_decode = 1 / (args.camera_fps / fps + args.stream_fps * decode_s / cores)
                    c = result.counters
                    text = (f"{clip:<9} {size_name:>5} {cameras:>4} {interval:>8} {result.frames:>6} {fps:>8.1f} {cpu_ms:>9.1f} {fps / args.camera_fps:>9.1f}"
                            f" {with_decode:>8.1f} {idle_fps:>9.1f} {c.full:>5} {c.regions:>7} {c.still:>5} {c.embedded:>8} {len(result.events):>6}")
                    if reference is not None and result is not reference:
                        a = agreement(reference, result, args.details)
                        text += (f" {a['recall']:>5.3f} ({a['matched']}/{a['reference']})".rjust(12)
                                 + f" {a['names']:>5.3f} ({a['named_agree']}/{a['matched']})".rjust(12)
                                 + f" {a['shots']:>9.3f} {a['extra']:>5}")
                    print(text, flush=True)
    for cameras in args.live:
        frames = load_frames(CLIPS["hamilton"], args.frames, args.sample_fps, SIZES["720p"])
        bench_live(frames, cameras=cameras, seconds=args.live_seconds, camera_fps=args.camera_fps, stream_fps=args.stream_fps,
                   interval=max(args.intervals))


if __name__ == "__main__":
    main()

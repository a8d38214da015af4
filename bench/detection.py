"""Detection recall and speed: the detector on lfw-dev, the shared samples and video frames.

    .venv/bin/python bench/detection.py                     # the default detector (MTCNN)
    .venv/bin/python bench/detection.py --detector scrfd    # the opt-in SCRFD (FACEAPP_ACCEPT_NONCOMMERCIAL_MODELS=1)

Recall figures (deterministic, independent of the machine's load):
  - lfw-dev: photos (250×250, one centred subject) in which a face is found whose box centre lies
    within 30 px of the photo's centre, at the API's settings (FACEAPP_MIN_FACE_SIZE, FACEAPP_DETECTION_THRESHOLD);
  - samples: faces found per photo of ../shared/data/samples, against the count a person sees in it
    (EXPECTED below; `cameraman` is greyscale, `obama_and_biden` holds a child at the lower right);
  - small faces: the lfw-dev photos shrunk so that the face is about --small px wide (min face 12);
  - nonfaces: false detections on the 17 photos without a face.
Speed: CPU ms and wall ms per photo (median) of `recognition.pipeline.detect`, as the API runs it.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "faceapp.settings")

# Faces a person counts in each sample photo (large enough to recognise; the child in obama_and_biden counts).
EXPECTED = {
    "alex-lacamoire.png": 1, "alex_lacamoire_img1.jpg": 1, "astronaut.jpg": 1, "biden.jpg": 1, "biden_biden2.jpg": 1,
    "cameraman.jpg": 1, "kit_with_rose.jpg": 2, "lin-manuel-miranda.png": 1, "obama-1080p.jpg": 1, "obama-240p.jpg": 1,
    "obama-480p.jpg": 1, "obama-720p.jpg": 1, "obama.jpg": 1, "obama2.jpg": 1, "obama_and_biden.jpg": 3,
    "rose_leslie_img1.jpg": 1, "rose_leslie_img2.jpg": 1, "two_people.jpg": 2,
}


def load(path: Path):
    import numpy as np
    from PIL import Image

    with Image.open(path) as photo:
        return np.asarray(photo.convert("RGB"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--detector", default="", help="FACEAPP_DETECTOR to measure (default: the configured one)")
    parser.add_argument("--limit", type=int, default=0, help="only the first N lfw-dev photos (default: all 1,930)")
    parser.add_argument("--small", type=int, default=24, help="face width in px for the small-face recall (default 24)")
    parser.add_argument("--speed-runs", type=int, default=10, help="timed runs per photo size (default 10)")
    args = parser.parse_args()
    if args.detector:
        os.environ["FACEAPP_DETECTOR"] = args.detector

    import django

    django.setup()
    import cv2
    from django.conf import settings

    from recognition import pipeline

    min_face, min_score = settings.FACEAPP_MIN_FACE_SIZE, settings.FACEAPP_DETECTION_THRESHOLD

    def detect(image, min_face_size=min_face):
        return pipeline.detect(image, min_face_size=min_face_size, min_score=min_score)

    print(f"detector {getattr(settings, 'FACEAPP_DETECTOR', 'mtcnn')}; min face {min_face}, threshold {min_score}; "
          f"load average {os.getloadavg()[0]:.1f}")
    photos = sorted((DATA / "lfw-dev").glob("*/*.jpg"))
    if args.limit:
        photos = photos[: args.limit]
    found = small_found = faces_total = 0
    small_tried = 0
    missed = []
    for path in photos:
        image = load(path)
        height, width = image.shape[:2]
        faces = detect(image)
        faces_total += len(faces)
        central = [f for f in faces if abs((f.box[0] + f.box[2]) / 2 - width / 2) < 30 and abs((f.box[1] + f.box[3]) / 2 - height / 2) < 30]
        if central:
            found += 1
            # The same photo shrunk so that this face is about --small px wide.
            factor = args.small / central[0].width
            if factor < 1:
                small_tried += 1
                shrunk = cv2.resize(image, (max(1, round(width * factor)), max(1, round(height * factor))), interpolation=cv2.INTER_AREA)
                sh, sw = shrunk.shape[:2]
                if any(abs((f.box[0] + f.box[2]) / 2 - sw / 2) < 30 * factor + 2 and abs((f.box[1] + f.box[3]) / 2 - sh / 2) < 30 * factor + 2
                       for f in detect(shrunk, min_face_size=12)):
                    small_found += 1
        else:
            missed.append(path.name)
    print(f"lfw-dev: central face found in {found}/{len(photos)} photos ({found / len(photos):.4f}); "
          f"{faces_total} faces in all; missed: {', '.join(missed[:12])}{' ...' if len(missed) > 12 else ''}")
    print(f"small faces (~{args.small} px, min face 12): {small_found}/{small_tried} ({small_found / max(small_tried, 1):.4f})")

    counted = expected = 0
    lines = []
    for name, want in sorted(EXPECTED.items()):
        path = DATA / "samples" / name
        if not path.is_file():
            continue
        got = len(detect(load(path)))
        counted += min(got, want)
        expected += want
        lines.append(f"{name}={got}" + ("" if got == want else f" (expected {want})"))
    print(f"samples: {counted}/{expected} expected faces found; " + ", ".join(lines))
    false = 0
    for path in sorted((DATA / "nonfaces").iterdir()):
        if path.suffix.lower() in {".jpg", ".jpeg", ".png"}:
            false += len(detect(load(path)))
    print(f"nonfaces: {false} false detections")

    print(f"{'photo':<24} {'size':>10} {'faces':>5} {'wall ms p50':>12} {'CPU ms':>8}")
    for label, path in [("lfw-dev 250x250", photos[0]), ("obama-240p", DATA / "samples" / "obama-240p.jpg"),
                        ("obama-480p", DATA / "samples" / "obama-480p.jpg"), ("obama-720p", DATA / "samples" / "obama-720p.jpg"),
                        ("obama-1080p", DATA / "samples" / "obama-1080p.jpg")]:
        image = load(path)
        faces = len(detect(image))
        walls, cpus = [], []
        for _ in range(args.speed_runs):
            wall, cpu = time.perf_counter(), time.process_time()
            detect(image)
            walls.append(time.perf_counter() - wall)
            cpus.append(time.process_time() - cpu)
        print(f"{label:<24} {image.shape[1]:>4}x{image.shape[0]:<5} {faces:>5} {statistics.median(walls) * 1000:>12.1f} "
              f"{statistics.median(cpus) * 1000:>8.1f}")


if __name__ == "__main__":
    main()

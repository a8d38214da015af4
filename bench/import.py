"""Bulk import throughput: `import_faces` on lfw-dev (1,930 photos), in images per second.

    .venv/bin/python bench/import.py                                  # lfw-dev, workers 1 and 2, batch 32
    .venv/bin/python bench/import.py --workers 1 2 --batch-size 16 64 --limit 600
    .venv/bin/python bench/import.py --workers 2 --ort-threads 2       # oversubscribed, for comparison

Each configuration imports the whole set into a scratch database (created beside the configured one
and dropped at the end) with media in a temporary folder, so enrolled data is never touched. The
models are loaded and warmed before the clock starts; the time covers everything else: reading,
hashing, decoding, detection, embedding, writing crops/thumbnails/source photos and rows.

On a machine shared with other jobs the wall-clock rate depends on their load, so the script also
prints the CPU time this process spent per photo (all threads, user + system; PostgreSQL's own work
is not counted) and the rate two idle cores would bound it to: 2000 / (CPU ms per photo).

Measured here (2 shared AMD EPYC cores, ONNX Runtime 1.32.0 CPU, batch 32), 2026-11-26:
  lfw-dev, all 1,930 photos, 2 workers × 1 ORT thread: 39.0 photos/s (49.5 s; 38.3 CPU ms/photo),
      load average 2.3–2.7 from other jobs; 24.1 photos/s at load average 6–8.
  first 600 photos, load average 2.1–2.5: 2 workers × 1 thread 46.3 photos/s, 1 worker × 1 thread
      29.4 photos/s; 2 workers × 2 threads (oversubscribed) 20.7 photos/s at 79 CPU ms/photo.
So the default is one worker per core with FACEAPP_ORT_THREADS / workers threads per session.
"""
from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "faceapp.settings")

DATA = ROOT.parent / "shared" / "data" / "lfw-dev"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("path", nargs="?", type=Path, default=DATA, help="folder of per-person folders (default lfw-dev)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="worker threads to try (default 1 2)")
    parser.add_argument("--batch-size", type=int, nargs="+", default=[32], help="batch sizes to try (default 32)")
    parser.add_argument("--limit", type=int, default=None, help="only the first N photos")
    parser.add_argument("--ort-threads", type=int, default=None,
                        help="ONNX Runtime threads per session (default: what import_faces picks for the most workers: "
                             "FACEAPP_ORT_THREADS / workers, at least 1)")
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings
    from django.db import connection

    from enrollment import importing
    from enrollment.models import Face, Person, Watchlist
    from recognition import batch, pipeline, runtime

    entries = importing.entries_from_folder(args.path)[: args.limit]
    if args.ort_threads:
        settings.FACEAPP_ORT_THREADS = args.ort_threads
    else:
        batch.share_cores(max(args.workers))
    original_name = connection.settings_dict["NAME"]
    settings.DATABASES["default"].setdefault("TEST", {})["NAME"] = f"faceapp_bench_import_{os.getpid()}"
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    media = Path(tempfile.mkdtemp(prefix="faceapp-bench-media-"))
    settings.MEDIA_ROOT = str(media)
    try:
        pipeline.analyse_bytes(entries[0].path.read_bytes())  # load and warm the models
        pipeline.analyse_bytes(entries[1].path.read_bytes())
        print(f"data: {args.path}  photos: {len(entries)}  cpus: {os.cpu_count()}  "
              f"ORT threads: {settings.FACEAPP_ORT_THREADS}  providers: {runtime.resolve_providers()}  "
              f"load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
        print("| workers | batch | photos/s | seconds | CPU ms/photo | 2-core bound, photos/s | imported | no face | several faces (largest used) | other |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        for batch_size in args.batch_size:
            for workers in args.workers:
                Face.objects.all().delete()
                Person.objects.all().delete()
                Watchlist.objects.all().delete()
                shutil.rmtree(media, ignore_errors=True)
                options = importing.ImportOptions(batch_size=batch_size, workers=workers, source_label="bench")
                cpu_before = _cpu_seconds()
                started = time.perf_counter()
                summary = importing.import_entries(entries, options)
                seconds = time.perf_counter() - started
                cpu_ms = 1000 * (_cpu_seconds() - cpu_before) / len(entries)
                c = summary.counts
                other = summary.processed - c["imported"] - c["no_face"]
                print(f"| {workers} | {batch_size} | {len(entries) / seconds:.1f} | {seconds:.1f} | {cpu_ms:.1f} | "
                      f"{2000 / cpu_ms:.1f} | {c['imported']} | "
                      f"{c['no_face']} | {summary.several_faces_largest_used} | {other} |", flush=True)
        print(f"load average after: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    finally:
        connection.creation.destroy_test_db(original_name, verbosity=0)
        shutil.rmtree(media, ignore_errors=True)


def _cpu_seconds() -> float:
    """CPU time of this process (all its threads), user + system."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


if __name__ == "__main__":
    main()

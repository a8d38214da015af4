"""Model throughput on each ONNX Runtime provider, through the code path the server uses.

    .venv/bin/python bench/gpu.py                          # every provider this onnxruntime has
    .venv/bin/python bench/gpu.py --providers CPUExecutionProvider --photos DIR

FaceNet and ArcFace: faces/s at batch 1, 8 and 64 (`recognition.embedder.embed`, `recognition.arcface.embed`). MTCNN: whole-cascade photos/s
(`recognition.pipeline.detect`, which downscales large photos as the server does) on each photo, and
one P-Net pass on a 640×480 frame. The batched path: `recognition.pipeline.detect_many` over 1, 16 and
64 lfw-dev photos (one detector batch: P-Net once per level shape, R-Net and O-Net once), and
detect + crop + FaceNet of 16 and 64 photos end to end (the GPU goal: ≥ 2,000 photos/s). Each figure is the median of timed runs after warm-up runs.

On a machine with the project installed it runs with the project's settings. On a bare GPU machine
(numpy, Pillow, OpenCV, Django and onnxruntime-gpu importable, the models in `--model-dir`) it
configures just the pipeline's settings, with the same defaults.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PIPELINE_DEFAULTS = {
    "FACEAPP_MAX_UPLOAD_BYTES": 15 * 1024 * 1024,
    "FACEAPP_MAX_IMAGE_PIXELS": 40_000_000,
    "FACEAPP_MIN_FACE_SIZE": 20,
    "FACEAPP_DETECTION_THRESHOLD": 0.95,
    "FACEAPP_DETECT_MAX_SIDE": 1280,
    "FACEAPP_EMBED_BATCH_SIZE": 64,
}


def configure(model_dir: Path | None, threads: int) -> None:
    from django.conf import settings

    try:
        import dj_database_url  # noqa: F401  (present where the project is installed)

        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "faceapp.settings")
        import django

        django.setup()
        if model_dir:
            settings.FACEAPP_MODEL_DIR = model_dir
        settings.FACEAPP_ORT_THREADS = threads
    except ImportError:
        settings.configure(
            FACEAPP_MODEL_DIR=model_dir or ROOT / "models",
            FACEAPP_ORT_PROVIDERS=["auto"],
            FACEAPP_ORT_THREADS=threads,
            FACEAPP_ORT_CUDNN_CONV_ALGO_SEARCH="HEURISTIC",
            **PIPELINE_DEFAULTS,
        )


def timed(fn, *, warmup: int, runs: int) -> float:
    """Median seconds of `fn()` over `runs` runs after `warmup` untimed ones."""
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def bench_provider(provider: str, photos: list[Path], runs: int) -> list[tuple[str, str, float]]:
    import numpy as np
    from django.conf import settings

    from recognition import arcface, detector, embedder, images, pipeline, runtime

    # Fresh sessions for this provider.
    runtime._sessions.clear()
    detector._default_detector = None
    settings.FACEAPP_ORT_PROVIDERS = [provider]
    session = runtime.get_session("facenet")
    actual = session.get_providers()[0]
    rows = []
    rng = np.random.default_rng(0)
    for batch in (1, 8, 64):
        crops = rng.integers(0, 256, size=(batch, 160, 160, 3), dtype=np.uint8)
        seconds = timed(lambda: embedder.embed(crops, batch_size=batch), warmup=3, runs=runs)
        rows.append((actual, f"FaceNet batch {batch}", batch / seconds))

    if runtime.model_path(arcface.MODEL_NAME).is_file():
        for batch in (1, 8, 64):
            faces = rng.integers(0, 256, size=(batch, 112, 112, 3), dtype=np.uint8)
            seconds = timed(lambda: arcface.embed(faces, batch_size=batch), warmup=3, runs=runs)
            rows.append((actual, f"ArcFace MobileFaceNet batch {batch}", batch / seconds))

    pnet = runtime.get_session("mtcnn_pnet")
    frame = np.zeros((1, 3, 480, 640), dtype=np.float32)
    name = pnet.get_inputs()[0].name
    seconds = timed(lambda: pnet.run(None, {name: frame}), warmup=3, runs=runs)
    rows.append((actual, "P-Net one 640x480 pass (ms)", seconds * 1000))

    # The batched path: many photos through one detector batch, then one embedding batch (detect + crop + embed).
    lfw = sorted((ROOT.parent / "shared" / "data" / "lfw-dev").glob("*/*.jpg"))[:64]
    if lfw:
        faces_photos = [images.decode(p.read_bytes(), max_bytes=10 * 1024 * 1024, max_pixels=10_000_000) for p in lfw]
        min_face, min_score = settings.FACEAPP_MIN_FACE_SIZE, settings.FACEAPP_DETECTION_THRESHOLD
        for batch in (1, 16, 64):
            chunk = faces_photos[:batch]
            seconds = timed(lambda: pipeline.detect_many(chunk, min_face_size=min_face, min_score=min_score), warmup=2, runs=max(3, runs // 4))
            rows.append((actual, f"MTCNN detect_many 250x250, batch {batch}: photos/s", batch / seconds))

        def end_to_end(chunk):
            found = pipeline.detect_many(chunk, min_face_size=min_face, min_score=min_score)
            crops = [pipeline.describe(image, sorted(d, key=lambda x: -x.area)[:1])[0].crop for image, d in zip(chunk, found) if d]
            embedder.embed(crops, batch_size=64)
        for batch in (16, 64):
            chunk = faces_photos[:batch]
            seconds = timed(lambda: end_to_end(chunk), warmup=2, runs=max(3, runs // 4))
            rows.append((actual, f"detect + crop + FaceNet, 250x250 batch {batch}: photos/s", batch / seconds))

    for photo in photos:
        image = images.decode(photo.read_bytes(), max_bytes=50 * 1024 * 1024, max_pixels=100_000_000)
        detect = lambda: pipeline.detect(image, min_face_size=settings.FACEAPP_MIN_FACE_SIZE, min_score=settings.FACEAPP_DETECTION_THRESHOLD)  # noqa: E731
        found = len(detect())
        seconds = timed(detect, warmup=2, runs=runs)
        rows.append((actual, f"MTCNN {photo.name} {image.shape[1]}x{image.shape[0]} ({found} faces) photos/s", 1 / seconds))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--providers", default="", help="comma-separated providers (default: all this onnxruntime has)")
    parser.add_argument("--photos", type=Path, default=ROOT.parent / "shared" / "data" / "samples", help="folder of photos for MTCNN (obama-*.jpg)")
    parser.add_argument("--model-dir", type=Path, default=None, help="folder with the built .onnx models (default: the project's)")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="intra-op threads for CPU sessions")
    parser.add_argument("--cudnn-algo-search", default="", help="comma-separated FACEAPP_ORT_CUDNN_CONV_ALGO_SEARCH values (FaceNet on CUDA) to compare, e.g. HEURISTIC,EXHAUSTIVE")
    parser.add_argument("--runs", type=int, default=20, help="timed runs per figure (default 20)")
    args = parser.parse_args()

    configure(args.model_dir, args.threads)
    import onnxruntime as ort

    if hasattr(ort, "preload_dlls"):
        ort.preload_dlls()  # the CUDA/cuDNN libraries shipped as Python packages
    available = ort.get_available_providers()
    providers = [p for p in (args.providers.split(",") if args.providers else available) if p in available]
    providers = [p for p in providers if p in ("CUDAExecutionProvider", "CPUExecutionProvider")]
    photos = sorted(args.photos.glob("obama-*.jpg")) + sorted(args.photos.glob("lfw-*.jpg"))
    print(f"onnxruntime {ort.__version__}, providers {available}, CPU threads {args.threads}")
    print(f"{'provider':<24} {'figure':<58} {'value':>10}")
    from django.conf import settings

    for provider in providers:
        searches = args.cudnn_algo_search.split(",") if provider == "CUDAExecutionProvider" and args.cudnn_algo_search else [None]
        for search in searches:
            if search:
                settings.FACEAPP_ORT_CUDNN_CONV_ALGO_SEARCH = search
            label = f"{provider[:4]}/{search}" if search else provider
            for actual, figure, value in bench_provider(provider, photos, args.runs):
                print(f"{label if actual == provider else actual:<24} {figure:<58} {value:>10.1f}", flush=True)


if __name__ == "__main__":
    main()

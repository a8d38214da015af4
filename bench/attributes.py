"""Face attribute and liveness models: accuracy on labelled photos, sanity checks, and cost per face (in-process).

    .venv/bin/python bench/attributes.py [--labels ../shared/data/lfw-dev-gender.csv] [--plot docs/attributes-confusion.png]
    .venv/bin/python bench/attributes.py --models faceapi-age-gender,mini-xception-gender   # only these (faster)

Measures every model of recognition/attribute_models.py, including those without a licence for commercial
use (this process opts in for the measurement only; a server needs FACEAPP_ACCEPT_NONCOMMERCIAL_MODELS=1):

- gender accuracy on lfw-dev with the labels' genders (all photos of the labelled people, largest face), also
  on the half of the people no crop size was chosen on, and the confusion matrices as a PNG;
- age: the ages each age model gives the sample photos of people of known birth year (an ordering check;
  no age-labelled photo set was found in a registry package, so no MAE is measured here);
- liveness: the share of lfw-dev's genuine photos each liveness model calls live at the default threshold
  (the bona fide side only: no presentation attacks were available);
- cost: p50 milliseconds per face at batch 1 (face region cut + model), with the server's ONNX Runtime
  settings; print `uptime` beside it, the machine may be shared.
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
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "faceapp.settings")
DATA = ROOT.parent / "shared" / "data"

# Sample photos of people whose birth years are public, to check that ages come out in order.
AGE_SAMPLES = [("rose_leslie_img1.jpg", "Rose Leslie", 1987), ("lin-manuel-miranda.png", "Lin-Manuel Miranda", 1980),
               ("obama.jpg", "Barack Obama", 1961), ("biden.jpg", "Joe Biden", 1942)]


def p50(call, runs: int) -> float:
    call()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--labels", default=str(DATA / "lfw-dev-gender.csv"))
    parser.add_argument("--photos", default=str(DATA / "lfw-dev"))
    parser.add_argument("--plot", default=None,
                        help="Confusion matrices PNG (default docs/attributes-confusion.png when every model is measured; "
                             "with --models, none unless given).")
    parser.add_argument("--models", default=None,
                        help="Comma-separated model names (recognition/attribute_models.py) to measure; default all.")
    parser.add_argument("--runs", type=int, default=50, help="Timed runs per model for the cost (default 50).")
    args = parser.parse_args()

    import django
    from django.conf import settings

    django.setup()
    settings.FACEAPP_ACCEPT_NONCOMMERCIAL_MODELS = True  # measurement only, never a server's setting

    import numpy as np

    from recognition import attribute_evaluation, attribute_models, images, pipeline, runtime

    if args.models:
        unknown = sorted(set(args.models.split(",")) - set(attribute_models.MODELS))
        if unknown:
            parser.error(f"unknown models: {', '.join(unknown)} (known: {', '.join(attribute_models.MODELS)})")
        models = [attribute_models.MODELS[name] for name in args.models.split(",")]
    else:
        models = list(attribute_models.MODELS.values())
        args.plot = args.plot or str(ROOT / "docs" / "attributes-confusion.png")

    print(f"uptime: {os.popen('uptime').read().strip()}")
    print(f"ONNX Runtime threads per session: {settings.FACEAPP_ORT_THREADS}")
    labels = attribute_evaluation.read_labels(Path(args.labels))
    faces = attribute_evaluation.collect(Path(args.photos), labels)
    print(f"\n{len(faces.regions)} labelled faces of {len(set(faces.people))} people "
          f"({sum(g == 'female' for g in faces.genders)} women, {sum(g == 'male' for g in faces.genders)} men; "
          f"{faces.no_face} photos without a face)")

    print("\n| gender model | licence clear for commercial use | accuracy (all) | held-out half of the people | women called men | men called women |")
    print("|---|---|---|---|---|---|")
    results = []
    for model in models:
        if "gender" not in model.provides:
            continue
        result = attribute_evaluation.gender_result(model, faces)
        results.append(result)
        (ff, fm), (mf, mm) = result.confusion
        print(f"| {model.name} | {'no' if model.non_commercial else 'yes'} | {result.accuracy:.3f} | {result.held_out_accuracy:.3f} "
              f"| {fm}/{ff + fm} | {mf}/{mf + mm} |")
    if args.plot and results:
        attribute_evaluation.plot_confusion(results, Path(args.plot))
        print(f"\nconfusion matrices: {args.plot}")

    regions = {}
    for photo, _, _ in AGE_SAMPLES:
        image = images.decode((DATA / "samples" / photo).read_bytes(), max_bytes=1 << 28, max_pixels=1 << 28)
        face = pipeline.analyse_image(image, with_embeddings=False).largest_face()
        regions[photo] = attribute_models.face_region(image, face.detection)
    print("\n| age model | " + " | ".join(f"{name} (born {year})" for _, name, year in AGE_SAMPLES) + " | in birth order |")
    print("|---|" + "---|" * (len(AGE_SAMPLES) + 1))
    for model in models:
        if "age" not in model.provides:
            continue
        ages = [r["age"] for r in attribute_models.run(model, [regions[p] for p, _, _ in AGE_SAMPLES], runtime.get_session(model.onnx))]
        ordered = all(a < b for a, b in zip(ages, ages[1:]))
        print(f"| {model.name} | " + " | ".join(f"{a:.1f}" for a in ages) + f" | {'yes' if ordered else 'NO'} |")

    print(f"\n| liveness model | lfw-dev photos called live at {settings.FACEAPP_LIVENESS_THRESHOLD} | median score |")
    print("|---|---|---|")
    for model in models:
        if "liveness" not in model.provides:
            continue
        decoded, _ = attribute_evaluation.predict(model, faces.regions)
        scores = np.array([d["liveness"] for d in decoded])
        print(f"| {model.name} | {np.mean(scores >= settings.FACEAPP_LIVENESS_THRESHOLD):.3f} | {np.median(scores):.3f} |")

    image = images.decode((DATA / "samples" / "obama.jpg").read_bytes(), max_bytes=1 << 28, max_pixels=1 << 28)
    detection = pipeline.analyse_image(image, with_embeddings=False).largest_face().detection
    region = attribute_models.face_region(image, detection)
    print(f"\nface region cut (once per face, shared by every model): {p50(lambda: attribute_models.face_region(image, detection), args.runs):.2f} ms")
    print("\n| model | input | ms per face (batch 1, p50) |")
    print("|---|---|---|")
    for model in models:
        session = runtime.get_session(model.onnx)
        ms = p50(lambda: attribute_models.run(model, [region], session), args.runs)
        print(f"| {model.name} | {model.input_size}×{model.input_size} {model.colour} | {ms:.2f} |")
    print(f"\nuptime: {os.popen('uptime').read().strip()}")


if __name__ == "__main__":
    main()

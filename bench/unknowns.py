"""Unknown groups on lfw-dev: pairwise precision and recall of the groups that faceapp forms from sightings.

    nice -n 10 .venv/bin/python bench/unknowns.py                    # every lfw-dev photo, the configured preset
    nice -n 10 .venv/bin/python bench/unknowns.py --presets strict,balanced --max-photos 800

Every photo's largest face goes through the API's pipeline once (cached in var/bench/, so later runs take seconds)
and is fed, in a shuffled order (the arrival order), as an API sighting of nobody enrolled through the real code:
`enrollment.sightings.record` (incremental assignment to unknown groups) in a throwaway test database, then the
re-clustering sweep (`enrollment.sweep`) twice. After each stage: pairwise precision (of the pairs of sightings put
in one group, the share that are one person) and recall (of the pairs of one person, the share put in one group),
the groups, those listed (at least FACEAPP_UNKNOWN_MIN_SIGHTINGS), and after the second sweep how many ids moved.
Goal (issue 15): precision >= 0.95 and recall >= 0.80.

`--video N` instead passes the committed clip tests/fixtures/data/video/walkby.mp4 (the one clip whose people are
known: Eileen Collins 0-2 s, Obama 2.4-6 s, then Biden on the left and the cameraman on the right) through N cameras
(`process_video`, best-shot mode: every ended track is a camera sighting), labels each sighting by its time in the clip
and its place in the frame, and prints the same figures. (`../shared/data/video/short_hamilton_clip.mp4` has no
labels of who is who, so it is not scored.)
"""
from __future__ import annotations

import argparse
import pickle
import random
import shutil
import sys
import tempfile
import time
from collections import Counter
from itertools import combinations

from _common import DATA, ROOT, scratch_databases


def embed_photos(model: str, max_photos: int | None) -> list[tuple[str, object, bytes]]:
    """[(person, vector, crop JPEG)] of lfw-dev's photos with a face, largest face each (cached per model)."""
    from enrollment.images import encode_jpeg
    from recognition import pipeline

    cache = ROOT / "var" / "bench" / f"unknowns-lfw-dev-{model.replace(':', '-')}.pkl"
    if cache.exists():
        with cache.open("rb") as f:
            faces = pickle.load(f)
    else:
        root = DATA / "lfw-dev"
        if not root.exists():
            sys.exit(f"{root} is missing (the shared data set beside the repository)")
        photos = sorted(root.glob("*/*.jpg"))
        faces, started = [], time.perf_counter()
        for i, photo in enumerate(photos):
            face = pipeline.analyse_bytes(photo.read_bytes(), max_faces=1).largest_face()
            if face is not None:
                faces.append((photo.parent.name, face.embedding, encode_jpeg(face.crop, quality=85)))
            if i % 200 == 199:
                print(f"  embedded {i + 1}/{len(photos)} photos ({time.perf_counter() - started:.0f} s)", flush=True)
        cache.parent.mkdir(parents=True, exist_ok=True)
        with cache.open("wb") as f:
            pickle.dump(faces, f)
    return faces[:max_photos] if max_photos else faces


def pairwise(truth: list[str], groups: list) -> tuple[float, float, int, int]:
    """(precision, recall, predicted pairs, true pairs) over pairs of sightings."""
    same_person = Counter(truth)
    true_pairs = sum(n * (n - 1) // 2 for n in same_person.values())
    by_group: dict = {}
    for person, group in zip(truth, groups):
        by_group.setdefault(group, []).append(person)
    predicted = correct = 0
    for members in by_group.values():
        for a, b in combinations(members, 2):
            predicted += 1
            correct += a == b
    precision = correct / predicted if predicted else 1.0
    recall = correct / true_pairs if true_pairs else 1.0
    return precision, recall, predicted, true_pairs


def report(stage: str, truth, ids, seconds: float, minimum: int) -> None:
    precision, recall, predicted, true_pairs = pairwise(truth, ids)
    sizes = Counter(ids)
    listed = sum(1 for n in sizes.values() if n >= minimum)
    print(f"| {stage} | {precision:.3f} | {recall:.3f} | {predicted:,} / {true_pairs:,} | {len(sizes):,} | {listed:,} | {seconds:.1f} |",
          flush=True)


def run_preset(preset: str, faces, seed: int) -> None:
    from django.conf import settings
    from django.utils import timezone

    from enrollment import sightings, sweep
    from enrollment.models import Sighting, UnknownGroup

    settings.FACEAPP_UNKNOWN_PRESET = preset
    Sighting.objects.all().delete()
    UnknownGroup.objects.all().delete()
    order = list(range(len(faces)))
    random.Random(seed).shuffle(order)
    from enrollment.identification import current_embedding_model

    model = current_embedding_model()
    started = time.perf_counter()
    kept = []
    for i in order:
        person, vector, crop = faces[i]
        kept.append((person, sightings.record(embedding=vector, embedding_model=model, crop_jpeg=crop, source="api",
                                              seen_at=timezone.now(), verdict="unknown", frame_key=f"photo:{i}").pk))
    truth = [person for person, _ in kept]

    def ids():
        found = dict(Sighting.objects.values_list("id", "unknown_group_id"))
        return [found[pk] for _, pk in kept]

    minimum = settings.FACEAPP_UNKNOWN_MIN_SIGHTINGS
    print(f"\npreset `{preset}` (threshold {sweep.same_unknown_policy(model, 1).threshold:.3f} at one comparison): "
          f"{len(kept)} sightings of {len(set(truth))} people, fed in a shuffled order (seed {seed})")
    incremental_then_two_sweeps(truth, ids, time.perf_counter() - started, minimum)


def incremental_then_two_sweeps(truth, ids, incremental_seconds: float, minimum: int) -> None:
    """The table of one run: the groups as made on arrival, after one sweep, and after a second (ids must hold)."""
    from enrollment import sweep

    print("| stage | precision | recall | pairs grouped / true | groups | listed (>= min) | seconds |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    report("incremental", truth, ids(), incremental_seconds, minimum)
    first = sweep.sweep()
    before_second = ids()
    report("after a sweep", truth, before_second, first.seconds, minimum)
    second = sweep.sweep()
    after = ids()
    report("after a second sweep", truth, after, second.seconds, minimum)
    moved = sum(x != y for x, y in zip(before_second, after))
    print(f"second sweep: {second.ids_kept} of {second.groups_after} group ids kept, {moved} sightings changed group")


def walkby_label(sighting, start) -> str:
    """Who a sighting of walkby.mp4 is, from where it lies in the clip (tools/make_test_fixtures.py made it so)."""
    t = (sighting.seen_at - start).total_seconds()
    if t < 2.2:
        return "Eileen_Collins"
    if t < 6.2:
        return "Barack_Obama"
    centre = sighting.box.get("x", 0) + sighting.box.get("width", 0) / 2
    return "Joe_Biden" if centre < 320 else "the_cameraman"


def run_video(cameras: int) -> None:
    from django.conf import settings
    from django.core.management import call_command

    from enrollment.models import Sighting

    clip = ROOT / "tests" / "fixtures" / "data" / "video" / "walkby.mp4"
    started = time.perf_counter()
    for n in range(cameras):
        call_command("process_video", str(clip), "--camera", f"camera {n + 1}", "--fps", "5", "--mode", "best_shot", verbosity=0)
    kept = list(Sighting.objects.order_by("camera_name", "seen_at"))
    starts = {}
    for s in kept:
        starts.setdefault(s.camera_id, s.seen_at)
    truth = [walkby_label(s, starts[s.camera_id]) for s in kept]

    def ids():
        found = dict(Sighting.objects.values_list("id", "unknown_group_id"))
        return [found[s.id] for s in kept]

    minimum = settings.FACEAPP_UNKNOWN_MIN_SIGHTINGS
    print(f"\nwalkby.mp4 through {cameras} cameras, preset `{settings.FACEAPP_UNKNOWN_PRESET}`: {len(kept)} camera sightings "
          f"(tracks) of {len(set(truth))} people: {dict(Counter(truth))}")
    incremental_then_two_sweeps(truth, ids, time.perf_counter() - started, minimum)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--presets", default="", help="comma-separated decision presets (default: FACEAPP_UNKNOWN_PRESET)")
    parser.add_argument("--max-photos", type=int, default=None, help="feed at most this many photos (default: all)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the arrival order")
    parser.add_argument("--video", type=int, default=0, metavar="N", help="feed walkby.mp4 through N cameras instead")
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings
    from django.test.utils import teardown_databases

    from enrollment.identification import current_embedding_model

    settings.MEDIA_ROOT = tempfile.mkdtemp(prefix="bench-unknowns-")
    faces = [] if args.video else embed_photos(current_embedding_model(), args.max_photos)
    old = scratch_databases()
    try:
        if args.video:
            run_video(args.video)
            return
        for preset in (args.presets or settings.FACEAPP_UNKNOWN_PRESET).split(","):
            run_preset(preset.strip(), faces, args.seed)
    finally:
        teardown_databases(old, verbosity=0)
        shutil.rmtree(settings.MEDIA_ROOT, ignore_errors=True)


if __name__ == "__main__":
    main()

import datetime as dt
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from enrollment import decision
from enrollment.models import Calibration
from recognition import batch, embedders, evaluation, evaluation_asnorm


class Command(BaseCommand):
    help = (
        "Measure recognition on a folder-per-person dataset (PATH/<person>/<photos>) before trusting a threshold. "
        "Every photo goes through the same pipeline as the API (largest face); the searches are exact cosine "
        "similarity in memory (numpy), so nothing is written to the database and enrolled data is never touched. "
        "Identification protocol: gallery = first image (with a face) of every person, probes = second image of "
        "people with two or more; prints rank-1 accuracy. Strangers protocol: a random half of the people (--seed) "
        "enrolled with their first image, all images of the other half as probes; prints FRR (enrolled people's "
        "second images not matched to them) and FAR (strangers matched to someone) at the configured "
        "FACEAPP_MATCH_THRESHOLD, the threshold at the equal error rate, FRR at FAR = 1% and 0.1%, and the "
        "photos without a face (listed with -v 2). Then, per decision preset (strict / balanced / permissive), the share of "
        "strangers named and of enrolled people missed at several gallery sizes, with the threshold the active "
        "calibration gives there. --calibrate fits a calibration on these photos and stores it for the active model; "
        "--det-plot draws the detection error trade-off. Embedding runs on --workers threads; a progress bar shows photos/s. "
        "With --attributes LABELS.csv it measures the face attribute models instead: gender accuracy (overall, and on the half "
        "of the people no crop size was chosen on) with its confusion matrix, age MAE where the labels give ages, and the "
        "cost per face. With --corrections (no PATH needed) it reports the errors operators corrected in the field instead: "
        "recognised sightings marked 'not this person' (observed false accepts) and unknown sightings later given to a person "
        "enrolled before they were seen (observed misses), per camera or API key and in total (enrollment/field_errors.py)."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", nargs="?", help="Folder with one sub-folder of photos per person (not needed with --corrections).")
        parser.add_argument("--corrections", action="store_true",
                            help="Report the operators' corrections as measured errors in the field (from the database; "
                                 "no photos needed): observed false accepts and misses per source, with their shares.")
        parser.add_argument("--since", type=int, metavar="DAYS", default=None,
                            help="With --corrections: only the sightings of the last DAYS days (default: every kept sighting).")
        parser.add_argument(
            "--threshold",
            type=float,
            default=None,
            help="A raw cosine similarity threshold to report at (default: the balanced preset's at the protocol's gallery size).",
        )
        parser.add_argument("--seed", type=int, default=0, help="Seed of the strangers protocol's split (default 0).")
        parser.add_argument(
            "--sweep",
            action="store_true",
            help="Also print FRR and FAR over thresholds "
            f"({evaluation.SWEEP[0]:.2f} to {evaluation.SWEEP[-1]:.2f} in steps of 0.05).",
        )
        parser.add_argument(
            "--plot", metavar="FILE.png", help="Write a PNG plot of FRR and FAR against the threshold (matplotlib; implies --sweep)."
        )
        parser.add_argument(
            "--workers",
            type=int,
            default=max(1, min(8, os.cpu_count() or 1)),
            help="Threads decoding, detecting and embedding in parallel (default: one per CPU).",
        )
        parser.add_argument("--batch-size", type=int, default=32, help="Photos per worker per batch (default 32).")
        parser.add_argument("--calibrate", action="store_true",
                            help="Fit the impostor-score calibration on these photos (every pair of two different people) and store "
                                 "it for the active embedding model: from then on the presets use it instead of the shipped one. "
                                 "Needs at least 20,000 different-person pairs (about 200 photos of 100 people).")
        parser.add_argument("--det-plot", metavar="FILE.png", help="Write the detection error trade-off (FRR against FAR) with the presets marked.")
        parser.add_argument("--attributes", metavar="LABELS.csv",
                            help="Evaluate the attribute models on PATH's photos with these labels (CSV header: person, gender "
                                 "and/or age) instead of recognition.")
        parser.add_argument("--attribute-models", default="",
                            help="Comma-separated attribute models to evaluate (default: those this server has enabled). Models "
                                 "without a licence for commercial use need FACEAPP_ACCEPT_NONCOMMERCIAL_MODELS=1.")
        parser.add_argument("--confusion-plot", metavar="FILE.png", help="With --attributes: write the gender confusion matrices as a PNG.")
        parser.add_argument("--limit", type=int, default=None, help="With --attributes: at most this many photos.")

    def handle(self, *args, path, threshold=None, seed=0, sweep=False, plot=None, workers=1, batch_size=32, verbosity=1,
               calibrate=False, det_plot=None, attributes=None, attribute_models="", confusion_plot=None, limit=None,
               corrections=False, since=None, **options):
        if corrections:
            return self._corrections(since)
        if not path:
            raise CommandError("Give the folder of photos (PATH), or --corrections.")
        root = Path(path)
        if not root.is_dir():
            raise CommandError(f"{root} is not a folder.")
        if attributes:
            return self._attributes(root, Path(attributes), attribute_models, confusion_plot, limit)
        if workers < 1 or batch_size < 1:
            raise CommandError("--workers and --batch-size must be at least 1.")
        batch.share_cores(workers)
        _, photos = evaluation.list_folder(root)
        bar = tqdm(total=sum(len(p) for p in photos), unit="img", desc="embedding", file=sys.stderr, dynamic_ncols=True)
        with ThreadPoolExecutor(workers) as executor:
            dataset = evaluation.embed_folder(root, executor=executor, workers=workers, batch_size=batch_size, progress=bar.update)
        bar.close()
        if not any(dataset.faces_of(i) for i in range(len(dataset.people))):
            raise CommandError(f"No face found in any photo under {root}.")
        model = embedders.model_id()
        if calibrate:
            self._calibrate(dataset, root, model)
        tail, source = decision.calibration_for(model)
        if threshold is None:
            gallery = evaluation.strangers_protocol(dataset, seed=seed).gallery_size
            threshold = decision.policy(embedding_model=model, gallery_size=gallery, preset="balanced").threshold
        report = evaluation.evaluate(dataset, threshold=threshold, seed=seed)
        self._print(root, dataset, report, verbosity)
        rows = self._presets(dataset, tail, source) if tail is not None else []
        if sweep or plot:
            self._sweep(report, plot, root)
        if det_plot:
            evaluation.det_plot(report.strangers, Path(det_plot), marks=[r for r in rows if r.gallery_size == report.strangers.gallery_size],
                                title=f"{root.name}: detection error trade-off ({embedders.active().name})")
            self.stdout.write(f"DET plot: {det_plot}")

    def _calibrate(self, dataset, root, model):
        try:
            tail = evaluation.calibrate(dataset, source=f"{root.name}: {len(dataset.people)} people")
        except ValueError as exc:
            raise CommandError(f"Cannot calibrate on {root}: {exc}") from exc
        parameters = tail.as_dict()
        shipped = decision.normalisation_for(model)
        normalised = None
        if shipped is not None:  # this embedder decides on AS-norm scores: calibrate those too, where the photos allow
            try:
                normalised = evaluation_asnorm.calibrate(dataset, source=f"{root.name}: AS-norm", k=shipped.k)
                parameters["normalisation"] = normalised.as_dict()
            except ValueError as exc:
                self.stdout.write(f"no AS-norm calibration ({exc}): with this calibration, decisions use cosine scores")
        Calibration.objects.create(embedding_model=model, parameters=parameters, source=tail.source)
        decision.forget_cached()
        self.stdout.write(f"calibration stored for {model}: {tail.pairs:,} impostor pairs, tail from {tail.u:.3f} "
                          f"(σ {tail.sigma:.4f}, ξ {tail.xi:.3f}), margin {tail.margin:.2f}")
        if normalised is not None:
            st = normalised.search_tail
            self.stdout.write(f"AS-norm (K={normalised.k}, from {normalised.min_people} people): {st.pairs:,} stranger searches, "
                              f"tail from {st.u:.3f} (σ {st.sigma:.4f}, ξ {st.xi:.3f}), margin {st.margin:.2f}")

    def _presets(self, dataset, tail, source):
        w = self.stdout.write
        w("")
        w(f"decision presets (calibration: {source})")
        w("| preset | enrolled faces | threshold | strangers named | enrolled missed |")
        w("|---|---|---|---|---|")
        rows = evaluation.preset_rows(dataset, tail, decision.PRESETS)
        for row in rows:
            w(f"| {row.preset} ({row.target:.1%}) | {row.gallery_size} | {row.threshold:.3f} | {row.far:.2%} of {row.strangers} | {row.frr:.1%} |")
        from recognition import calibration

        w("predicted thresholds at larger galleries: " + "; ".join(
            f"{n:,} faces: " + " / ".join(f"{calibration.threshold_for(tail, t, n):.3f}" for t in decision.PRESETS.values())
            for n in (10_000, 100_000, 1_000_000)) + " (strict / balanced / permissive)")
        normalised = decision.normalisation_for(embedders.model_id())
        if normalised is not None:
            w("")
            w(f"with {normalised.min_people} or more people enrolled the presets decide on AS-norm scores (K={normalised.k}), "
              f"with the cosine veto (the cosine threshold of {decision.VETO_FACTOR}× the preset's rate):")
            w("| preset | enrolled faces | normalised threshold | strangers named | enrolled missed |")
            w("|---|---|---|---|---|")
            normalised_rows = evaluation_asnorm.preset_rows(dataset, tail, normalised, decision.PRESETS)
            for row in normalised_rows:
                w(f"| {row.preset} ({row.target:.1%}) | {row.gallery_size} | {row.threshold:.3f} | {row.far:.2%} of {row.strangers} | {row.frr:.1%} |")
            if not normalised_rows:
                w(f"(not measured: the strangers protocol enrols half of these people, fewer than {normalised.min_people})")
        return rows

    def _print(self, root, dataset, r, verbosity):
        w = self.stdout.write
        ident, strangers = r.identification, r.strangers
        n_photos = dataset.photo_count
        w(f"dataset: {root}  people: {len(dataset.people)}  photos: {n_photos}")
        w(
            f"photos without a face: {len(dataset.no_face)} ({len(dataset.no_face) / n_photos:.1%})  "
            f"unreadable: {len(dataset.unreadable)}  with several faces (largest used): {dataset.several_faces}"
        )
        if verbosity >= 2:
            for p in dataset.no_face:
                w(f"  no face: {p.relative_to(root)}")
        for p, why in dataset.unreadable:
            w(f"  unreadable: {p.relative_to(root)}: {why}")
        w("search: exact cosine similarity in memory over the pipeline's embeddings (nothing stored)")
        w("")
        w(f"identification: gallery {ident.gallery_size} people (first image), {int(ident.mated.sum())} probes (second image)")
        w(_row("rank-1 accuracy", r.rank1, f"({_count(ident.nearest[ident.mated] == ident.truth[ident.mated])})"))
        w(_row(f"FRR at {r.threshold:.2f}", r.identification_frr, f"({_count(ident.mated_scores() < r.threshold)} probes not matched to themselves)"))
        mated, others = strangers.mated_scores(), strangers.stranger_scores()
        w(
            f"strangers: {strangers.gallery_size} people enrolled (first image), {len(mated)} of them probed with "
            f"their second image, {len(others)} photos of the other {len(dataset.people) - strangers.gallery_size} "
            f"people as strangers"
        )
        w(_row(f"FRR at {r.threshold:.2f}", r.frr, f"({_count(mated < r.threshold)} enrolled probes not matched to themselves)"))
        w(_row(f"FAR at {r.threshold:.2f}", r.far, f"({_count(others >= r.threshold)} strangers matched to someone)"))
        w(_row("equal error rate", (r.eer.frr + r.eer.far) / 2, f"at threshold {r.eer.threshold:.3f} (FRR {r.eer.frr:.4f}, FAR {r.eer.far:.4f})"))
        for label, op in (("FRR at FAR = 1%", r.far_1), ("FRR at FAR = 0.1%", r.far_01)):
            w(_row(label, op.frr, f"at threshold {op.threshold:.3f} (measured FAR {op.far:.4f})"))
        if len(others) and 1 / len(others) > 0.001:
            w(f"  (with {len(others)} strangers FAR moves in steps of {1 / len(others):.4f}: FAR = 0.1% means no stranger accepted)")

    def _sweep(self, r, plot, root):
        mated, others = r.strangers.mated_scores(), r.strangers.stranger_scores()
        ident = r.identification.mated_scores()
        w = self.stdout.write
        w("")
        w("| threshold | FRR (strangers protocol) | FAR | FRR (identification protocol) |")
        w("|---|---|---|---|")
        for op in evaluation.sweep(mated, others, evaluation.SWEEP):
            marker = " ←" if abs(op.threshold - r.threshold) < 1e-9 else ""
            w(f"| {op.threshold:.2f}{marker} | {op.frr:.4f} | {op.far:.4f} | {evaluation.frr(ident, op.threshold):.4f} |")
        if plot:
            rows = evaluation.sweep(mated, others, np.linspace(0.0, 1.0, 201))
            evaluation.plot(rows, Path(plot), threshold=r.threshold, eer=r.eer, title=f"{root.name}: FRR and FAR against the threshold")
            w(f"plot: {plot}")


    def _corrections(self, since_days):
        from django.utils import timezone

        from enrollment.field_errors import field_errors

        if since_days is not None and since_days < 1:
            raise CommandError("--since must be at least 1 day.")
        since = timezone.now() - dt.timedelta(days=since_days) if since_days else None
        figures = field_errors(since=since)
        window = f"seen since {since:%Y-%m-%d %H:%M} UTC" if since else "all kept sightings"
        self.stdout.write(f"Errors observed in the field: operators' corrections ({window})")
        header = f"{'source':<32} {'recognised':>10} {'not this person':>15} {'share':>8} {'unknown':>8} {'given to a person':>17} {'share':>8}"
        self.stdout.write(header)
        self.stdout.write("-" * len(header))
        for f in [*figures.places, figures.total]:
            if f is figures.total:
                self.stdout.write("-" * len(header))
            self.stdout.write(f"{f.place[:32]:<32} {f.recognised:>10} {f.false_accepts:>15} {_share(f.false_accept_share):>8} "
                              f"{f.unknown:>8} {f.misses:>17} {_share(f.miss_share):>8}")
        self.stdout.write(
            f"Observed false accepts: {figures.total.false_accepts} of {figures.total.recognised} recognised sightings "
            f"({_share(figures.total.false_accept_share)}). Observed misses: {figures.total.misses} of {figures.total.unknown} "
            f"unknown sightings ({_share(figures.total.miss_share)}), from {figures.groups_given_to_people} unknown group(s) "
            f"given to a person enrolled before; {figures.groups_enrolled} group(s) enrolled as new people (not misses). "
            "Lower bounds: only what operators noticed and corrected (undone corrections excluded).")

    def _attributes(self, root: Path, labels_path: Path, names: str, confusion_plot, limit):
        from recognition import attribute_evaluation, attribute_models
        from recognition import attributes as face_attributes

        try:
            labels = attribute_evaluation.read_labels(labels_path)
        except (OSError, ValueError) as exc:
            raise CommandError(str(exc)) from None
        if names:
            chosen = []
            for name in names.split(","):
                model = attribute_models.MODELS.get(name.strip())
                if model is None:
                    raise CommandError(f"unknown attribute model {name!r}: choose from {', '.join(attribute_models.MODELS)}")
                if model.non_commercial and not settings.FACEAPP_ACCEPT_NONCOMMERCIAL_MODELS:
                    raise CommandError(f"{model.name} has {model.licence}: set FACEAPP_ACCEPT_NONCOMMERCIAL_MODELS=1 to evaluate it.")
                chosen.append(model)
        else:
            chosen = list({m.name: m for kind in ("gender", "age") if (m := face_attributes.model_for(kind))}.values())
        bar = tqdm(total=limit, unit="img", desc="detecting", file=sys.stderr, dynamic_ncols=True)
        faces = attribute_evaluation.collect(root, labels, limit=limit, progress=bar.update)
        bar.close()
        self.stdout.write(f"{len(faces.regions)} labelled faces of {len(set(faces.people))} people ({faces.no_face} photos without a face)")
        results = []
        for model in chosen:
            if "gender" in model.provides and any(faces.genders):
                result = attribute_evaluation.gender_result(model, faces)
                results.append(result)
                (ff, fm), (mf, mm) = result.confusion
                self.stdout.write(
                    f"gender {model.name:22s} accuracy {result.accuracy:.3f} (held-out half of the people {result.held_out_accuracy:.3f}) "
                    f"on {result.faces} faces; women called men {fm}/{ff + fm}, men called women {mf}/{mf + mm}; "
                    f"{result.ms_per_face:.1f} ms/face")
            if "age" in model.provides:
                mae = attribute_evaluation.age_mae(model, faces)
                self.stdout.write(f"age    {model.name:22s} " + (f"MAE {mae[0]:.1f} years on {mae[1]} faces" if mae else "no age labels"))
        if confusion_plot and results:
            attribute_evaluation.plot_confusion(results, Path(confusion_plot))
            self.stdout.write(f"confusion matrices: {confusion_plot}")


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.2%}"


def _row(label: str, value: float, note: str) -> str:
    return f"  {label:<20} {value:.4f}  {note}"


def _count(mask) -> str:
    mask = np.asarray(mask)
    return f"{int(mask.sum())}/{len(mask)}"

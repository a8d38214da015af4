"""Bulk upload: a ZIP or a folder of per-person folders, imported in the background (enrollment.import_jobs)
with a progress bar, a per-photo report and a resume; the same code as `manage.py import_faces`."""
from __future__ import annotations

import csv

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from enrollment import import_jobs, importing
from enrollment.models import ImportJob, Watchlist
from recognition.exceptions import FaceAppError

from ..access import staff_required
from ..forms import ImportForm

REPORT_PAGE_SIZE = 100


@staff_required
def import_list(request):
    """The upload form (a ZIP posts here; a folder is sent file by file by imports.js) and the recent jobs."""
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        archive = form.cleaned_data.get("archive")
        if archive is None:
            form.add_error("archive", "Choose a ZIP file (or a folder).")
        else:
            job = import_jobs.create_job(archive.name, watchlist=form.cleaned_data["watchlist"],
                                         on_multiple_faces=form.cleaned_data["on_multiple_faces"], user=request.user)
            try:
                import_jobs.add_zip(job, archive)
                import_jobs.start(job)
            except FaceAppError as exc:
                import_jobs.discard(job)
                form.add_error("archive", exc.message)
            else:
                return redirect("ui:import", job_id=job.id)
    context = {"form": form, "jobs": import_jobs.recent_jobs(), "watchlists": Watchlist.objects.order_by("name")}
    return render(request, "ui/import_list.html", context, status=400 if request.method == "POST" else 200)


@staff_required
@require_POST
def import_new_folder(request):
    """A folder upload starts: the job, to which imports.js then sends the files (JSON answer)."""
    form = ImportForm(request.POST)
    if not form.is_valid():
        return JsonResponse({"error": "; ".join(e for errors in form.errors.values() for e in errors)}, status=400)
    job = import_jobs.create_job(request.POST.get("folder") or "folder", watchlist=form.cleaned_data["watchlist"],
                                 on_multiple_faces=form.cleaned_data["on_multiple_faces"], user=request.user)
    return JsonResponse(_status(job))


@staff_required
@require_POST
def import_files(request, job_id):
    """Some files of a folder upload, each with its path in the folder (field `path`, in the order of `file`)."""
    job = import_jobs.get_job(job_id)
    files, paths = request.FILES.getlist("file"), request.POST.getlist("path")
    if len(files) != len(paths):
        return JsonResponse({"error": "Send one path per file."}, status=400)
    try:
        import_jobs.add_files(job, zip(paths, files))
    except FaceAppError as exc:
        return JsonResponse({"error": exc.message}, status=exc.status_code)
    return JsonResponse({"received": len(files)})


@staff_required
@require_POST
def import_start(request, job_id):
    job = import_jobs.get_job(job_id)
    try:
        import_jobs.start(job)
    except FaceAppError as exc:
        return JsonResponse({"error": exc.message}, status=exc.status_code)
    return JsonResponse(_status(job))


@staff_required
def import_detail(request, job_id):
    job = import_jobs.get_job(job_id)
    reason = request.GET.get("reason", "")
    photos = job.photos.all() if reason in ("", "all") else job.photos.filter(reason=reason)
    page = Paginator(photos.order_by("index"), REPORT_PAGE_SIZE).get_page(request.GET.get("page"))
    counts = [(r, job.counts.get(r, 0)) for r in importing.REASONS if job.counts.get(r)]
    context = {"job": job, "page": page, "reason": reason, "counts": counts, "stale": import_jobs.is_stale(job),
               "received": len(import_jobs.received(job)) if job.status == ImportJob.Status.UPLOADING else 0}
    return render(request, "ui/import_detail.html", context)


@staff_required
def import_status(request, job_id):
    """The job's progress, for the page's progress bar (polled)."""
    job = import_jobs.get_job(job_id)
    status = _status(job)
    if request.GET.get("received"):
        status["received"] = import_jobs.received(job)
    return JsonResponse(status)


def _status(job: ImportJob) -> dict:
    return {"id": str(job.id), "status": job.status, "status_display": job.get_status_display(), "total": job.total,
            "processed": job.processed, "counts": job.counts, "people_created": job.people_created, "error": job.error,
            "finished": job.finished, "stale": import_jobs.is_stale(job)}


@staff_required
@require_POST
def import_control(request, job_id, action):
    job = import_jobs.get_job(job_id)
    try:
        if action == "resume":
            import_jobs.resume(job)
            messages.success(request, "Resumed: the import goes on from the first photo not handled.")
        elif action == "stop":
            import_jobs.stop(job)
            messages.success(request, "Stopping after the current batch.")
        elif action == "discard":
            import_jobs.discard(job)
            messages.success(request, "Discarded the job (what it imported stays).")
            return redirect("ui:imports")
    except FaceAppError as exc:
        messages.error(request, exc.message)
    return redirect("ui:import", job_id=job.id)


@staff_required
def import_report(request, job_id):
    """Every photo of the job and its outcome, as CSV (the columns of import_faces' report)."""
    job = import_jobs.get_job(job_id)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="import-{job.id}.csv"'
    writer = csv.writer(response)
    writer.writerow(("path", "person", "reason", "detail"))
    for photo in job.photos.order_by("index").iterator():
        writer.writerow((photo.path, photo.person_name, photo.reason, photo.detail))
    return response

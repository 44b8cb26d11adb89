"""A background batch print's pages: the job's page, its JSON status and its download.

``PrintJobMixin`` adds three endpoints to ``PrintView`` (through ``ProgressPrintMixin``):

- ``print.job``          ``/admin/print/jobs/<id>/``: what is being printed (the group's or
  track's name or the number of selected patients, the period, the version, the number of
  sheets; never a patient's name), a ``<progress>`` with "N of M sheets" in a
  ``role=status`` live region, the download link when done, a plain message and "Start it
  again" when it failed. While the job runs, the page refreshes itself every 2 s without
  JavaScript (a ``<noscript>`` meta refresh, allowed by the CSP); with JavaScript,
  ``static/js/print_batch.js`` polls the status instead;
- ``print.job_status``   ``/admin/print/jobs/<id>/status``: the same as JSON (``state``,
  ``done``, ``total``, ``text``, ``message``, ``download``), polled every 1.5 s;
- ``print.job_download`` ``/admin/print/jobs/<id>/download``: the merged PDF as an
  attachment named with ids only, ``Cache-Control: no-store``.

Only the job's owner sees any of them: anyone else, like a missing or expired id, gets 404
(``services.print_jobs`` answers None). Every status comes from the service, whose poll also
moves on a job whose worker died (``print_jobs.recover``).
"""

from __future__ import annotations

from flask import abort, current_app, jsonify, make_response, redirect, url_for
from flask_admin import expose
from flask_login import current_user

from ..extensions import db
from ..models import CareGroup, Track
from ..services import print_jobs

VERSION_WORDS = {"staff": "Staff version", "patient": "Patient version"}
STATE_WORDS = {
    "queued": "Waiting for a print worker",
    "running": "Being prepared",
    "done": "Ready",
    "failed": "Failed",
}


def sheets_text(done: int, total: int) -> str:
    """``"2 of 5 sheets"`` (``"1 of 1 sheet"``)."""
    return f"{done} of {total} sheet{'' if total == 1 else 's'}"


def job_json(status: print_jobs.JobStatus) -> dict:
    """The JSON a status poll answers (no patient data)."""
    return {
        "id": status.id,
        "state": status.state,
        "done": status.sheets_done,
        "total": status.sheets_total,
        "text": sheets_text(status.sheets_done, status.sheets_total),
        "state_text": STATE_WORDS.get(status.state, status.state),
        "message": status.message or None,
        "page": url_for(".job", job_id=status.id),
        "status": url_for(".job_status", job_id=status.id),
        "download": url_for(".job_download", job_id=status.id) if status.ready else None,
    }


def _target_words(params: dict) -> tuple[str, dict]:
    """What the batch prints, in words, and the print form's URL arguments for it."""
    kind, _, ids = params.get("target", "").partition(":")
    if kind in ("group", "track") and ids.isdigit():
        row = db.session.get(CareGroup if kind == "group" else Track, int(ids))
        name = row.name if row is not None else f"{kind} #{ids}"
        return f"{name} ({kind})", {kind: int(ids)}
    # A selection: its ids, or (a large one, whose key is hashed) the patients it prints.
    chosen = [int(i) for i in ids.split(",") if i.isdigit()] or \
        sorted(int(i) for i in params.get("patients", []) if str(i).isdigit())
    return f"{len(chosen)} selected patient{'' if len(chosen) == 1 else 's'}", {"patients": chosen}


class JobView:
    """What the job's page shows, from the owner's status and the job's parameters."""

    def __init__(self, status: print_jobs.JobStatus, params: dict) -> None:
        self.id = status.id
        self.page_url = url_for(".job", job_id=status.id)
        self.state = status.state
        self.finished = status.finished
        self.done, self.total = status.sheets_done, status.sheets_total
        self.what, form_args = _target_words(params)
        start, end, version = params.get("from", ""), params.get("to", ""), params.get("version", "staff")
        self.period = f"{start} to {end}"
        self.version = VERSION_WORDS.get(version, version)
        self.started = status.created_at.strftime("%Y-%m-%d %H:%M UTC")
        self.text = sheets_text(self.done, self.total)
        self.state_words = STATE_WORDS.get(status.state, status.state)
        self.failure = status.message or "The sheets could not be prepared. Nothing was recorded as printed."
        self.form_url = url_for(".progress_batch", **form_args, **{"from": start, "to": end, "version": version})
        self.status_url = url_for(".job_status", job_id=status.id)
        self.keep_minutes = int(current_app.config.get("CLINIC_PRINT_KEEP_MINUTES", 60))
        self.download_url = url_for(".job_download", job_id=status.id) if status.ready else ""


def recent_views(user, limit: int = 5) -> list[JobView]:
    """``user``'s latest batch print jobs (still kept), newest first, as the job page words them."""
    return [JobView(status, status.params) for status in print_jobs.recent_jobs(user, limit)]


class PrintJobMixin:
    """The job pages of ``PrintView``; see the module docstring."""

    def _status_or_404(self, job_id: int) -> print_jobs.JobStatus:
        status = print_jobs.job_status(current_user, job_id)
        if status is None:
            abort(self._job_gone())  # not yours, never was, or expired: the same answer
        return status

    def _job_gone(self):
        """The kind 404 page for a job this login cannot open: it says why prints go away."""
        page = self.render("admin/print/job_gone.html", form_url=url_for(".progress_batch"),
                           keep_minutes=int(current_app.config.get("CLINIC_PRINT_KEEP_MINUTES", 60)))
        return make_response(page, 404)

    @expose("/jobs/<int:job_id>/")
    def job(self, job_id: int):
        """The job's page: what, how far, then the download or the failure."""
        status = self._status_or_404(job_id)
        response = self.render("admin/print/job.html", job_view=JobView(status, status.params))
        return response, 200, {"Cache-Control": "no-store"}

    @expose("/jobs/<int:job_id>/status")
    def job_status(self, job_id: int):
        """The job's status as JSON, for ``print_batch.js``."""
        status = print_jobs.job_status(current_user, job_id)
        if status is None:
            abort(404)  # the page's script shows its own words
        response = jsonify(job_json(status))
        response.headers["Cache-Control"] = "no-store"
        return response

    @expose("/jobs/<int:job_id>/download")
    def job_download(self, job_id: int):
        """The finished job's PDF; a job still printing goes to its page; 404 when not the owner's or expired."""
        from .printing import pdf_response

        found = print_jobs.job_pdf(current_user, job_id)
        if found is None:
            # Still printing (or failed): its page says how far it is; otherwise it is gone.
            self._status_or_404(job_id)
            return redirect(url_for(".job", job_id=job_id))
        data, filename = found
        return pdf_response(data, filename)


__all__ = ["JobView", "PrintJobMixin", "job_json", "recent_views", "sheets_text"]

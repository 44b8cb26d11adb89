"""Reports: the programme's own view (census, hours against the minimum, ...), as pages and files.

The view reads the filters, asks ``services.reports`` for the report as the signed-in user
may see it, and draws it; files are the same report written by ``reports.files``. A bad
filter (a date that is not a date, a period longer than a year, an unknown track) is said
at the form with a 400 and nothing shown; nothing is written but the audit events.

An admin's or planner's report of a large clinic is computed by a worker
(``services.reports.runs``): the report's page and its files then use the stored result
(the page reads the stored head and the one page of a long table it shows, as inline,
and says when the figures were computed; the files read every page). While the run is queued or running, the page and the files answer with a 303
to the run's page, ``/admin/reports/runs/<id>/``: what is being prepared, refreshed every
2 s without JavaScript (``static/js/report_run.js`` polls ``.../status`` instead), then back
to the report; a failed or lost run says so plainly, with a link to ask again. Only the
run's owner sees it (404 for anyone else, like a missing or purged run).
"""

from __future__ import annotations

from flask import Response, abort, current_app, jsonify, make_response, redirect, request, url_for
from flask_admin import expose
from flask_login import current_user
import sqlalchemy as sa

from ..extensions import db
from ..models import Track
from ..services import audit
from ..services.access import allowed, role_of, sees_everyone
from ..services.errors import RuleViolation
from ..services.reports import files, kind, kinds, parse_filters, runs
from .base import SecureBaseView
from .printing import pdf_response

FILTER_ARGS = ("from", "to", "week", "track")


def _tracks():
    return db.session.execute(sa.select(Track.id, Track.name).order_by(Track.care_level, Track.name)).all()


class ReportsView(SecureBaseView):
    """Reports → every report; each as a page, a CSV per table and a PDF. Counselors: their caseload."""

    permission_key = "reports"

    @expose("/")
    def index(self):
        unfinished_url = (url_for("unfinished.index")
                          if allowed("unfinished", role_of(current_user), "r") else None)
        return self.render("admin/reports/index.html", kinds=kinds(), unfinished_url=unfinished_url,
                           caseload_only=not sees_everyone(current_user))

    def _answer(self, found, tracks, *, everything: bool):
        """The report for the request: built now, or a worker's stored result; or the run to wait for.

        Returns ``(report, computed_at, None)``, or ``(None, None, response)`` (a 303 to the run's page).
        """
        filters = parse_filters(request.args, track_ids={t.id for t in tracks})
        if runs.inline(found, current_user):
            report = found.build(filters, current_user, everything=everything) if found.pages \
                else found.build(filters, current_user)
            return report, None, None
        status = runs.ask(current_user, found, filters)
        report = None
        if status.state == "done":  # the files read every row; the page its head and one page
            report = (runs.report_of(current_user, status.id) if everything
                      else runs.page_of(current_user, status.id, filters.page))
        if report is None:
            return None, None, redirect(url_for(".run", run_id=status.id), 303)
        return report, status.finished_at, None

    @expose("/<key>/")
    def report(self, key: str):
        found = kind(key)
        if found is None:
            abort(404)
        typed = {k: request.args.get(k, "")[:20] for k in FILTER_ARGS}
        tracks = _tracks()
        try:
            report, computed_at, elsewhere = self._answer(found, tracks, everything=False)
        except RuleViolation as refused:
            return self.render("admin/reports/report.html", kind=found, tracks=tracks, typed=typed,
                               report=None, refusal=str(refused)), 400
        if elsewhere is not None:
            return elsewhere
        typed = {**{k: v for k, v in report.filters.items()}, "track": typed["track"]}
        if report.patient_ids:
            audit.record_view("report", "", report.patient_ids)
        return self.render("admin/reports/report.html", kind=found, tracks=tracks, typed=typed, report=report,
                           refusal="", computed_at=computed_at)

    @expose("/<key>.<fmt>")
    def download(self, key: str, fmt: str):
        found = kind(key)
        if fmt not in ("csv", "pdf") or found is None:
            abort(404)
        tracks = _tracks()
        try:
            report, _, elsewhere = self._answer(found, tracks, everything=True)
        except RuleViolation as refused:  # said at the report's form, as for the page; no file, no export
            typed = {k: request.args.get(k, "")[:20] for k in FILTER_ARGS}
            return self.render("admin/reports/report.html", kind=found, tracks=tracks, typed=typed,
                               report=None, refusal=str(refused)), 400
        if elsewhere is not None:
            return elsewhere
        if fmt == "pdf":
            data = files.pdf_bytes(report)
            files.export_event(report, "pdf")
            db.session.commit()
            return pdf_response(data, files.file_name(report, "pdf"))
        wanted = request.args.get("table") or report.tables[-1].key
        table = next((t for t in report.tables if t.key == wanted), None)
        if table is None:
            abort(404)
        data = files.csv_bytes(report, table)
        files.export_event(report, "csv", table)
        db.session.commit()
        return Response(data, mimetype="text/csv", headers={
            "Content-Disposition": f'attachment; filename="{files.file_name(report, "csv", table)}"',
            "Cache-Control": "no-store",
        })

    def _run_or_404(self, run_id: int) -> runs.RunStatus:
        status = runs.status(current_user, run_id)
        if status is None or kind(status.kind) is None:
            abort(404)  # not yours, never was, or purged: the same answer
        return status

    @expose("/runs/<int:run_id>/")
    def run(self, run_id: int):
        """A report being computed: what, since when, then back to the report; or why it failed."""
        status = self._run_or_404(run_id)
        report_url = url_for(".report", key=status.kind, **status.filters)
        if status.state == "done":
            return redirect(report_url, 303)  # shown there (or computed again when no longer fresh)
        page = self.render("admin/reports/run.html", run=status, kind=kind(status.kind), report_url=report_url,
                           what=_run_words(status), started=status.created_at.strftime("%Y-%m-%d %H:%M UTC"),
                           state_words=STATE_WORDS.get(status.state, status.state),
                           status_url=url_for(".run_status", run_id=status.id),
                           fresh_minutes=int(current_app.config.get("CLINIC_REPORT_FRESH_MINUTES", 5)))
        response = make_response(page)
        response.headers["Cache-Control"] = "no-store"
        return response

    @expose("/runs/<int:run_id>/status")
    def run_status(self, run_id: int):
        """The run's state as JSON, for ``report_run.js``."""
        status = self._run_or_404(run_id)
        response = jsonify({
            "id": status.id, "state": status.state, "state_text": STATE_WORDS.get(status.state, status.state),
            "message": status.message or None,
            "report": url_for(".report", key=status.kind, **status.filters) if status.state == "done" else None,
        })
        response.headers["Cache-Control"] = "no-store"
        return response


STATE_WORDS = {
    "queued": "Waiting for the report worker",
    "running": "Being computed",
    "done": "Ready",
    "failed": "Failed",
}


def _run_words(status: runs.RunStatus) -> str:
    """The run's filters in words (dates and a track's name; never a patient)."""
    chosen = status.filters
    if "week" in chosen:
        words = f"week of {chosen['week']}"
    else:
        words = f"{chosen.get('from', '')} to {chosen.get('to', '')}"
    if chosen.get("track") is not None:
        track = db.session.get(Track, int(chosen["track"]))
        words += f", {track.name if track is not None else 'track #' + str(chosen['track'])}"
    else:
        words += ", all tracks"
    return words


def register(admin) -> None:
    """Add Reports to ``admin``."""
    admin.add_view(ReportsView(name="All reports", category="Reports", endpoint="reports", url="reports"))

"""Reports: the programme's own view (census, hours against the minimum, ...), as pages and files.

The view reads the filters, asks ``services.reports`` for the report as the signed-in user
may see it, and draws it; files are the same report written by ``reports.files``. A bad
filter (a date that is not a date, a period longer than a year, an unknown track) is said
at the form with a 400 and nothing shown; nothing is written but the audit events.
"""

from __future__ import annotations

from flask import Response, abort, request, url_for
from flask_admin import expose
from flask_login import current_user
import sqlalchemy as sa

from ..extensions import db
from ..models import Track
from ..services import audit
from ..services.access import allowed, role_of, sees_everyone
from ..services.errors import RuleViolation
from ..services.reports import files, kind, kinds, parse_filters
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

    def _build(self, key: str, *, everything: bool):
        found = kind(key)
        if found is None:
            abort(404)
        tracks = _tracks()
        filters = parse_filters(request.args, track_ids={t.id for t in tracks})
        if found.pages:
            report = found.build(filters, current_user, everything=everything)
        else:
            report = found.build(filters, current_user)
        return found, tracks, report

    @expose("/<key>/")
    def report(self, key: str):
        found = kind(key)
        if found is None:
            abort(404)
        typed = {k: request.args.get(k, "")[:20] for k in FILTER_ARGS}
        try:
            _, tracks, report = self._build(key, everything=False)
        except RuleViolation as refused:
            return self.render("admin/reports/report.html", kind=found, tracks=_tracks(), typed=typed,
                               report=None, refusal=str(refused)), 400
        typed = {**{k: v for k, v in report.filters.items()}, "track": typed["track"]}
        if report.patient_ids:
            audit.record_view("report", "", report.patient_ids)
        return self.render("admin/reports/report.html", kind=found, tracks=tracks, typed=typed, report=report,
                           refusal="")

    @expose("/<key>.<fmt>")
    def download(self, key: str, fmt: str):
        if fmt not in ("csv", "pdf"):
            abort(404)
        try:
            _, _, report = self._build(key, everything=True)
        except RuleViolation:
            abort(400)
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


def register(admin) -> None:
    """Add Reports to ``admin``."""
    admin.add_view(ReportsView(name="All reports", category="Reports", endpoint="reports", url="reports"))

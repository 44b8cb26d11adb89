"""Printing: HTTP in, a document function from ``clinic.pdf`` out, as a PDF download.

Reached from buttons on other pages (never the menu):

- ``print.handout``  ``/admin/print/handout/?exercise=<id>[&large=1][&language=es]``: anyone
  with "print"; English unless a language with a catalogue is asked for (another is a 400);
- ``print.plan``     ``/admin/print/plan/?patient=<id>[&week=YYYY-MM-DD][&large=1]``:
  counselors only for patients on their caseload; in the patient's preferred language;
- ``print.packet``   ``/admin/print/packet/?session=<id>``: counselors only for sessions
  they facilitate;
- ``print.progress`` ``/admin/print/progress/?patient=<id>`` and ``print.progress_batch``
  ``/admin/print/progress/batch/?group=<id>`` (or ``?track=<id>``): progress sheets, from
  ``printing_progress.ProgressPrintMixin``.

File names carry record ids, never names. Responses are ``Cache-Control: no-store``.
"""

from __future__ import annotations

import re
from datetime import date

from flask import Response, abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_login import current_user

from ..extensions import db
from ..models import GroupSession, KindnessExercise, Patient
from ..pdf import handouts, packets
from ..services import languages
from ..services.access import may_record, may_see_patient
from ..services.errors import RuleViolation
from .base import SecureBaseView
from .printing_progress import ProgressPrintMixin


def pdf_response(data: bytes, filename: str) -> Response:
    """A PDF download that no browser or proxy keeps."""
    return Response(
        data,
        mimetype="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )


def slug(text: str, fallback: str) -> str:
    """A short ASCII file-name part made from ``text`` (``fallback`` when nothing is left)."""
    made = re.sub(r"[^a-z0-9]+", "-", (text or "").lower()).strip("-")[:60].strip("-")
    return made or fallback


def _id_arg(name: str) -> int:
    value = request.args.get(name, "")
    if not value.isdigit():
        abort(400)
    return int(value)


def _load(model, name: str):
    row = db.session.get(model, _id_arg(name))
    if row is None:
        abort(404)
    return row


def _large() -> bool:
    return request.args.get("large", "") in {"1", "true", "yes", "on"}


class PrintView(ProgressPrintMixin, SecureBaseView):
    """PDF downloads: handouts, kindness plans, session packets and progress sheets."""

    permission_key = "print"

    def is_visible(self) -> bool:
        return False  # buttons on the exercise, patient, session, group and track pages lead here

    @expose("/")
    def index(self):
        return redirect(url_for("admin.index"))

    @expose("/handout/")
    def handout(self):
        """One exercise's take-home handout; no patient data, so every role may print it."""
        exercise = _load(KindnessExercise, "exercise")
        large = _large()
        try:
            language = languages.check_language(request.args.get("language"), "language")
        except RuleViolation:
            abort(400)
        data = handouts.exercise_handout(exercise, large_print=large, language=language)
        name = slug(exercise.title, f"exercise-{exercise.id}")
        suffix = ("-large-print" if large else "") + ("" if language == languages.SOURCE_LANGUAGE else f"-{language}")
        return pdf_response(data, f"handout-{name}{suffix}.pdf")

    @expose("/plan/")
    def plan(self):
        """A patient's personal kindness plan for a week (this week unless ``week`` is given)."""
        patient = _load(Patient, "patient")
        if not may_see_patient(current_user, patient.id):
            abort(404)  # not yours looks like not there
        try:
            week = date.fromisoformat(request.args["week"]) if request.args.get("week") else date.today()
        except ValueError:
            abort(400)
        large = _large()
        data = handouts.kindness_plan(patient, week, large_print=large)
        return pdf_response(data, f"kindness-plan-{patient.id}{'-large-print' if large else ''}.pdf")

    @expose("/packet/")
    def packet(self):
        """A session's packet: sign-in sheet, then each roster member's plan."""
        session = _load(GroupSession, "session")
        if not may_record(current_user, session):
            abort(404)  # not yours looks like not there
        try:
            data = packets.session_packet(session)
        except RuleViolation as exc:
            db.session.rollback()
            flash(str(exc), "error")
            return redirect(url_for("sessions.details_view", id=session.id))
        return pdf_response(data, f"session-{session.id}-packet.pdf")


def register(admin) -> None:
    """Add the print endpoints (hidden from the menu) to ``admin``."""
    admin.add_view(PrintView(name="Print", endpoint="print", url="print"))

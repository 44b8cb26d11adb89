"""Printing progress sheets from the admin: one patient's sheet, or a group's or a track's batch.

``ProgressPrintMixin`` adds two pages to ``PrintView`` (so the endpoints are
``print.progress`` and ``print.progress_batch``):

- ``/admin/print/progress/?patient=<id>``: a small form (from, to, version, summary,
  next steps) beside a preview of the mood chart; posting it keeps the summary and next
  steps with the period (``services.period_notes``, version-checked) and returns the PDF.
  Opening it for a period already written pre-fills the saved text.
  Counselors only for patients on their caseload (404 otherwise, like a missing id).
- ``/admin/print/progress/batch/?group=<id>`` or ``?track=<id>`` (or ``?patients=`` ids
  chosen on the patient list): from, to and version; posting starts a background job
  (``services.print_jobs.start_progress_batch``) that prints one PDF with a sheet per
  member of the group (or patient enrolled in the track) during the period, and answers
  with the job's page (303; ``printing_jobs``: progress, then the download), or, to the
  fetch of ``static/js/print_batch.js``, 202 with the job as JSON. The same batch (target,
  period, version) already queued or running for the same login is refused with 409, a
  plain message and a link to the running job. A counselor's batch holds only the patients on their
  caseload, and the form counts only those; when none of them is, the answer is 404,
  the same as for ids that do not exist.

The summary and next steps travel in the POST body, never in a URL. File names carry
record ids and the version, never names.
"""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from flask import abort, jsonify, redirect, request, url_for
from flask_admin import expose
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, RadioField, SubmitField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from ..extensions import db
from ..models import CareGroup, Patient, Track
from ..pdf import batches
from ..pdf import progress as progress_pdf
from ..services import audit, period_notes, print_jobs
from ..services import chart as chart_service
from ..services.access import may_see_patient, sees_everyone, visible_patient_ids
from ..services.enrolment import history
from ..services.errors import RuleViolation
from ..services.limits import FieldViolation
from ..services.locking import StaleEdit
from .printing_jobs import PrintJobMixin, job_json, recent_views

STALE_TEXT = (
    "Someone else saved a summary for this period after you opened the form. Nothing was printed and "
    "your text was not saved: it is still in the form, and the saved text is shown below it. Compare "
    "them, then print again to replace the saved text with yours."
)
TAKEN_TEXT = (
    "A summary for this period was already saved: it is shown below the form. Nothing was printed and "
    "your text was not saved: it is still in the form. Compare them, then print again to replace the "
    "saved text with yours."
)

VERSION_CHOICES = [
    ("staff", "Staff version: figures, individual notes, summary, next steps, signature"),
    ("patient", "Patient version: to give to the patient (preferred name, small wins, no notes)"),
]


class ProgressForm(FlaskForm):
    """One patient's progress sheet."""

    date_from = DateField("From", name="from", validators=[InputRequired("Give the first day of the period.")])
    date_to = DateField("To", name="to", validators=[InputRequired("Give the last day of the period.")])
    version = RadioField("Version", choices=VERSION_CHOICES, default="staff",
                         validators=[InputRequired("Choose a version.")])
    summary = TextAreaField(
        "Counselor's summary", validators=[Optional(), Length(max=period_notes.TEXT_LIMIT)],
        description="Printed on the staff version only; left blank, the sheet has lines to write on. "
                    "Kept with the period when you print, and shown on the patient's page.",
    )
    next_steps = TextAreaField(
        "Next steps", validators=[Optional(), Length(max=period_notes.TEXT_LIMIT)],
        description="Printed on the staff version only; kept with the period like the summary.",
    )
    #: The saved note's version when the form was opened ("new": none yet), and its period.
    note_version = HiddenField(default="new")
    note_period = HiddenField(default="")
    submit = SubmitField("Print the PDF")


class ProgressBatchForm(FlaskForm):
    """Progress sheets for a group or a track."""

    date_from = DateField("From", name="from", validators=[InputRequired("Give the first day of the period.")])
    date_to = DateField("To", name="to", validators=[InputRequired("Give the last day of the period.")])
    version = RadioField("Version", choices=VERSION_CHOICES, default="staff",
                         validators=[InputRequired("Choose a version.")])
    submit = SubmitField("Print the PDF")


class _Selection:
    """Patients chosen on the patient list (by id: no names travel in the URL)."""

    def __init__(self, ids: list[int]) -> None:
        self.ids = ids
        self.id = "selection"
        self.name = "selected patients"


def _id_arg(name: str) -> int | None:
    value = request.args.get(name, "")
    if not value:
        return None
    if not value.isdigit():
        abort(400)
    return int(value)


def _load(model, record_id: int):
    row = db.session.get(model, record_id)
    if row is None:
        abort(404)
    return row


def _prefill(form, start: date, end: date) -> None:
    """Fill an unposted form from ``?from=&to=&version=`` or the default period."""
    form.date_from.data = start
    form.date_to.data = end
    version = request.args.get("version", "staff")
    form.version.data = version if version in progress_pdf.VERSIONS else "staff"


def _period_args() -> tuple[date, date]:
    """``?from=&to=`` when both are valid dates in order, else the last four weeks."""
    try:
        start = date.fromisoformat(request.args.get("from", ""))
        end = date.fromisoformat(request.args.get("to", ""))
        if start <= end:
            return start, end
    except ValueError:
        pass
    return chart_service.page_period()


def _form_problem(form) -> str | None:
    """Why a posted form cannot be printed, or None."""
    if not form.validate():
        return "Nothing was printed: correct the fields marked below."
    summary = form.summary.data if hasattr(form, "summary") else ""
    next_steps = form.next_steps.data if hasattr(form, "next_steps") else ""
    try:
        progress_pdf.check_request(form.date_from.data, form.date_to.data, form.version.data,
                                   summary or "", next_steps or "")
    except RuleViolation as exc:
        return str(exc)
    return None


def _wants_json() -> bool:
    """The form was posted by ``print_batch.js`` (fetch), which follows the job itself."""
    return request.headers.get("X-Requested-With") == "fetch"


class ProgressPrintMixin(PrintJobMixin):
    """The progress-sheet pages of ``PrintView``; see the module docstring."""

    @expose("/progress/", methods=("GET", "POST"))
    def progress(self):
        """One patient's progress sheet: the form (GET) and the PDF (POST).

        The summary and next steps typed are kept with the period (``services.period_notes``)
        when the sheet is printed, in the transaction that audits the export; the form of a
        period already written comes pre-filled with its saved text and version.
        """
        from .printing import pdf_response

        patient_id = _id_arg("patient")
        if patient_id is None:
            abort(400)
        patient = _load(Patient, patient_id)
        if not may_see_patient(current_user, patient.id):
            abort(404)  # not yours looks like not there
        form = ProgressForm()
        problem, status, saved = None, 200, None
        if request.method == "POST":
            problem = _form_problem(form)
            start, end = form.date_from.data, form.date_to.data
            if problem is None:
                # The version on the form belongs to the period it was opened for; text typed
                # after changing the dates meets any note of the new period as "new".
                same_period = form.note_period.data == f"{start.isoformat()}:{end.isoformat()}"
                version = form.note_version.data if same_period else "new"
                job = f"progress:{patient.id}:{start.isoformat()}:{end.isoformat()}:{form.version.data}"
                try:
                    with print_jobs.one_at_a_time(current_user.id, job):
                        note = period_notes.save_note(current_user, patient, start, end, form.summary.data,
                                                      form.next_steps.data, version)
                        data = progress_pdf.progress_sheet(
                            patient, start, end, version=form.version.data,
                            summary=note.summary if note else "", next_steps=note.next_steps if note else "",
                        )
                except RuleViolation as exc:
                    db.session.rollback()
                    problem = str(exc)
                    if isinstance(exc, FieldViolation):
                        getattr(form, exc.field).errors = [str(exc)]
                    if isinstance(exc, StaleEdit):
                        status = 409
                        problem = STALE_TEXT if same_period else TAKEN_TEXT
                        saved = period_notes.note_for(patient.id, start, end)
                        # A second print now replaces the saved text with the one in the form.
                        form.note_version.data = period_notes.version_of(saved)
                        form.note_period.data = f"{start.isoformat()}:{end.isoformat()}"
                    elif isinstance(exc, print_jobs.PrintBusy):
                        status = 409
                else:
                    response = pdf_response(data, f"progress-{patient.id}-{form.version.data}.pdf")
                    response.headers["X-Note-Version"] = period_notes.version_of(note)
                    return response
            if not (start and end and start <= end):
                start, end = _period_args()
        else:
            start, end = _period_args()
            _prefill(form, start, end)
            saved = period_notes.note_for(patient.id, start, end)
            if saved is not None:
                form.summary.data, form.next_steps.data = saved.summary, saved.next_steps
            form.note_version.data = period_notes.version_of(saved)
            form.note_period.data = f"{start.isoformat()}:{end.isoformat()}"
        audit.record_view("patient", patient.id, [patient.id])
        page = self.render(
            "admin/print/progress.html",
            form=form,
            patient=patient,
            problem=problem,
            saved=saved,
            history=history(patient.id),
            chart=chart_service.patient_mood_chart(patient.id, start, end),
        )
        return page, status

    @expose("/progress/batch/", methods=("GET", "POST"))
    def progress_batch(self):
        """Progress sheets for ``?group=``, ``?track=`` or ``?patients=``: the form (GET), a job (POST)."""
        group_id, track_id = _id_arg("group"), _id_arg("track")
        try:
            selected = sorted({int(v) for v in request.args.getlist("patients")})
        except ValueError:
            abort(400)
        if sum(bool(x) for x in (group_id is not None, track_id is not None, selected)) != 1:
            abort(400)
        if group_id is not None:
            target = _load(CareGroup, group_id)
            kind, what = "group", f"{target.name} (group)"
            target_args = {"group": target.id}
        elif track_id is not None:
            target = _load(Track, track_id)
            kind, what = "track", f"{target.name} (track)"
            target_args = {"track": target.id}
        else:
            target = _Selection(selected)
            kind, what = "patient", f"{len(selected)} selected patient{'s' if len(selected) != 1 else ''}"
            target_args = {"patients": selected}
        form = ProgressBatchForm()
        problem, busy, running_job = None, False, None
        if request.method == "POST":
            problem = _form_problem(form)
            start, end = form.date_from.data, form.date_to.data
        else:
            start, end = _period_args()
            _prefill(form, start, end)
        if not (start and end and start <= end):
            start, end = _period_args()
        version = form.version.data if form.version.data in progress_pdf.VERSIONS else "staff"
        if kind == "patient":
            everyone = batches.in_print_order(list(db.session.scalars(
                sa.select(Patient).where(Patient.id.in_(target.ids))
            )), version)
        else:
            find = batches.group_patients if kind == "group" else batches.track_patients
            everyone = find(target, start, end, version)
        visible = visible_patient_ids(current_user, [p.id for p in everyone])
        # Names are told apart among the sheets printed together (the visible ones).
        patients = batches.in_print_order([p for p in everyone if p.id in visible], version)
        if request.method == "POST" and problem is None:
            if not patients and not sees_everyone(current_user):
                abort(404)  # nobody of theirs: the same answer as ids that do not exist
            ids = target.id if kind != "patient" else ",".join(map(str, target.ids))
            name = f"progress-{kind}-{target.id}" if kind != "patient" else "progress-selection"
            try:
                job = print_jobs.start_progress_batch(
                    current_user, patients, start, end, version, target=f"{kind}:{ids}",
                    title=batches.batch_title(version, target.name, start, end),
                    source={kind: target.id} if kind != "patient" else {"selection": len(patients)},
                    filename=f"{name}-{version}.pdf",
                )
            except RuleViolation as exc:
                db.session.rollback()
                problem = str(exc)
                if isinstance(exc, print_jobs.PrintBusy):
                    busy = True
                    running_job = exc.job_id
            else:
                if _wants_json():
                    return jsonify({"job": job_json(job)}), 202
                return redirect(url_for(".job", job_id=job.id), 303)
        entity = {"group": "care_group", "track": "track"}.get(kind, "patient")
        audit.record_view(entity, target.id if kind != "patient" else "", [p.id for p in patients])
        page = self.render(
            "admin/print/progress_batch.html",
            form=form,
            kind=kind,
            what=what,
            target=target,
            target_args=target_args,
            problem=problem,
            running_job=running_job,
            recent=recent_views(current_user),
            # A counselor learns only how many of their own patients are in it.
            total=len(everyone) if sees_everyone(current_user) else None,
            included=len(patients),
            counselor=not sees_everyone(current_user),
        )
        return (page, 409) if busy else page


__all__ = ["ProgressBatchForm", "ProgressForm", "ProgressPrintMixin"]

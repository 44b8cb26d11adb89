"""Outcome measures (PHQ-9, GAD-7): entering, reading and correcting them, and the blank paper form.

- ``measures.index``   ``/admin/measures/``: the latest measures of the patients you see;
- ``measures.new``     ``/admin/measures/new/?patient=<id>&instrument=phq9|gad7``: a new one;
- ``measures.edit``    ``/admin/measures/edit/?id=<id>``: continue a draft;
- ``measures.view``    ``/admin/measures/view/?id=<id>``: one measure, its items and addenda;
- ``measures.correct`` ``/admin/measures/correct/?id=<id>``: a signed one's correction by addendum;
- ``measures.blank``   ``/admin/measures/blank/?instrument=…[&patient=<id>]``: the blank form (PDF).

A patient outside a counselor's caseload answers 404, as if there were no such record.
Every rule is in ``services.measures``; the page only reads the form and shows the result.
"""

from __future__ import annotations

from datetime import date

from flask import abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_login import current_user

from ..extensions import db
from ..models import Patient
from ..pdf import measures as measure_pdf
from ..services import audit, instruments, measures
from ..services.access import may_enter_measures, may_see_patient
from ..services.errors import RuleViolation
from ..services.locking import StaleEdit
from .base import SecureBaseView, id_arg, visible_patient
from .printing import pdf_response


def _instrument(code: str) -> instruments.Instrument:
    form = instruments.INSTRUMENTS.get(code)
    if form is None:
        abort(404)
    return form


def _actor():
    return current_user._get_current_object()


class MeasuresView(SecureBaseView):
    """PHQ-9 and GAD-7: entry forms, a measure's page, corrections and the blank paper form."""

    permission_key = "measures"

    def _administration(self):
        administration = measures.load(id_arg("id"))
        if administration is None or not may_see_patient(current_user, administration.patient_id):
            abort(404)
        return administration

    @expose("/")
    def index(self):
        """The latest measures of the patients the user sees, and the blank forms."""
        lines = measures.recent(current_user)
        audit.record_view("measure_administration", "", [line.patient_id for line, _p in lines])
        return self.render("admin/measures/index.html", lines=lines, instruments=instruments.INSTRUMENTS)

    # Entering ---------------------------------------------------------------------
    @expose("/new/", methods=("GET", "POST"))
    def new(self):
        patient = visible_patient(id_arg("patient"))
        form = _instrument(request.args.get("instrument", ""))
        return self._form_page(patient, form, None)

    @expose("/edit/", methods=("GET", "POST"))
    def edit(self):
        administration = self._administration()
        if administration.signed_at is not None:
            return redirect(url_for(".view", id=administration.id))
        return self._form_page(administration.patient, instruments.INSTRUMENTS[administration.instrument],
                               administration)

    def _form_page(self, patient: Patient, form: instruments.Instrument, administration):
        if not may_enter_measures(current_user, patient.id):
            abort(404)
        refusal, errors = None, {}
        if request.method == "POST":
            values = request.form
            try:
                answers, difficulty = measures.read_answers(form, values)
                try:
                    day = date.fromisoformat(values.get("administered_on", "").strip())
                except ValueError:
                    day = None
                entry = measures.Entry(answers=answers, administered_on=day, mode=values.get("mode", ""),
                                       difficulty=difficulty)
                saved = measures.save_administration(
                    patient, form.code, entry, _actor(), sign=values.get("action") == "sign",
                    administration=administration, expected_version=values.get("expected_version"),
                )
            except measures.MeasureRefused as exc:
                db.session.rollback()
                refusal, errors = str(exc), exc.errors
            except RuleViolation as exc:  # StaleEdit too: the typed answers stay in the form
                db.session.rollback()
                refusal = str(exc)
            else:
                flash(f"{form.name} {'signed' if saved.signed_at else 'saved as a draft'}: "
                      f"{measures.score_text(saved.total, saved.band, saved.prorated)}.", "success")
                return redirect(url_for(".view", id=saved.id))
            values = {key: request.form.get(key, "") for key in request.form}
            version = request.form.get("expected_version", "")
        else:
            audit.record_view("patient", patient.id, [patient.id])
            values = self._values_of(administration) if administration else {
                "administered_on": date.today().isoformat(), "mode": "in_person"}
            version = str(administration.version) if administration else ""
        return self.render(
            "admin/measures/form.html", patient=patient, form=form, administration=administration, values=values,
            version=version, refusal=refusal, errors=errors, **self._words(),
        )

    @staticmethod
    def _values_of(administration, answers=None, difficulty=None) -> dict[str, str]:
        answers = administration.current_answers() if answers is None else answers
        values = {f"item-{n}": (instruments.MISSING if v is None else str(v)) for n, v in answers.items()}
        values["difficulty"] = "" if difficulty is None else str(difficulty)
        values["administered_on"] = administration.administered_on.isoformat()
        values["mode"] = administration.mode
        return values

    @staticmethod
    def _words() -> dict:
        return {"answers": instruments.ANSWERS, "difficulty_question": instruments.DIFFICULTY_QUESTION,
                "difficulty_choices": instruments.DIFFICULTY_CHOICES, "copyright": instruments.COPYRIGHT,
                "modes": measures.MODES, "missing": instruments.MISSING}

    # Reading ------------------------------------------------------------------------
    @expose("/view/")
    def view(self):
        administration = self._administration()
        form = instruments.INSTRUMENTS[administration.instrument]
        audit.record_view("measure_administration", administration.id, [administration.patient_id])
        current = administration.current_answers()
        return self.render(
            "admin/measures/view.html", a=administration, form=form, patient=administration.patient,
            current=current, entered={item.item_number: item.answer for item in administration.items},
            band_label=instruments.BAND_LABELS[form.band(administration.current_total)], may_enter=may_enter_measures(current_user,
                                                                                       administration.patient_id),
            mode_label=measures.MODE_LABELS[administration.mode], **self._words(),
        )

    # Correcting ---------------------------------------------------------------------
    @expose("/correct/", methods=("GET", "POST"))
    def correct(self):
        administration = self._administration()
        if not may_enter_measures(current_user, administration.patient_id):
            abort(404)
        if administration.signed_at is None:
            return redirect(url_for(".edit", id=administration.id))
        form = instruments.INSTRUMENTS[administration.instrument]
        latest = administration.latest_addendum
        refusal, errors = None, {}
        if request.method == "POST":
            try:
                answers, difficulty = measures.read_answers(form, request.form)
                measures.correct_by_addendum(administration, answers, difficulty, request.form.get("reason", ""),
                                             _actor(), seen_addendum=request.form.get("seen_addendum"))
            except measures.MeasureRefused as exc:
                db.session.rollback()
                refusal, errors = str(exc), exc.errors
            except (StaleEdit, RuleViolation) as exc:
                db.session.rollback()
                refusal = str(exc)
            else:
                flash(f"{form.name} corrected by addendum.", "success")
                return redirect(url_for(".view", id=administration.id))
            values = {key: request.form.get(key, "") for key in request.form}
            seen = request.form.get("seen_addendum", "")
        else:
            audit.record_view("measure_administration", administration.id, [administration.patient_id])
            values = self._values_of(administration, difficulty=latest.difficulty if latest else
                                     administration.difficulty)
            seen = str(latest.id) if latest else "none"
        return self.render(
            "admin/measures/correct.html", a=administration, form=form, patient=administration.patient,
            values=values, seen=seen, refusal=refusal, errors=errors, **self._words(),
        )

    # Paper --------------------------------------------------------------------------
    @expose("/blank/")
    def blank(self):
        """The blank form to fill in on paper: for a patient (their name printed) or with an empty name line."""
        form = _instrument(request.args.get("instrument", ""))
        patient = visible_patient(id_arg("patient")) if request.args.get("patient") else None
        data = measure_pdf.blank_form(form.code, patient)
        suffix = f"-{patient.id}" if patient is not None else ""
        return pdf_response(data, f"{form.code}-blank{suffix}.pdf")


def register(admin) -> None:
    """Add "Outcome measures" to the Records menu."""
    admin.add_view(MeasuresView(name="Outcome measures", endpoint="measures", url="measures", category="Records"))

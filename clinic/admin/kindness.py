"""The weekly connectedness answer: entered from the patient page's "Kindness dose" block.

The view only translates HTTP into ``services.kindness_dose.record_connectedness`` and shows
its result. ``/admin/connectedness/?patient=<id>&week=<day>`` shows the form for one week
(the patient page's "change" links) and takes the posts of both forms; a refused post comes
back here with the typed answer kept. A patient outside a counselor's caseload, or one that
is not there, is a 404 either way. Flashes name no patient.
"""

from __future__ import annotations

from datetime import date

from flask import abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import IntegerField
from wtforms.validators import InputRequired, NumberRange

from ..extensions import db
from ..models import CONNECTEDNESS_MAX, CONNECTEDNESS_MIN, Patient
from ..services import audit, kindness_dose
from ..services.access import allowed
from ..services.errors import RuleViolation
from ..services.limits import FieldViolation
from .base import SecureBaseView, _role, id_arg, visible_patient

RANGE_MESSAGE = f"The answer is a whole number from {CONNECTEDNESS_MIN} to {CONNECTEDNESS_MAX}."
NOT_SAVED = "Nothing was saved: correct the answer."


class ConnectednessForm(FlaskForm):
    """The answer (the week and the versions the page showed are read from the posted form)."""

    rating = IntegerField(kindness_dose.QUESTION, validators=[
        InputRequired(RANGE_MESSAGE), NumberRange(CONNECTEDNESS_MIN, CONNECTEDNESS_MAX, RANGE_MESSAGE),
    ])


def _day(text: str | None) -> date | None:
    """A week asked for in the address: its Monday, or None when it is not a usable past week."""
    try:
        monday = kindness_dose.week_of(text or "")
    except RuleViolation:
        return None
    return monday if monday <= date.today() else None


def kindness_context(patient: Patient, today: date | None = None) -> dict:
    """The patient page's "Kindness dose" block (``admin/patient/_kindness_dose.html``), as ``p``'s keys."""
    return {
        "kindness_dose": kindness_dose.patient_dose(patient.id, today or date.today()),
        "may_connectedness": allowed("connectedness", _role(), "c"),
    }


class ConnectednessView(SecureBaseView):
    """One week's connectedness answer of one patient."""

    permission_key = "connectedness"

    def is_visible(self) -> bool:
        return False  # reached from the patient's page, not the menu

    def _patient(self) -> Patient:
        if not allowed(self.permission_key, _role(), "c"):
            abort(403)
        return visible_patient(id_arg("patient"))

    def _page(self, patient: Patient, week: date, typed=None, refusal: str | None = None, errors=()):
        """The form for ``week`` beside the patient's latest weeks, with what was typed kept."""
        dose = kindness_dose.patient_dose(patient.id, date.today())
        weeks = dose.mondays
        versions = dose.versions
        if week not in weeks:  # an older week, from a link or a refused post
            saved = kindness_dose.rating_of(patient.id, week)
            versions[week] = "new" if saved is None else str(saved.version)
            shown = saved.rating if saved is not None else None
        else:
            shown = next(w.connectedness for w in dose.weeks if w.monday == week)
        audit.record_view("patient", patient.id, [patient.id])
        return self.render(
            "admin/kindness/connectedness.html", patient=patient, dose=dose, week=week,
            weeks=sorted(set(weeks) | {week}, reverse=True), versions=versions,
            value=shown if typed is None else typed, refusal=refusal, errors=list(errors),
        )

    @expose("/", methods=("GET", "POST"))
    def index(self):
        """The form of ``?patient=`` for ``?week=`` (this week by default); a POST saves it."""
        if "patient" not in request.args:
            return redirect(url_for("patients.index_view"))
        patient = self._patient()
        if request.method == "GET":
            return self._page(patient, _day(request.args.get("week")) or kindness_dose.week_of(date.today()))
        return self._save(patient)

    def _save(self, patient: Patient):
        form = ConnectednessForm()
        typed = request.form.get("rating", "")
        try:
            week = kindness_dose.week_of(request.form.get("week", ""))
        except FieldViolation as exc:
            return self._page(patient, kindness_dose.week_of(date.today()), typed, str(exc))
        if not form.validate():  # the rating's range (the CSRF token is checked before the view)
            return self._page(patient, week, typed, NOT_SAVED, form.rating.errors or [RANGE_MESSAGE])
        try:
            kindness_dose.record_connectedness(
                current_user._get_current_object(), patient.id, week, form.rating.data,
                version=request.form.get(f"seen-{week.isoformat()}"),
            )
            db.session.commit()
        except FieldViolation as exc:
            db.session.rollback()
            if exc.field == "rating":
                return self._page(patient, week, typed, NOT_SAVED, [str(exc)])
            return self._page(patient, kindness_dose.week_of(date.today()), typed, str(exc))
        except RuleViolation as exc:  # a stale or missing version (StaleEdit) among them
            db.session.rollback()
            return self._page(patient, week, typed, str(exc))
        flash("Connectedness answer saved.", "success")
        return redirect(url_for("patients.details_view", id=patient.id, _anchor="kindness-dose"))


def register(admin) -> None:
    """Add the connectedness form (reached from a patient's page)."""
    admin.add_view(ConnectednessView(name="Connectedness", endpoint="connectedness", url="connectedness"))

"""The treatment plan page: ``/admin/plan/?patient=<id>``.

Shows the plan of the patient's current (or latest) enrolment and, for a counselor of the
caseload or an admin, the forms that change it: add or edit a problem, a goal, an objective,
record a review. Every form posts here with an ``action``; the view only parses the fields and
calls one function of ``services/treatment_plan``. A refused post comes back with the typed
input kept in its form and the message at the field; nothing is saved. A patient the user may
not see (or that does not exist) is a 404; flashes name no patient.
"""

from __future__ import annotations

from datetime import date

from flask import abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_login import current_user

from ..extensions import db
from ..models import REVIEW_KINDS, Patient, PlanGoal, PlanObjective, PlanProblem
from ..services import audit, treatment_plan
from ..services.access import allowed
from ..services.errors import RuleViolation
from ..services.limits import FieldViolation
from .base import SecureBaseView, _role, id_arg, visible_patient

SAVED = {
    "add_problem": "Problem added to the plan.",
    "edit_problem": "Problem saved.",
    "add_goal": "Goal added to the plan.",
    "edit_goal": "Goal saved.",
    "add_objective": "Objective added.",
    "edit_objective": "Objective saved.",
    "record_review": "Recorded.",
}


def _date(raw: str | None, field: str) -> date | None:
    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise FieldViolation(field, "Give the date as a day of the calendar (for example 2026-03-31).") from None


def _row(model, raw: str | None, patient_id: int):
    """The plan row posted (by id), only if it belongs to this patient; otherwise 404."""
    raw = (raw or "").strip()
    if not raw.isdigit() or len(raw) > 18:
        abort(404)
    row = db.session.get(model, int(raw))
    if row is None:
        abort(404)
    owner = row.enrolment.patient_id if isinstance(row, PlanProblem) else (
        row.patient_id if isinstance(row, PlanGoal) else row.goal.patient_id)
    if owner != patient_id:
        abort(404)
    return row


def plan_context(patient: Patient, today: date | None = None) -> dict:
    """The patient page's "Treatment plan" block (``admin/patient/_plan.html``), as ``p``'s keys."""
    return {
        "plan": treatment_plan.plan_of(patient.id, today or date.today()),
        "may_read_plan": allowed("plan", _role(), "r"),
    }


class PlanView(SecureBaseView):
    """One patient's treatment plan, and its changes."""

    permission_key = "plan"

    def is_visible(self) -> bool:
        return False  # reached from the patient's page

    def _patient(self) -> Patient:
        return visible_patient(id_arg("patient"))

    def _page(self, patient: Patient, *, typed: dict | None = None, refusal: str = "", status: int = 200):
        today = date.today()
        plan = treatment_plan.plan_of(patient.id, today)
        audit.record_view("patient", patient.id, [patient.id])
        page = self.render(
            "admin/plan/index.html", patient=patient, plan=plan, today=today,
            may_edit=treatment_plan.may_edit(current_user, patient.id) and plan.open,
            typed=typed or {}, refusal=refusal, review_kinds=REVIEW_KINDS,
            kind_words=treatment_plan.KIND_WORDS,
        )
        return page, status

    @expose("/", methods=("GET", "POST"))
    def index(self):
        if "patient" not in request.args:
            return redirect(url_for("patients.index_view"))
        patient = self._patient()
        if request.method == "GET":
            return self._page(patient)
        if not treatment_plan.may_edit(current_user, patient.id):
            abort(403)
        form = request.form
        action = form.get("action", "")
        if action not in SAVED:
            abort(400)
        typed = {"action": action, "form_id": form.get("form_id", action), **{k: v for k, v in form.items()
                                                                             if k != "csrf_token"}}
        user = current_user._get_current_object()
        try:
            self._apply(patient, action, form, user)
            db.session.commit()
        except FieldViolation as exc:
            db.session.rollback()
            typed["error_field"], typed["error"] = exc.field, str(exc)
            return self._page(patient, typed=typed, refusal="Nothing was saved: correct the field marked below.",
                              status=400)
        except RuleViolation as exc:  # a stale version (StaleEdit), a closed goal or enrolment
            db.session.rollback()
            return self._page(patient, typed=typed, refusal=str(exc), status=409)
        flash(SAVED[action], "success")
        return redirect(url_for(".index", patient=patient.id))

    def _apply(self, patient: Patient, action: str, form, user) -> None:
        if action in ("add_problem", "add_goal", "record_review"):
            enrolment = treatment_plan.plan_enrolment(patient.id)
            if enrolment is None:
                raise RuleViolation(treatment_plan.NO_ENROLMENT)
            if action == "add_problem":
                treatment_plan.add_problem(user, enrolment, form.get("text", ""))
            elif action == "add_goal":
                treatment_plan.add_goal(user, enrolment, statement=form.get("statement", ""),
                                        target_date=_date(form.get("target_date"), "target_date"),
                                        problem_id=form.get("problem_id") or None)
            else:
                treatment_plan.record_review(user, enrolment, kind=form.get("kind", ""),
                                             reviewed_on=_date(form.get("reviewed_on"), "reviewed_on"),
                                             note=form.get("note", ""))
        elif action == "edit_problem":
            problem = _row(PlanProblem, form.get("id"), patient.id)
            treatment_plan.edit_problem(user, problem, text=form.get("text", ""), status=form.get("status", ""),
                                        version=form.get("version"))
        elif action == "edit_goal":
            goal = _row(PlanGoal, form.get("id"), patient.id)
            treatment_plan.edit_goal(user, goal, statement=form.get("statement", ""),
                                     target_date=_date(form.get("target_date"), "target_date"),
                                     problem_id=form.get("problem_id") or None, status=form.get("status", ""),
                                     status_reason=form.get("status_reason", ""), version=form.get("version"))
        elif action == "add_objective":
            goal = _row(PlanGoal, form.get("goal_id"), patient.id)
            treatment_plan.add_objective(user, goal, text=form.get("text", ""),
                                         target_date=_date(form.get("target_date"), "target_date"))
        elif action == "edit_objective":
            objective = _row(PlanObjective, form.get("id"), patient.id)
            treatment_plan.edit_objective(user, objective, text=form.get("text", ""),
                                          target_date=_date(form.get("target_date"), "target_date"),
                                          status=form.get("status", ""), version=form.get("version"))


def register(admin) -> None:
    """Add the treatment plan page (reached from a patient's page)."""
    admin.add_view(PlanView(name="Treatment plan", endpoint="plan", url="plan"))

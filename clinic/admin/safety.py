"""Safety tasks: the open ones, and one task with the risk assessment that alone closes it.

Every rule is in ``services/safety``: who sees which task, who may assess, what an
assessment needs. A task of a patient the user may not see answers 404, like a missing one.
"""

from __future__ import annotations

from datetime import date, datetime

from flask import abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, RadioField, TextAreaField, TimeField
from wtforms.validators import Optional

from ..extensions import db
from ..services import audit, safety
from ..services.errors import RuleViolation
from ..services.locking import StaleEdit
from .base import SecureBaseView

RISK_CHOICES = [(key, words) for key, words in safety.RISK_WORDS.items()]


class AssessmentForm(FlaskForm):
    """The risk assessment; the service checks every field (the form only reads them)."""

    version = HiddenField()
    assessed_on = DateField("Day of the assessment", validators=[Optional()], default=date.today)
    assessed_time = TimeField("Time", validators=[Optional()])
    risk_level = RadioField("Risk level", choices=RISK_CHOICES, validators=[Optional()], validate_choice=False)
    action_taken = TextAreaField(
        "Action taken",
        description="What was done: for example safety plan reviewed with the patient, crisis line given, "
                    "psychiatrist or GP informed, emergency assessment arranged.",
        validators=[Optional()],
    )


class SafetyView(SecureBaseView):
    """Records → Safety tasks."""

    permission_key = "safety"

    @expose("/")
    def index(self):
        """The open tasks the user must see, 25 a page, oldest first; their reading is audited."""
        window, tasks = safety.open_tasks_page(current_user, request.args.get("page"))
        if tasks:  # an item 9 answer is clinical data
            audit.record_view("safety_task", "", [t.patient_id for t in tasks])
        return self.render("admin/safety/index.html", tasks=tasks, window=window)

    @expose("/<int:task_id>/", methods=("GET", "POST"))
    def task(self, task_id: int):
        task = safety.task_or_none(current_user, task_id)
        if task is None:
            abort(404)
        may_assess = safety.may_assess(current_user, task.patient_id) and task.closed_at is None
        form = AssessmentForm()
        message, errors, status = "", {}, 200
        if form.is_submitted():
            if not may_assess:
                abort(403 if task.closed_at is None else 409)
            if form.validate():
                try:
                    safety.record_assessment(
                        task, current_user._get_current_object(), risk_level=form.risk_level.data or "",
                        action_taken=form.action_taken.data or "", assessed_on=form.assessed_on.data,
                        assessed_time=form.assessed_time.data, expected_version=form.version.data,
                        now=datetime.now(),
                    )
                except safety.AssessmentRefused as exc:
                    db.session.rollback()
                    message, errors, status = str(exc), exc.errors, 400
                except StaleEdit as exc:
                    db.session.rollback()
                    message, status = str(exc), 409
                except RuleViolation as exc:
                    db.session.rollback()
                    message, status = str(exc), 409
                else:
                    flash("Risk assessment recorded: the safety task is closed.", "success")
                    return redirect(url_for(".task", task_id=task_id))
            else:
                message, errors, status = "Nothing was saved: correct the fields marked below.", {
                    name: " ".join(field_errors) for name, field_errors in form.errors.items()}, 400
        else:
            form.version.data = task.version
            audit.record_view("safety_task", task.id, [task.patient_id])
        [line] = [t for t in safety.tasks_of_patient(task.patient_id) if t.id == task.id]
        page = self.render("admin/safety/task.html", task=line, form=form, may_assess=may_assess,
                           message=message, errors=errors)
        return page, status


def register(admin) -> None:
    """Add Records → Safety tasks."""
    admin.add_view(SafetyView(name="Safety tasks", category="Records", endpoint="safety", url="safety"))

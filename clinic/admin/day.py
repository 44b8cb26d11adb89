"""The counselor's day, exercise check-ins outside a session, and the patient page's figures."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from flask import abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.exc import StaleDataError
from wtforms import DateField, HiddenField, IntegerField, RadioField, StringField, SubmitField
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from ..extensions import db
from ..models import Assignment, ExerciseCheckin, Patient, StaffUser
from ..services import checkins as checkin_service
from ..services import audit, measure_schedule, progress, safety, treatment_plan, unfinished, week_plan
from ..services.access import OVERSEEING_ROLES, allowed, may_sign_for, visible_patient_ids
from ..services.checkins import REFLECTION_LIMIT, CheckinInput
from ..services.errors import RuleViolation
from ..services.locking import StaleEdit
from .base import SecureBaseView, _role

#: Session records listed on the patient page.
RECORDS_SHOWN = 25
#: Earlier check-ins shown under the check-in form.
RECENT_CHECKINS = 10
MOOD_MESSAGE = "Mood is a number from 0 to 10."
CHECKIN_STALE_MESSAGE = checkin_service.STALE_MESSAGE


class CheckinForm(FlaskForm):
    """One exercise check-in recorded outside a session."""

    on_date = DateField("Day", validators=[InputRequired("Give the day the check-in is for.")])
    outcome = RadioField(
        "Outcome",
        choices=[("done", "Done"), ("partly", "Partly"), ("not_done", "Not done")],
        validators=[InputRequired("Choose done, partly or not done.")],
    )
    mood_before = IntegerField("Mood before (0–10)", validators=[Optional(), NumberRange(0, 10, MOOD_MESSAGE)])
    mood_after = IntegerField("Mood after (0–10)", validators=[Optional(), NumberRange(0, 10, MOOD_MESSAGE)])
    reflection = StringField(
        "Reflection (one line)", validators=[Optional(), Length(max=REFLECTION_LIMIT)],
        description=f"The patient's words, {REFLECTION_LIMIT} characters at most.",
    )
    #: The day whose saved check-in the form was opened with, and that check-in's version ("new": none).
    loaded_date = HiddenField()
    row_version = HiddenField()
    submit = SubmitField("Save check-in")


def _uid() -> int | None:
    return current_user.id if current_user and current_user.is_authenticated else None


def participation_context(patient: Patient, today: date | None = None) -> dict:
    """The patient page's participation panel (``progress.patient_page``) for the current user."""
    return progress.patient_page(patient.id, today or date.today(), allowed("checkins", _role(), "c"))


#: Facilitators a "look at the day of" name search lists; with more, it asks for more of the name.
FOUND_SHOWN = 10


class DayView(SecureBaseView):
    """Today's sessions of a counselor with their record state, and every earlier record not signed."""

    permission_key = "day"

    @expose("/")
    def index(self):
        """The current user's day; admins and planners may pass ``?counselor=<staff id>``."""
        today = date.today()
        now = datetime.now()
        counselor_id = _uid()
        counselor_name = current_user.full_name
        found, found_more, find = [], False, ""
        problem = None
        # The open safety tasks and the overdue measures are clinical data: their reading is
        # audited, and the audit's commit expires every row loaded before it. So the day's
        # sessions are read after the commit, and the facilitators are kept as plain values.
        tasks = safety.open_tasks_for(current_user)
        if tasks:
            audit.record_view("safety_task", "", [t.patient_id for t in tasks], commit=False)
        oversees = _role() in OVERSEEING_ROLES
        if oversees:
            # "Look at the day of": a name search (never a list of every facilitator of the
            # clinic), or the ``?counselor=<staff id>`` its results link to.
            wanted = request.args.get("counselor", "").strip()
            find = request.args.get("find", "").strip()[:week_plan.NAME_SEARCH_LIMIT]
            if wanted:
                chosen = None
                if wanted.isdigit() and len(wanted) < 10:
                    chosen = db.session.get(StaffUser, int(wanted))
                if chosen is None:
                    problem = "There is no such member of staff; showing your own day."
                else:
                    counselor_id, counselor_name = chosen.id, chosen.full_name
            elif find:
                found = week_plan.find_facilitators(find, FOUND_SHOWN + 1)
                found_more = len(found) > FOUND_SHOWN
                found = found[:FOUND_SHOWN]
                if len(found) == 1:  # the one they meant
                    (counselor_id, counselor_name), found = found[0], []
                elif not found:
                    problem = "Nobody who leads a group or a session has a name containing that; showing your own day."
        # A counselor's ?counselor= is ignored: they only ever see their own day.
        # The overdue PHQ-9 and GAD-7 of the day's counselor's caseload (one statement).
        overdue = measure_schedule.overdue_for_caseload(counselor_id, today)
        if overdue.lines:
            audit.record_view("measure_schedule", "", sorted({d.patient_id for d in overdue.lines}), commit=False)
        # The treatment plans of the day's counselor's caseload whose review or
        # recertification is due (a counselor's ?counselor= was ignored above).
        due_plans, due_plans_total = treatment_plan.due_plans(current_user, today, counselor_id=counselor_id)
        if due_plans:
            audit.record_view("plan_review", "", [d.patient_id for d in due_plans], commit=False)
        if tasks or overdue.lines or due_plans:
            db.session.commit()
        day = progress.counselor_day(counselor_id, today, now)
        return self.render(
            "admin/day/index.html",
            day=day,
            safety_tasks=tasks,
            safety_shown=safety.SHOWN,
            overdue_measures=overdue,
            grace_days=measure_schedule.grace_days(),
            due_plans=due_plans,
            due_plans_total=due_plans_total,
            may_sign=may_sign_for(current_user, counselor_id),
            due_hours=unfinished.due_hours(),
            own=counselor_id == _uid(),
            counselor_name=counselor_name,
            counselor_id=counselor_id,
            oversees=oversees,
            find=find,
            found=found,
            found_more=found_more,
            problem=problem,
        )

    # Check-ins outside a session ---------------------------------------------------
    def _assignment(self) -> Assignment:
        """The assignment of ``?assignment=``, if the current user may check in on it."""
        if not allowed("checkins", _role(), "c"):
            abort(403)
        raw = request.args.get("assignment", "")
        if not raw.isdigit():
            abort(404)
        assignment = db.session.get(
            Assignment, int(raw), options=[joinedload(Assignment.exercise), joinedload(Assignment.patient)]
        )
        if assignment is None:
            abort(404)
        if not visible_patient_ids(current_user, [assignment.patient_id]):
            abort(404)  # the same answer as a missing id: nothing learnt about other caseloads
        return assignment

    @staticmethod
    def _saved(assignment_id: int, on_date: date | None) -> ExerciseCheckin | None:
        return checkin_service.saved_checkin(assignment_id, on_date) if on_date is not None else None

    @staticmethod
    def _remember(form: CheckinForm, on_date: date, saved: ExerciseCheckin | None) -> None:
        form.loaded_date.data = on_date.isoformat()
        form.row_version.data = str(saved.version) if saved is not None else "new"

    @expose("/checkin/", methods=("GET", "POST"))
    def checkin(self):
        """Record, or correct, one day's check-in of ``?assignment=`` (``?on=`` picks the day)."""
        assignment = self._assignment()
        today = date.today()
        form = CheckinForm()
        refusal = None
        if request.method == "GET":
            try:
                on_date = date.fromisoformat(request.args.get("on", ""))
            except ValueError:
                on_date = today
            saved = self._saved(assignment.id, on_date)
            form.on_date.data = on_date
            if saved is not None:
                form.outcome.data = saved.outcome
                form.mood_before.data = saved.mood_before
                form.mood_after.data = saved.mood_after
                form.reflection.data = saved.reflection
            self._remember(form, on_date, saved)
            audit.record_view("assignment", assignment.id, [assignment.patient_id])
        else:
            refusal = self._save(assignment, form, today)
            if refusal is None:
                return redirect(url_for("patients.details_view", id=assignment.patient_id))
        if assignment.status != "active" and refusal is None:
            refusal = f"This assignment is {assignment.status}; check-ins need an active one."
        recent = db.session.scalars(
            sa.select(ExerciseCheckin)
            .where(ExerciseCheckin.assignment_id == assignment.id)
            .order_by(ExerciseCheckin.on_date.desc())
            .limit(RECENT_CHECKINS)
        ).all()
        return self.render(
            "admin/day/checkin.html", form=form, assignment=assignment, patient=assignment.patient,
            refusal=refusal, recent=recent, today=today,
        )

    def _save(self, assignment: Assignment, form: CheckinForm, today: date) -> str | None:
        """Validate and save the posted check-in; return why nothing was saved, or None."""
        if not form.validate():
            return "Nothing was saved: correct the fields marked below."
        values = CheckinInput(
            outcome=form.outcome.data,
            mood_before=form.mood_before.data,
            mood_after=form.mood_after.data,
            reflection=(form.reflection.data or "").strip(),
        )
        errors = checkin_service.validate(values, assignment, form.on_date.data, today)
        for name, message in errors.items():
            if name in form:
                form[name].errors = [*form[name].errors, message]
        if errors:
            general = errors.get("assignment")
            return general or "Nothing was saved: correct the fields marked below."
        saved = self._saved(assignment.id, form.on_date.data)
        # The version the form was opened with holds for the day it was opened on; a day
        # changed in the form was seen as having no check-in. A missing or malformed
        # version is refused like a stale one.
        seen_version = (form.row_version.data or "").strip()
        if seen_version and form.loaded_date.data != form.on_date.data.isoformat():
            seen_version = "new"
        try:
            checkin_service.record_checkin(
                assignment, form.on_date.data, values,
                recorded_by=current_user._get_current_object(), today=today,
                expected_version=seen_version,
            )
        except (IntegrityError, StaleDataError, StaleEdit):
            # Someone saved this day after the form was opened (or the day was changed to one
            # that already has a check-in): refuse rather than overwrite what they entered.
            db.session.rollback()
            self._remember(form, form.on_date.data, self._saved(assignment.id, form.on_date.data))
            return CHECKIN_STALE_MESSAGE
        except RuleViolation as exc:
            db.session.rollback()
            return str(exc)
        flash("Check-in updated." if saved is not None else "Check-in saved.", "success")
        return None


def register(admin) -> None:
    """Add "My day" (with the check-in page beneath it) to ``admin``."""
    admin.add_view(DayView(name="My day", endpoint="day", url="day"))

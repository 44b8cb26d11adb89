"""A patient's programme: enrol, step down or up, discharge, join and leave groups."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from flask import abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from ..extensions import db
from ..models import Assignment, CareGroup, GroupMembership, Patient, StaffUser, Track
from ..services import audit, rosters
from ..services import enrolment as enrolment_service
from ..services import membership as membership_service
from ..services import step_down
from ..services.errors import RuleViolation
from ..services.access import allowed, role_of
from .base import SecureBaseView


def _tracks():
    return [(str(t.id), t.name) for t in db.session.scalars(sa.select(Track).order_by(Track.care_level))]


def _counselors():
    rows = db.session.scalars(
        sa.select(StaffUser)
        .where(StaffUser.role == "counselor", StaffUser.is_active_account.is_(True))
        .order_by(StaffUser.full_name)
    )
    return [("", "— none —")] + [(str(u.id), u.full_name) for u in rows]


def _chosen_counselor(form) -> StaffUser | None:
    return db.session.get(StaffUser, int(form.counselor.data)) if form.counselor.data else None


class EnrolForm(FlaskForm):
    """Enrol a patient in a track."""

    track = SelectField("Track", validators=[InputRequired()])
    start = DateField("First day", validators=[DataRequired()], default=date.today)
    counselor = SelectField("Primary counselor", validators=[Optional()])
    submit = SubmitField("Enrol")


class TransferForm(FlaskForm):
    """Move a patient to another track."""

    track = SelectField("New track", validators=[InputRequired()])
    on = DateField("First day in the new track", validators=[DataRequired()], default=date.today)
    counselor = SelectField("Primary counselor (empty keeps the current one)", validators=[Optional()])
    reason = StringField("Reason", validators=[DataRequired(), Length(max=255)])
    #: The open enrolment's version as the page showed it: a stale page is refused.
    enrolment_version = HiddenField()
    submit = SubmitField("Move to the new track")


class SettleForm(FlaskForm):
    """Keep or stop one exercise after a move."""

    assignment = HiddenField()
    version = HiddenField()
    keep = SubmitField("Keep")
    stop = SubmitField("Stop")


class DischargeForm(FlaskForm):
    """End the programme."""

    status = SelectField("Ending", choices=[("discharged", "Discharged"), ("withdrawn", "Withdrawn")])
    on = DateField("Last day", validators=[DataRequired()], default=date.today)
    reason = StringField("Reason", validators=[DataRequired(), Length(max=255)])
    submit = SubmitField("End the enrolment")


class JoinGroupForm(FlaskForm):
    """Add the patient to a group."""

    group = SelectField("Group", validators=[InputRequired()])
    start = DateField("From", validators=[DataRequired()], default=date.today)
    end = DateField("Until (optional)", validators=[Optional()])
    submit = SubmitField("Add to group")


class LeaveGroupForm(FlaskForm):
    """End a membership."""

    last_day = DateField("Last day in the group", validators=[DataRequired()], default=date.today)
    submit = SubmitField("End membership")


def _first_day(patient: Patient, asked: str | None) -> date:
    """The join form's default date: the day asked for (a link from the move), else the day
    the patient's open enrolment begins when that is still to come, else today."""
    if asked:
        try:
            return date.fromisoformat(asked)
        except ValueError:
            pass
    current = enrolment_service.open_enrolment(patient.id)
    today = date.today()
    return current.start_date if current is not None and current.start_date > today else today


class ProgrammeView(SecureBaseView):
    """Actions on one patient's programme; every one calls a service."""

    permission_key = "programme"

    def is_visible(self) -> bool:
        return False  # reached from the patient's page, not the menu

    def _patient(self) -> Patient:
        if not allowed(self.permission_key, role_of(current_user), "c"):
            abort(403)
        try:
            patient_id = int(request.args.get("patient", ""))
        except ValueError:
            abort(404)
        patient = db.session.get(Patient, patient_id)
        if patient is None:
            abort(404)
        return patient

    def _back(self, patient: Patient):
        return redirect(url_for("patients.details_view", id=patient.id))

    def _page(self, title, form, patient, error=None, **extra):
        # The page shows the patient's enrolment history: reading it is audited like the patient page.
        audit.record_view("patient", patient.id, [patient.id])
        return self.render("admin/programme/form.html", title=title, form=form, patient=patient,
                           error=error, history=enrolment_service.history(patient.id), **extra)

    @expose("/")
    def index(self):
        return redirect(url_for("patients.index_view"))

    def _act(self, title, form, patient, action, done):
        """Validate ``form``, run ``action`` (a service call) and report; keep the input on refusal."""
        error = None
        if form.validate_on_submit():
            try:
                result = action()
            except RuleViolation as exc:
                db.session.rollback()
                error = str(exc)
            else:
                flash(done(result), "success")
                return self._back(patient)
        return self._page(title, form, patient, error)

    @expose("/enrol/", methods=("GET", "POST"))
    def enrol(self):
        patient = self._patient()
        form = EnrolForm()
        form.track.choices = _tracks()
        form.counselor.choices = _counselors()
        return self._act(
            "Enrol in a track", form, patient,
            lambda: enrolment_service.enrol(
                patient, db.session.get(Track, int(form.track.data)), form.start.data,
                counselor=_chosen_counselor(form), actor=current_user._get_current_object(),
            ),
            lambda result: f"Enrolled. {result.starters_assigned} starter exercise(s) assigned.",
        )

    @expose("/transfer/", methods=("GET", "POST"))
    def transfer(self):
        patient = self._patient()
        form = TransferForm()
        form.track.choices = [("", "— choose a track —")] + _tracks()
        form.counselor.choices = _counselors()
        current = enrolment_service.open_enrolment(patient.id)
        if request.method == "GET":
            # The usual move is one level of care down (inpatient -> intensive -> IOP);
            # from IOP nothing is pre-chosen: down from there is a discharge.
            following = step_down.next_track_down(current.track if current else None)
            form.track.data = str(following.id) if following else ""
            form.enrolment_version.data = str(current.version) if current else ""
        error = None
        if form.validate_on_submit():
            try:
                result = enrolment_service.transfer(
                    patient, db.session.get(Track, int(form.track.data)), form.on.data,
                    reason=form.reason.data, counselor=_chosen_counselor(form),
                    actor=current_user._get_current_object(),
                    expected_version=form.enrolment_version.data,
                )
            except RuleViolation as exc:
                db.session.rollback()
                error = str(exc)
            else:
                flash(f"Stepped {'down' if result.closed.status == 'stepped_down' else 'up'}. "
                      f"{result.memberships_ended} group membership(s) ended; "
                      f"{result.starters_assigned} starter exercise(s) assigned"
                      + (f"; {result.goals_carried} treatment-plan goal(s) carried into the new plan"
                         if result.goals_carried else "") + ".", "success")
                return redirect(url_for(".moved", patient=patient.id))
        return self._page("Step down or up to another track", form, patient, error)

    @expose("/moved/")
    def moved(self):
        """After a move: the new track's groups to join and the old track's exercises to keep or stop."""
        patient = self._patient()
        latest, previous = step_down.moved_enrolment(patient.id)
        if latest is None or previous is None:
            return self._back(patient)
        groups = rosters.track_groups(latest.track_id, latest.start_date, active_only=True)
        carried = step_down.carried_over(latest)
        stopped = step_down.stopped_at_move(latest, previous)
        joined = {
            m.group_id: m.start_date for m in db.session.scalars(
                sa.select(GroupMembership).where(
                    GroupMembership.patient_id == patient.id, GroupMembership.start_date >= latest.start_date))
        }
        kept = {int(v) for v in request.args.getlist("kept") if v.isdigit()}
        audit.record_view("patient", patient.id, [patient.id])
        return self.render(
            "admin/programme/moved.html", patient=patient, enrolment=latest, previous=previous,
            groups=groups, carried=carried, stopped=stopped, joined=joined, kept=kept, kept_args=sorted(kept),
            way="down" if previous.status == "stepped_down" else "up",
            history=enrolment_service.history(patient.id),
        )

    @expose("/carried/", methods=("POST",))
    def carried(self):
        """Keep or stop one exercise carried over from the previous track (one click, version checked)."""
        patient = self._patient()
        form = SettleForm()
        kept = [v for v in request.args.getlist("kept") if v.isdigit()]
        if not form.validate_on_submit():
            flash("The page had expired; nothing was changed. Please try again.", "error")
            return redirect(url_for(".moved", patient=patient.id, kept=kept))
        latest, previous = step_down.moved_enrolment(patient.id)
        assignment_id = audit.whole_id(form.assignment.data)
        assignment = (db.session.get(Assignment, assignment_id)
                      if assignment_id is not None and assignment_id < 2**31 else None)
        if latest is None or previous is None or assignment is None or assignment.patient_id != patient.id:
            abort(404)
        decision = "keep" if form.keep.data else "stop" if form.stop.data else ""
        try:
            message = step_down.settle(latest, assignment, decision, form.version.data)
        except RuleViolation as exc:
            db.session.rollback()
            flash(str(exc), "error")
        else:
            flash(message, "success")
            if decision == "keep":
                kept.append(str(assignment.id))
        return redirect(url_for(".moved", patient=patient.id, kept=kept))

    @expose("/discharge/", methods=("GET", "POST"))
    def discharge(self):
        patient = self._patient()
        form = DischargeForm()
        return self._act(
            "End the enrolment", form, patient,
            lambda: enrolment_service.discharge(
                patient, form.on.data, reason=form.reason.data, status=form.status.data
            ),
            lambda result: (
                f"Enrolment ended. {result.memberships_ended} group membership(s) ended and "
                f"{result.assignments_stopped} assignment(s) stopped."
            ),
        )

    @expose("/join/", methods=("GET", "POST"))
    def join(self):
        patient = self._patient()
        form = JoinGroupForm()
        form.group.choices = [
            (str(g.id), f"{g.name} ({g.track.name})")
            for g in db.session.scalars(
                sa.select(CareGroup).where(CareGroup.active.is_(True))
                .options(sa.orm.joinedload(CareGroup.track)).order_by(CareGroup.name)
            )
        ]
        back_to_move = request.args.get("back") == "moved"
        if request.method == "GET":
            chosen = request.args.get("group", "")
            if chosen in {value for value, _ in form.group.choices}:
                form.group.data = chosen
            form.start.data = _first_day(patient, request.args.get("start"))
        error = None
        if form.validate_on_submit():
            try:
                membership_service.add_member(
                    db.session.get(CareGroup, int(form.group.data)), patient, form.start.data, form.end.data
                )
            except RuleViolation as exc:
                db.session.rollback()
                error = str(exc)
            else:
                flash("Added to the group.", "success")
                if back_to_move:
                    return redirect(url_for(".moved", patient=patient.id))
                return self._back(patient)
        return self._page("Add to a group", form, patient, error)

    @expose("/leave/", methods=("GET", "POST"))
    def leave(self):
        patient = self._patient()
        try:
            membership = db.session.get(GroupMembership, int(request.args.get("membership", "")))
        except ValueError:
            membership = None
        if membership is None or membership.patient_id != patient.id:
            abort(404)
        form = LeaveGroupForm()
        return self._act(
            f"Leave {membership.group.name}", form, patient,
            lambda: membership_service.end_membership(membership, form.last_day.data),
            lambda result: "Membership ended.",
        )


def register(admin) -> None:
    """Add the programme actions (reached from a patient's page)."""
    admin.add_view(ProgrammeView(name="Programme actions", endpoint="programme", url="programme"))

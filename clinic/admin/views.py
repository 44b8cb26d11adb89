"""The model views: declarative configuration plus the row scoping each role needs."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from flask import redirect, request, url_for
from flask_admin import expose
from flask_admin.actions import action
from flask_admin.helpers import get_form_data
from flask_admin.model import typefmt
from flask_admin.model.template import EndpointLinkRowAction
from flask_login import current_user
from wtforms import PasswordField, ValidationError
from wtforms.validators import Email, Optional

from ..extensions import db
from ..models import (
    Activity,
    Assignment,
    Attendance,
    AuditEvent,
    CareGroup,
    Enrolment,
    ExerciseCheckin,
    GroupMembership,
    GroupSession,
    KindnessExercise,
    Patient,
    StaffUser,
    Track,
)
from ..services import accounts, audit
from ..services.access import caseload_patient_ids, facilitated_session_ids
from ..services.errors import RuleViolation
from .base import SecureModelView, _role
from ..services.access import allowed

LABELS = {
    "record_number": "Record no.",
    "first_name": "First name",
    "last_name": "Last name",
    "preferred_name": "Preferred name",
    "start_date": "Start",
    "end_date": "End",
    "due_date": "Due",
    "end_reason": "Reason for ending",
    "primary_counselor": "Primary counselor",
    "care_level": "Care level (1 = most intensive)",
    "weekly_min_minutes": "Weekly minimum (minutes)",
    "weekly_min_days": "Weekly minimum (days)",
    "default_minutes": "Usual length (min)",
    "duration_minutes": "Length (min)",
    "starts_at": "Starts",
    "group_note": "Group note",
    "cancel_reason": "Reason for cancelling",
    "series_id": "Series",
    "why_it_helps": "Why it helps",
    "how_to": "How to do it",
    "reflection_prompts": "Reflection prompts (one per line)",
    "default_times_per_week": "Usual times per week",
    "times_per_week": "Times per week",
    "status_reason": "Reason",
    "assigned_by": "Assigned by",
    "on_date": "Date",
    "mood_before": "Mood before (0–10)",
    "mood_after": "Mood after (0–10)",
    "recorded_by": "Recorded by",
    "recorded_at": "Recorded at",
    "minutes_attended": "Minutes attended",
    "engagement": "Engagement (1–5)",
    "is_active_account": "Active",
    "full_name": "Name",
    "last_login_at": "Last login",
    "created_at": "Created",
    "actor_email": "Who",
    "entity": "Record type",
    "entity_id": "Record id",
    "ip_address": "Address",
    "at": "When (UTC)",
    "group": "Group",
    "exercise": "Exercise",
    "patient": "Patient",
    "track": "Track",
    "session": "Session",
    "facilitator": "Facilitator",
    "row_version": "",
    "record_state": "Record",
    "starter_exercises": "Starter plan",
    # Search placeholders name what can be searched.
    "group.name": "group",
    "patient.last_name": "last name",
    "patient.first_name": "first name",
    "patient.record_number": "record no.",
    "exercise.title": "exercise",
    "assignment.patient.last_name": "last name",
    "assignment.patient.record_number": "record no.",
    "assignment.exercise.title": "exercise",
    "track.name": "track",
    "facilitator.full_name": "facilitator",
    "primary_counselor.full_name": "primary counselor",
    "enrolments.track.name": "track",
    "enrolments.status": "enrolment status",
    "tracks.name": "track",
    "session.starts_at": "session start",
    "session.group.name": "group",
    "group.track.name": "track",
}


def _uid() -> int | None:
    return current_user.id if current_user and current_user.is_authenticated else None


def _is_counselor() -> bool:
    return _role() == "counselor"


def _datetime(view, value, name) -> str:
    return value.strftime("%Y-%m-%d %H:%M")


def _yes_no(view, value, name) -> str:
    return "Yes" if value else "No"


class ClinicView(SecureModelView):
    """Shared labels and formats for every model view."""

    details_template = "admin/clinic_details.html"

    def page_links(self, model) -> list[tuple[str, str]]:
        """Buttons on a record's page: (label, url) pairs, for this user."""
        return []

    column_labels = LABELS
    column_type_formatters = {**typefmt.BASE_FORMATTERS, datetime: _datetime}
    column_type_formatters_detail = {**typefmt.DETAIL_FORMATTERS, datetime: _datetime, bool: _yes_no}


# Programme -----------------------------------------------------------------
class AssignLinkMixin:
    """Row actions for everyone in a group or track: print their progress sheets, assign an exercise."""

    assign_arg = ""

    @property
    def column_extra_row_actions(self):
        actions = [EndpointLinkRowAction("fa fa-print", "print.progress_batch",
                                         title="Print progress sheets (PDF, staff or patient version)",
                                         id_arg=self.assign_arg)]
        if allowed("assign", _role(), "c"):
            actions.append(EndpointLinkRowAction("fa fa-heart", "assign.index",
                                                 title="Assign an exercise to everyone here", id_arg=self.assign_arg))
        return actions

    @column_extra_row_actions.setter
    def column_extra_row_actions(self, value):
        pass


class PrintLinksMixin:
    """Record pages of groups and tracks offer their progress sheets and an assignment."""

    def page_links(self, model):
        links = [("Print progress sheets (PDF)", url_for("print.progress_batch", **{self.assign_arg: model.id}))]
        if allowed("assign", _role(), "c"):
            links.append(("Assign an exercise to everyone here", url_for("assign.index", **{self.assign_arg: model.id})))
        return links


class TrackView(PrintLinksMixin, AssignLinkMixin, ClinicView):
    assign_arg = "track"
    permission_key = "tracks"
    column_list = ("code", "name", "care_level", "weekly_min_minutes", "weekly_min_days")
    column_default_sort = "care_level"
    column_searchable_list = ("code", "name")
    form_columns = (
        "code", "name", "care_level", "weekly_min_minutes", "weekly_min_days", "description",
        "starter_exercises",
    )
    column_details_list = (
        "code", "name", "care_level", "weekly_min_minutes", "weekly_min_days", "description",
        "starter_exercises",
    )
    column_descriptions = {
        "starter_exercises": "Assigned automatically to every patient enrolled in this track.",
    }


class GroupView(PrintLinksMixin, AssignLinkMixin, ClinicView):
    assign_arg = "group"
    permission_key = "groups"
    column_list = ("name", "track", "facilitator", "room", "capacity", "active")
    column_default_sort = "name"
    column_searchable_list = ("name", "room")
    column_filters = ("track.name", "active", "facilitator.full_name")
    form_columns = ("name", "track", "facilitator", "room", "capacity", "active")


class MembershipView(ClinicView):
    permission_key = "memberships"
    column_list = ("group", "patient", "start_date", "end_date")
    column_default_sort = ("start_date", True)
    column_searchable_list = ("patient.last_name", "patient.first_name", "patient.record_number", "group.name")
    column_filters = ("group.name", "start_date", "end_date")
    form_columns = ("group", "patient", "start_date", "end_date")

    def scope_query(self, query):
        if _is_counselor():
            return query.filter(GroupMembership.patient_id.in_(caseload_patient_ids(_uid())))
        return query

    def on_model_change(self, form, model, is_created):
        """The same rules as the patient page: enrolled in the track, no double, room left."""
        from ..services.membership import check_membership

        try:
            with db.session.no_autoflush:
                model.end_date = check_membership(
                    model.group, model.patient, model.start_date, model.end_date,
                    exclude_id=None if is_created else model.id,
                )
        except RuleViolation as exc:
            raise ValidationError(str(exc)) from exc
        super().on_model_change(form, model, is_created)


class ActivityView(ClinicView):
    permission_key = "activities"
    column_list = ("name", "default_minutes", "exercise", "tracks")
    column_default_sort = "name"
    column_searchable_list = ("name",)
    form_columns = ("name", "description", "default_minutes", "exercise", "tracks")


class SessionView(ClinicView):
    permission_key = "sessions"

    def page_links(self, model):
        links = [("Record participation", url_for("record.index", session=model.id))]
        if model.status != "cancelled":
            links.append(("Print the session packet (PDF)", url_for("print.packet", session=model.id)))
        return links

    column_list = (
        "starts_at", "group", "activity", "duration_minutes", "room", "facilitator", "status", "record_state",
    )
    column_extra_row_actions = [
        EndpointLinkRowAction("fa fa-check-square-o", "record.index", title="Record participation",
                              id_arg="session"),
        EndpointLinkRowAction("fa fa-print", "print.packet", title="Print the session packet (PDF)",
                              id_arg="session"),
    ]
    column_default_sort = ("starts_at", True)
    column_searchable_list = ("group.name", "room")
    column_filters = ("starts_at", "status", "group.name", "group.track.name", "facilitator.full_name")
    form_columns = (
        "group", "activity", "starts_at", "duration_minutes", "room", "facilitator", "status", "cancel_reason",
        "group_note",
    )
    #: What a counselor may change on a session they facilitate.
    counselor_form_columns = ("status", "group_note")
    _counselor_form_class = None

    def scope_query(self, query):
        if _is_counselor():
            return query.filter(GroupSession.facilitator_id == _uid())
        return query

    def on_model_change(self, form, model, is_created):
        """A session saved here is checked for clashes like one made from a series."""
        from ..services.scheduling import check_session

        try:
            with db.session.no_autoflush:
                check_session(model)
        except RuleViolation as exc:
            raise ValidationError(str(exc)) from exc
        super().on_model_change(form, model, is_created)

    def edit_form(self, obj=None):
        if not _is_counselor():
            return super().edit_form(obj)
        if self._counselor_form_class is None:
            saved = self.form_columns
            self.form_columns = self.counselor_form_columns
            try:
                SessionView._counselor_form_class = self.get_form()
            finally:
                self.form_columns = saved
        form = self._counselor_form_class(get_form_data(), obj=obj)
        if request.method == "GET" and obj is not None:
            form.row_version.data = str(obj.version)
        return form


class ExerciseView(ClinicView):
    permission_key = "exercises"

    def page_links(self, model):
        return [
            ("Print the handout (PDF)", url_for("print.handout", exercise=model.id)),
            ("Large print (PDF)", url_for("print.handout", exercise=model.id, large=1)),
        ]

    column_extra_row_actions = [
        EndpointLinkRowAction("fa fa-print", "print.handout", title="Print the handout (PDF)", id_arg="exercise"),
        EndpointLinkRowAction("fa fa-search-plus", "print.handout", title="Print the handout in large print (PDF)",
                              id_arg="exercise", url_args={"large": 1}),
    ]
    column_list = ("title", "direction", "energy", "default_times_per_week", "tracks", "active")
    column_default_sort = "title"
    column_searchable_list = ("title", "summary")
    column_filters = ("direction", "energy", "active", "tracks.name")
    form_columns = (
        "title", "direction", "energy", "summary", "why_it_helps", "how_to",
        "reflection_prompts", "default_times_per_week", "tracks", "active",
    )


class AssignmentView(ClinicView):
    permission_key = "assignments"
    column_list = ("patient", "exercise", "start_date", "due_date", "times_per_week", "status", "source", "assigned_by")
    column_default_sort = ("start_date", True)
    column_searchable_list = ("patient.last_name", "patient.first_name", "patient.record_number", "exercise.title")
    column_filters = ("status", "source", "start_date", "due_date", "exercise.title")
    form_columns = ("patient", "exercise", "start_date", "due_date", "times_per_week", "status", "status_reason", "source")

    def scope_query(self, query):
        if _is_counselor():
            return query.filter(Assignment.patient_id.in_(caseload_patient_ids(_uid())))
        return query

    def on_model_change(self, form, model, is_created):
        if is_created and model.assigned_by_id is None:
            model.assigned_by_id = _uid()
        super().on_model_change(form, model, is_created)


# People --------------------------------------------------------------------
class PatientView(ClinicView):
    permission_key = "patients"
    column_list = ("record_number", "last_name", "first_name", "preferred_name", "active")
    column_default_sort = "last_name"
    column_searchable_list = ("record_number", "last_name", "first_name", "preferred_name")
    column_filters = ("active", "enrolments.track.name", "enrolments.status")
    form_columns = ("record_number", "first_name", "last_name", "preferred_name", "active")
    column_details_list = ("record_number", "first_name", "last_name", "preferred_name", "active", "created_at")

    def scope_query(self, query):
        if _is_counselor():
            return query.filter(Patient.id.in_(caseload_patient_ids(_uid())))
        return query

    details_template = "admin/patient_details.html"

    def is_action_allowed(self, name):
        if name == "assign":
            return allowed("assign", _role(), "c")
        if name == "print_progress":
            return allowed("print", _role(), "r")
        return super().is_action_allowed(name)

    @action("print_progress", "Print progress sheets")
    def action_print_progress(self, ids):
        """Send the selected patients to the progress-sheet batch page (ids only in the URL)."""
        return redirect(url_for("print.progress_batch", patients=[int(i) for i in ids]))

    @action("assign", "Assign an exercise")
    def action_assign(self, ids):
        """Send the selected patients to the assignment page (ids only, no names, in the URL)."""
        return redirect(url_for("assign.index", patients=[int(i) for i in ids]))

    def programme(self, patient):
        """What the patient's page shows besides the record: history, groups, exercises."""
        from ..services.enrolment import history, open_enrolment

        memberships = db.session.scalars(
            sa.select(GroupMembership).where(GroupMembership.patient_id == patient.id)
            .options(sa.orm.joinedload(GroupMembership.group).joinedload(CareGroup.track))
            .order_by(GroupMembership.start_date.desc())
        ).all()
        assignments = db.session.scalars(
            sa.select(Assignment).where(Assignment.patient_id == patient.id)
            .options(sa.orm.joinedload(Assignment.exercise))
            .order_by(Assignment.status, Assignment.start_date.desc())
        ).all()
        from ..services.chart import mood_chart_context
        from .day import participation_context

        role = _role()
        return {
            **mood_chart_context(patient),
            "participation": participation_context(patient),
            "history": history(patient.id),
            "open_enrolment": open_enrolment(patient.id),
            "memberships": memberships,
            "assignments": assignments,
            "may_plan": allowed("programme", role, "c"),
            "may_assign": allowed("assign", role, "c"),
            "today": date.today(),
        }

    @expose("/details/")
    def details_view(self):
        response = super().details_view()
        record_id = request.args.get("id", "")
        if isinstance(response, str) and record_id:
            # Reading a patient record is itself an event worth keeping.
            audit.record("view", entity="patient", entity_id=record_id)
            db.session.commit()
        return response


class EnrolmentView(ClinicView):
    permission_key = "enrolments"
    column_list = ("patient", "track", "start_date", "end_date", "status", "primary_counselor")
    column_default_sort = ("start_date", True)
    column_searchable_list = ("patient.last_name", "patient.first_name", "patient.record_number")
    column_filters = ("track.name", "status", "start_date", "end_date", "primary_counselor.full_name")
    form_columns = ("patient", "track", "start_date", "end_date", "status", "end_reason", "primary_counselor")
    column_descriptions = {
        "status": "To step a patient down or discharge them, use the buttons on the patient's page: "
        "they also end group memberships and assign the new track's starter exercises.",
    }

    def scope_query(self, query):
        if _is_counselor():
            return query.filter(Enrolment.patient_id.in_(caseload_patient_ids(_uid())))
        return query

    def on_model_change(self, form, model, is_created):
        """Corrections through this form still may not overlap another enrolment."""
        from ..services.enrolment import check_dates

        try:
            with db.session.no_autoflush:
                check_dates(model.patient.id, model.start_date, model.end_date,
                            exclude_id=None if is_created else model.id)
        except RuleViolation as exc:
            raise ValidationError(str(exc)) from exc
        super().on_model_change(form, model, is_created)


class StaffView(ClinicView):
    permission_key = "staff"
    column_list = ("full_name", "email", "role", "is_active_account", "last_login_at")
    column_default_sort = "full_name"
    column_searchable_list = ("full_name", "email")
    column_filters = ("role", "is_active_account")
    form_columns = ("full_name", "email", "role", "is_active_account", "new_password")
    column_details_list = ("full_name", "email", "role", "is_active_account", "created_at", "last_login_at")
    form_args = {"email": {"validators": [Email()]}}
    form_extra_fields = {
        "new_password": PasswordField(
            "New password",
            description=f"At least {accounts.MIN_PASSWORD_LENGTH} characters. Leave empty to keep the current one.",
            validators=[Optional()],
        ),
    }

    def on_model_change(self, form, model, is_created):
        try:
            accounts.prepare_account(model, new_password=form.new_password.data or "", is_new=is_created,
                                     acting_user_id=_uid())
        except accounts.AccountError as exc:
            raise ValidationError(str(exc)) from exc
        super().on_model_change(form, model, is_created)


# Records -------------------------------------------------------------------
class AttendanceView(ClinicView):
    permission_key = "attendance"
    column_list = ("session", "patient", "status", "minutes_attended", "engagement", "recorded_by")
    column_default_sort = ("recorded_at", True)
    column_searchable_list = ("patient.last_name", "patient.first_name", "patient.record_number")
    column_filters = ("status", "session.starts_at", "session.group.name")
    form_columns = ("session", "patient", "status", "minutes_attended", "engagement", "note")
    form_args = {
        "session": {"query_factory": lambda: AttendanceView.session_choices()},
        "patient": {"query_factory": lambda: AttendanceView.patient_choices()},
    }

    @staticmethod
    def session_choices():
        query = db.session.query(GroupSession).order_by(GroupSession.starts_at.desc())
        if _is_counselor():
            query = query.filter(GroupSession.facilitator_id == _uid())
        return query

    @staticmethod
    def patient_choices():
        query = db.session.query(Patient).order_by(Patient.last_name, Patient.first_name)
        if _is_counselor():
            query = query.filter(Patient.id.in_(caseload_patient_ids(_uid())))
        return query

    def scope_query(self, query):
        if _is_counselor():
            return query.filter(Attendance.session_id.in_(facilitated_session_ids(_uid())))
        return query

    def on_model_change(self, form, model, is_created):
        model.recorded_by_id = _uid()
        super().on_model_change(form, model, is_created)


class CheckinView(ClinicView):
    permission_key = "checkins"
    column_list = ("assignment", "on_date", "outcome", "mood_before", "mood_after", "recorded_by")
    column_default_sort = ("on_date", True)
    column_searchable_list = (
        "assignment.patient.last_name", "assignment.patient.record_number", "assignment.exercise.title",
    )
    column_filters = ("outcome", "on_date")
    form_columns = ("assignment", "on_date", "outcome", "mood_before", "mood_after", "reflection", "session")
    form_args = {
        "assignment": {"query_factory": lambda: CheckinView.assignment_choices()},
        "session": {"query_factory": lambda: AttendanceView.session_choices()},
    }

    @staticmethod
    def assignment_choices():
        query = db.session.query(Assignment).filter(Assignment.status == "active")
        if _is_counselor():
            query = query.filter(Assignment.patient_id.in_(caseload_patient_ids(_uid())))
        return query

    def scope_query(self, query):
        if _is_counselor():
            return query.join(Assignment, ExerciseCheckin.assignment_id == Assignment.id).filter(
                Assignment.patient_id.in_(caseload_patient_ids(_uid()))
            )
        return query

    def on_model_change(self, form, model, is_created):
        model.recorded_by_id = _uid()
        super().on_model_change(form, model, is_created)


# Admin ---------------------------------------------------------------------
class AuditView(ClinicView):
    permission_key = "audit"
    column_list = ("at", "actor_email", "action", "entity", "entity_id", "ip_address")
    column_details_list = ("at", "actor_email", "action", "entity", "entity_id", "changes", "ip_address")
    column_default_sort = ("at", True)
    column_searchable_list = ("actor_email", "entity", "entity_id")
    column_filters = ("action", "entity", "at", "actor_email")
    page_size = 50  # one of page_size_options

    # Read-only for everyone, whatever the role table says.
    can_create = False  # type: ignore[assignment]
    can_edit = False  # type: ignore[assignment]
    can_delete = False  # type: ignore[assignment]

    def is_action_allowed(self, name):
        return False


MODEL_VIEWS = (
    # (view class, model, menu name, category, endpoint)
    (TrackView, Track, "Tracks", "Programme", "tracks"),
    (GroupView, CareGroup, "Groups", "Programme", "groups"),
    (MembershipView, GroupMembership, "Group members", "Programme", "memberships"),
    (ActivityView, Activity, "Activities", "Programme", "activities"),
    (SessionView, GroupSession, "Sessions", "Programme", "sessions"),
    (ExerciseView, KindnessExercise, "Kindness exercises", "Programme", "exercises"),
    (AssignmentView, Assignment, "Assignments", "Programme", "assignments"),
    (PatientView, Patient, "Patients", "People", "patients"),
    (EnrolmentView, Enrolment, "Enrolments", "People", "enrolments"),
    (StaffView, StaffUser, "Staff accounts", "Admin", "staff"),
    (AttendanceView, Attendance, "Attendance", "Records", "attendance"),
    (CheckinView, ExerciseCheckin, "Exercise check-ins", "Records", "checkins"),
    (AuditView, AuditEvent, "Audit log", "Admin", "audit"),
)

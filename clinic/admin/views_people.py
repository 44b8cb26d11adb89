"""People lists: patients, their enrolments, and staff accounts.

Each view hands its form to a service in ``clinic.services``; scoping comes from
``clinic.services.access``.
"""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from flask import g, redirect, url_for
from flask_admin.actions import action
from flask_admin.contrib.sqla.tools import parse_like_term
from flask_admin.model.template import macro
from flask_login import current_user
from wtforms import PasswordField, SelectField
from wtforms.validators import Email, Optional

from ..extensions import db
from ..models import Assignment, CareGroup, Enrolment, GroupMembership, Patient, StaffUser
from ..services import (
    accounts, enrolment, languages, measure_schedule, measure_trend, measures, patients, period_notes, rosters,
    safety,
)
from ..services.access import allowed
from .base import _role
from .views_common import LABELS, ClinicView, by_patient


def active_counselors():
    """Who can be a primary counselor: active counselor accounts, by name."""
    return (db.session.query(StaffUser)
            .filter(StaffUser.role == "counselor", StaffUser.is_active_account.is_(True))
            .order_by(StaffUser.full_name))


class PatientView(ClinicView):
    """Patients, through services.patients; the record page shows the programme."""

    permission_key = "patients"
    column_list = ("record_number", "last_name", "first_name", "preferred_name", "track", "groups",
                   "counselor", "status", "active")
    column_sortable_list = (
        "record_number", "last_name", "first_name", "preferred_name", "active",
        ("track", rosters.latest_enrolment_order("track")),
        ("counselor", rosters.latest_enrolment_order("counselor")),
        ("status", rosters.latest_enrolment_order("status")),
    )
    #: The name opens the patient's page; the programme columns come from one load per page
    #: (``rosters.patient_list_lines``), never a query per row.
    column_formatters = {
        "last_name": macro("details_link"),
        "first_name": macro("details_link"),
        "track": macro("programme_line"),
        "groups": macro("programme_line"),
        "counselor": macro("programme_line"),
        "status": macro("programme_line"),
    }
    list_template = "admin/patient_list.html"
    column_labels = {**LABELS, "groups": "Groups today", "counselor": "Primary counselor",
                     "status": "Enrolment status", "active": "Record active"}
    column_default_sort = "last_name"
    column_searchable_list = ("record_number", "last_name", "first_name", "preferred_name")
    search_matches_first = True  # sorted by last name: see SecureModelView.search_matches_first
    column_filters = ("active", "enrolments.track.name", "enrolments.status")
    form_columns = ("record_number", "first_name", "last_name", "preferred_name", "preferred_language", "active")
    #: The languages come from services.languages (English and every catalogue); the service checks them again.
    form_overrides = {"preferred_language": SelectField}
    form_args = {"preferred_language": {"choices": lambda: languages.choices(), "default": "en",
                                        "description": "Handouts and plans are printed in this language."}}
    column_details_list = ("record_number", "first_name", "last_name", "preferred_name", "preferred_language",
                           "active", "created_at")
    #: The list's links and programme columns are not the page's; the language shows by its name.
    column_formatters_detail = {
        "preferred_language": lambda view, context, model, name: languages.language_name(model.preferred_language),
    }
    details_template = "admin/patient_details.html"

    def scope_query(self, query):
        return by_patient(query, Patient.id)

    def get_list(self, *args, **kwargs):
        count, rows = super().get_list(*args, **kwargs)
        if not kwargs.get("execute", True):
            return count, rows
        rows = list(rows)
        g.clinic_patient_lines = rosters.patient_list_lines([row.id for row in rows])
        return count, rows

    def _search_parts(self, search):
        """A one-word search of the whole list reads each searched column alone (through its
        trigram index), and the page and the capped count come from their union: a column
        with no match (a surname in the record numbers) costs one index look-up, and the
        rows of a common surname are tested on their last name only, instead of every patient
        near them being tested on all four columns. Sorted as before (matches first)."""
        terms = [parse_like_term(term) for term in search.split(" ") if term]
        if len(terms) != 1 or self.rows_narrowed():
            return super()._search_parts(search)
        g.clinic_matches_first = self.search_matches_first
        return [[sa.cast(getattr(Patient, name), sa.Unicode).ilike(terms[0])]
                for name in self.column_searchable_list]

    def list_line(self, patient_id: int) -> rosters.ListLine:
        """The programme columns of one row of the list (loaded with the page)."""
        return g.get("clinic_patient_lines", {}).get(patient_id) or rosters.ListLine()

    def create_record(self, values):
        return patients.create_patient(values)

    def update_record(self, model, values, version):
        return patients.update_patient(model, values, version)

    def delete_record(self, model):
        patients.delete_patient(model)

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
        from ..services.chart import mood_chart_context
        from .day import participation_context
        from .kindness import kindness_context
        from .plan import plan_context

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
        role = _role()
        tasks = safety.tasks_of_patient(patient.id)
        history = enrolment.history(patient.id)
        return {
            **mood_chart_context(patient),
            "participation": participation_context(patient),
            **kindness_context(patient),
            **plan_context(patient),
            "period_notes": period_notes.latest_notes(patient.id),
            "period_notes_shown": period_notes.NOTES_SHOWN,
            "history": history,
            "open_enrolment": enrolment.open_enrolment(patient.id),
            "memberships": memberships,
            "assignments": assignments,
            "may_plan": allowed("programme", role, "c"),
            "may_assign": allowed("assign", role, "c"),
            "may_audit": allowed("audit", role, "r"),
            "measures": measures.patient_measures(patient.id),
            # When the next PHQ-9 and GAD-7 are due (one statement) and their trends (one).
            "measures_due": measure_schedule.patient_schedule(patient.id),
            "measure_trends": measure_trend.patient_trends(patient.id, history),
            "safety_tasks": [t for t in tasks if t.open],
            "closed_safety_tasks": [t for t in tasks if not t.open],
            "safety_shown": safety.SHOWN,
            # The page itself is scoped to the caseload, so the role decides.
            "may_measure": allowed("measures", role, "c"),
            "today": date.today(),
        }

    def patient_ids_of(self, model):
        return [model.id]


class EnrolmentView(ClinicView):
    """Enrolments, through services.enrolment (new ones get the starter plan)."""

    permission_key = "enrolments"
    column_list = ("patient", "track", "start_date", "end_date", "status", "primary_counselor")
    column_default_sort = ("start_date", True)
    column_searchable_list = ("patient.last_name", "patient.first_name", "patient.record_number")
    column_filters = ("track.name", "status", "start_date", "end_date", "primary_counselor.full_name")
    form_columns = ("patient", "track", "start_date", "end_date", "status", "end_reason", "primary_counselor")
    form_create_columns = ("patient", "track", "start_date", "primary_counselor")
    form_edit_columns = ("start_date", "end_date", "end_reason", "primary_counselor")
    form_args = {"primary_counselor": {"query_factory": active_counselors}}
    column_descriptions = {
        "status": "To step a patient down or discharge them, use the buttons on the patient's page: "
        "they also end group memberships and assign the new track's starter exercises.",
        "end_date": "An open enrolment ends by step-down or discharge on the patient's page.",
    }

    def scope_query(self, query):
        return by_patient(query, Enrolment.patient_id)

    def patient_ids_of(self, model):
        return [model.patient_id]

    def create_record(self, values):
        return enrolment.create_enrolment(values, actor=current_user._get_current_object()).enrolment

    def update_record(self, model, values, version):
        return enrolment.update_enrolment(model, values, version)

    def delete_record(self, model):
        enrolment.delete_enrolment(model)


class StaffView(ClinicView):
    """Staff accounts, through services.accounts; never deleted."""

    permission_key = "staff"
    column_list = ("full_name", "email", "role", "is_active_account", "last_login_at")
    column_default_sort = "full_name"
    column_searchable_list = ("full_name", "email")
    column_filters = ("role", "is_active_account")
    form_columns = ("full_name", "email", "role", "is_active_account", "new_password")
    column_details_list = ("full_name", "email", "role", "is_active_account", "created_at", "last_login_at")
    form_args = {"email": {"validators": [Email()]}}
    #: Adds the "End all sessions" button.
    details_template = "admin/staff_details.html"
    form_extra_fields = {
        "new_password": PasswordField(
            "New password",
            description=f"At least {accounts.MIN_PASSWORD_LENGTH} characters. Leave empty to keep the current one.",
            validators=[Optional()],
        ),
    }

    def patient_ids_of(self, model):
        return None  # a staff account holds no clinical data

    @staticmethod
    def _split(values):
        values = dict(values)
        return values, values.pop("new_password", None) or ""

    def create_record(self, values):
        values, password = self._split(values)
        return accounts.create_account(values, password)

    def update_record(self, model, values, version):
        values, password = self._split(values)
        return accounts.update_account(model, values, password, version, acting_user_id=current_user.id,
                                       acting_session_id=g.get("login_session_id"))


__all__ = ["EnrolmentView", "PatientView", "StaffView"]

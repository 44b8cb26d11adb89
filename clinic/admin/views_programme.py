"""Programme lists: tracks, groups and their members, activities, sessions, exercises, assignments.

Each view hands its form to a service in ``clinic.services``; scoping comes from
``clinic.services.access``.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash, g, redirect, request, url_for
from flask_admin import expose
from flask_admin.model.template import EndpointLinkRowAction, macro
from flask_login import current_user

from ..extensions import db
from ..models import Assignment, Attendance, GroupMembership, GroupSession, KindnessExercise, StaffUser
from ..services import assignments, catalogue, languages, membership, readability, rosters, searches, sessions
from ..services.access import allowed
from ..services.limits import GROUP_NOTE_LIMIT, TEXT_LIMIT
from .base import _role
from .session_filters import RecordStateFilter, record_state_text
from .views_common import ClinicView, by_patient, by_session, longest


def active_staff():
    """Staff who can lead a group or a session: active accounts, by name."""
    return db.session.query(StaffUser).filter(StaffUser.is_active_account.is_(True)).order_by(StaffUser.full_name)


def current_exercises():
    """Exercises that may be assigned: the current catalogue, by title (retired ones are never offered)."""
    return (db.session.query(KindnessExercise).filter(KindnessExercise.active.is_(True))
            .order_by(KindnessExercise.title))


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


class RosterPageMixin:
    """A details page that names patients: the roster is built once per request and its named
    patients are what the page's "view" audit event lists (none named: no clinical data shown)."""

    roster_builder = None

    def build_roster(self, model):
        return type(self).roster_builder(model, current_user)

    def roster(self, model):
        cached = g.get("clinic_roster")
        if cached is None or cached[0] != (type(self).__name__, model.id):
            g.clinic_roster = ((type(self).__name__, model.id), self.build_roster(model))
        return g.clinic_roster[1]

    def patient_ids_of(self, model):
        shown = self.roster(model).patient_ids
        return shown or None


class TrackView(RosterPageMixin, PrintLinksMixin, AssignLinkMixin, ClinicView):
    """Tracks, through services.catalogue."""

    assign_arg = "track"
    permission_key = "tracks"
    column_list = ("code", "name", "care_level", "weekly_min_minutes", "weekly_min_days")
    column_default_sort = "care_level"
    column_searchable_list = ("code", "name")
    form_columns = (
        "code", "name", "care_level", "weekly_min_minutes", "weekly_min_days", "measure_interval_days",
        "description", "starter_exercises", "default_goal", "recert_first_days", "recert_every_days",
    )
    form_args = {"description": longest(TEXT_LIMIT), "default_goal": longest(1000)}
    column_labels = {"measure_interval_days": "Days between PHQ-9 / GAD-7"}
    column_details_list = form_columns
    column_descriptions = {
        "starter_exercises": "Assigned automatically to every patient enrolled in this track "
                             "(retired exercises are left out).",
        "measure_interval_days": "1 to 90 days (7: weekly). PHQ-9 and GAD-7 are also due at admission, "
                                 "at step-down and at discharge.",
        "default_goal": "The treatment-plan goal a fan-out to a group or this track (and the starter plan) "
                        "attaches to each patient's plan. Empty: patients with a plan are assigned one by one.",
        "recert_first_days": "Certified level of care: the first recertification this many days after the "
                             "enrolment starts (PHP 18). Empty with the next field: not certified.",
        "recert_every_days": "Then a recertification every this many days (IOP 60, PHP 30).",
    }
    column_formatters = {"name": macro("details_link")}
    column_formatters_detail: dict = {}  # the link is for the list; the page shows the plain name
    list_template = "admin/roster_list.html"
    details_template = "admin/track_details.html"
    roster_builder = rosters.track_roster

    def build_roster(self, model):
        """One page of the track's patients (``?page=``), narrowed by a name search behind a
        token (``?q=``, from ``roster_search_view``): names never travel in the URL; and one
        page of its groups (``?gpage=``), paged independently of the patients."""
        term = ""
        token = request.args.get("q")
        if token:
            term = searches.lookup(current_user.id, token)
            if term is None:
                flash("That search has expired; please search again.", "info")
                term = ""
        return rosters.track_roster(model, current_user, page=request.args.get("page"), term=term,
                                    group_page=request.args.get("gpage"))

    @expose("/details/search/", methods=("POST",))
    def roster_search_view(self):
        """A name typed into the track page's search: kept on the server, the page gets a token."""
        track_id = request.form.get("id", "")
        if not track_id.isdigit():
            abort(404)
        if self.get_one(track_id) is None:
            abort(404)
        term = (request.form.get("search") or "").strip()
        args = {"id": int(track_id)}
        group_page = request.form.get("gpage", "")
        if group_page.isdigit() and len(group_page) < 8:
            args["gpage"] = int(group_page)  # the groups' page stays where it was
        if term:
            args["q"] = searches.save(current_user.id, term)
        return redirect(url_for(".details_view", **args) + "#patients-heading")

    def create_record(self, values):
        return catalogue.create_track(values)

    def update_record(self, model, values, version):
        return catalogue.update_track(model, values, version)

    def delete_record(self, model):
        catalogue.delete_track(model)


class GroupView(RosterPageMixin, PrintLinksMixin, AssignLinkMixin, ClinicView):
    """Groups, through services.catalogue (capacity never below current members)."""

    assign_arg = "group"
    permission_key = "groups"
    column_list = ("name", "track", "facilitator", "room", "capacity", "active")
    column_default_sort = "name"
    column_searchable_list = ("name", "room")
    column_filters = ("track.name", "active", "facilitator.full_name")
    form_columns = ("name", "track", "facilitator", "room", "capacity", "active")
    form_args = {"facilitator": {"query_factory": active_staff}}
    column_formatters = {"name": macro("details_link")}
    column_formatters_detail: dict = {}  # the link is for the list; the page shows the plain name
    list_template = "admin/roster_list.html"
    details_template = "admin/group_details.html"
    roster_builder = rosters.group_roster

    def create_record(self, values):
        return catalogue.create_group(values)

    def update_record(self, model, values, version):
        return catalogue.update_group(model, values, version)

    def delete_record(self, model):
        catalogue.delete_group(model)


class MembershipView(ClinicView):
    """Group memberships, through services.membership; counselors see their caseload."""

    permission_key = "memberships"
    column_list = ("group", "patient", "start_date", "end_date")
    column_default_sort = ("start_date", True)
    column_searchable_list = ("patient.last_name", "patient.first_name", "patient.record_number", "group.name")
    column_filters = ("group.name", "start_date", "end_date")
    form_columns = ("group", "patient", "start_date", "end_date")

    def scope_query(self, query):
        return by_patient(query, GroupMembership.patient_id)

    def patient_ids_of(self, model):
        return [model.patient_id]

    def create_record(self, values):
        return membership.create_membership(values)

    def update_record(self, model, values, version):
        return membership.update_membership(model, values, version)

    def delete_record(self, model):
        membership.delete_membership(model)


class ActivityView(ClinicView):
    """Activities, through services.catalogue."""

    permission_key = "activities"
    column_list = ("name", "default_minutes", "exercise", "tracks")
    column_default_sort = "name"
    column_searchable_list = ("name",)
    form_columns = ("name", "description", "default_minutes", "exercise", "tracks")
    form_args = {"description": longest(TEXT_LIMIT)}

    def patient_ids_of(self, model):
        return None  # the catalogue: no patient's data

    def create_record(self, values):
        return catalogue.create_activity(values)

    def update_record(self, model, values, version):
        return catalogue.update_activity(model, values, version)

    def delete_record(self, model):
        catalogue.delete_activity(model)


class SessionView(ClinicView):
    """Sessions: planners and admins plan them here; the group note lives on the record page."""

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
    column_filters = ("starts_at", "status", "group.name", "group.track.name", "facilitator.full_name",
                      RecordStateFilter())
    column_formatters = {"record_state": record_state_text}
    form_columns = (
        "group", "activity", "starts_at", "duration_minutes", "room", "facilitator", "status", "cancel_reason",
        "group_note",
    )
    form_args = {"group_note": longest(GROUP_NOTE_LIMIT), "facilitator": {"query_factory": active_staff}}

    def scope_query(self, query):
        return by_session(query, GroupSession.id)

    def patient_ids_of(self, model):
        """The group note is about everyone on the session: attendance and members that day."""
        day = model.starts_at.date()
        attended = sa.select(Attendance.patient_id).where(Attendance.session_id == model.id)
        members = sa.select(GroupMembership.patient_id).where(
            GroupMembership.group_id == model.group_id,
            membership.covers(GroupMembership, day),
        )
        return list(db.session.scalars(sa.union(attended, members)))

    def create_record(self, values):
        return sessions.create_session(values)

    def update_record(self, model, values, version):
        return sessions.update_session(model, values, version)

    def delete_record(self, model):
        sessions.delete_session(model)


#: The exercise texts patients read, with the labels planners see.
READING_FIELDS = {"summary": "Summary", "why_it_helps": "Why it helps", "how_to": "How to do it",
                  "reflection_prompts": "Reflection prompts"}


class ExerciseView(ClinicView):
    """The kindness-exercise catalogue, through services.catalogue."""

    permission_key = "exercises"

    def page_links(self, model):
        links = [
            ("Print the handout (PDF)", url_for("print.handout", exercise=model.id)),
            ("Large print (PDF)", url_for("print.handout", exercise=model.id, large=1)),
        ]
        for code, name in languages.choices()[1:]:  # the handout in each other language patients read
            links.append((f"Handout in {name} (PDF)", url_for("print.handout", exercise=model.id, language=code)))
        if allowed(self.permission_key, _role(), "e"):  # its texts in those languages, beside the English
            for code, name in languages.choices()[1:]:
                links.append((f"Translate into {name}",
                              url_for("exercise_texts.edit", exercise=model.id, language=code)))
        return links

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
    form_args = {name: longest(TEXT_LIMIT) for name in ("why_it_helps", "how_to", "reflection_prompts")}

    edit_template = "admin/exercise/edit.html"
    details_template = "admin/exercise/details.html"

    def readings(self, model) -> list:
        """(label, services.readability.Reading) of each patient text of the saved exercise."""
        return [(label, readability.reading(getattr(model, field), "en"))
                for field, label in READING_FIELDS.items()]

    def patient_ids_of(self, model):
        return None  # the catalogue: no patient's data

    def create_record(self, values):
        return catalogue.create_exercise(values)

    def update_record(self, model, values, version):
        return catalogue.update_exercise(model, values, version)

    def delete_record(self, model):
        catalogue.delete_exercise(model)


class AssignmentView(ClinicView):
    """Assignments, through services.assignments; counselors see their caseload."""

    permission_key = "assignments"
    column_list = ("patient", "exercise", "start_date", "due_date", "times_per_week", "status", "source", "assigned_by")
    column_default_sort = ("start_date", True)
    column_searchable_list = ("patient.last_name", "patient.first_name", "patient.record_number", "exercise.title")
    column_filters = ("status", "source", "start_date", "due_date", "exercise.title")
    form_columns = ("patient", "exercise", "start_date", "due_date", "times_per_week", "status", "status_reason")
    form_create_columns = ("patient", "exercise", "start_date", "due_date", "times_per_week")
    form_edit_columns = ("due_date", "times_per_week", "status", "status_reason")
    form_args = {"exercise": {"query_factory": current_exercises}}
    column_descriptions = {
        "status": "Completed and stopped are final. Pausing and stopping need a reason.",
    }

    def scope_query(self, query):
        return by_patient(query, Assignment.patient_id)

    def patient_ids_of(self, model):
        return [model.patient_id]

    def create_record(self, values):
        return assignments.create_assignment(values, actor=current_user._get_current_object())

    def update_record(self, model, values, version):
        return assignments.update_assignment(model, values, version)

    def delete_record(self, model):
        assignments.delete_assignment(model)


__all__ = [
    "ActivityView",
    "AssignmentView",
    "ExerciseView",
    "GroupView",
    "MembershipView",
    "SessionView",
    "TrackView",
]

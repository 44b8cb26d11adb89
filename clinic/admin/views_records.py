"""Record lists, read-only here: attendance, exercise check-ins and the audit log.

Attendance and check-ins change only on the session record page and the patient's
page, which hold the rules; these lists link there.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import g, request, url_for
from flask_admin.contrib.sqla.filters import BaseSQLAFilter
from flask_admin.contrib.sqla.tools import parse_like_term
from flask_admin.model.template import LinkRowAction
from flask_login import current_user

from ..extensions import db
from ..models import Assignment, Attendance, AuditEvent, ExerciseCheckin, Patient
from ..services import audit
from ..services.access import allowed, among, may_record, may_see_patient, patient_filter
from .base import _role
from .views_common import ClinicView, by_patient


def _record_url(action, row_id, row) -> str:
    return url_for("record.index", session=row.session_id) if row.session_id else ""


def _links(session, patient_id) -> list[tuple[str, str]]:
    links = []
    if session is not None and allowed("record", _role(), "r") and may_record(current_user, session):
        links.append(("Open the session record", url_for("record.index", session=session.id)))
    if may_see_patient(current_user, patient_id):
        links.append(("Open the patient's page", url_for("patients.details_view", id=patient_id)))
    return links


class AttendanceView(ClinicView):
    """Attendance, read-only: it changes on the session record page."""

    permission_key = "attendance"
    column_list = ("session", "patient", "status", "minutes_attended", "engagement", "recorded_by")
    column_details_list = ("session", "patient", "status", "minutes_attended", "engagement", "note",
                           "recorded_by", "recorded_at")
    column_default_sort = ("recorded_at", True)
    column_searchable_list = ("patient.last_name", "patient.first_name", "patient.record_number")
    column_filters = ("status", "session.starts_at", "session.group.name")
    column_extra_row_actions = [LinkRowAction("fa fa-check-square-o", _record_url, title="Open the session record")]

    def scope_query(self, query):
        return by_patient(query, Attendance.patient_id)

    def page_links(self, model):
        return _links(model.session, model.patient_id)

    def patient_ids_of(self, model):
        return [model.patient_id]


class CheckinView(ClinicView):
    """Exercise check-ins, read-only: they change on the record and patient pages."""

    permission_key = "checkins"
    column_list = ("assignment", "on_date", "outcome", "mood_before", "mood_after", "recorded_by")
    column_details_list = ("assignment", "on_date", "outcome", "mood_before", "mood_after", "reflection",
                           "session", "recorded_by", "recorded_at")
    column_default_sort = ("on_date", True)
    column_searchable_list = (
        "assignment.patient.last_name", "assignment.patient.record_number", "assignment.exercise.title",
    )
    column_filters = ("outcome", "on_date")

    def scope_query(self, query):
        clause = patient_filter(current_user, Assignment.patient_id)
        if clause is None:
            return query
        return query.filter(among(ExerciseCheckin.assignment_id, sa.select(Assignment.id).where(clause)))

    def page_links(self, model):
        return _links(model.session, model.assignment.patient_id)

    def patient_ids_of(self, model):
        return [model.assignment.patient_id]


def _event_patient_ids(event: AuditEvent) -> list[int]:
    """The patients an event is about: a patient row itself, or those named in ``patients``."""
    named = (event.changes or {}).get("patients") if isinstance(event.changes, dict) else None
    ids = list(named) if isinstance(named, list) else []
    if event.entity == "patient":
        ids.append(event.entity_id)
    return audit.patient_ids(ids)


def _about_patient(query, patient_id: int):
    return query.filter(audit.about_patient(patient_id, db.session.get_bind().dialect.name))


class PatientFilter(BaseSQLAFilter):
    """Events about one patient, by id: their own record or a view or export naming them."""

    def __init__(self) -> None:
        super().__init__(AuditEvent.entity_id, "Patient")

    def validate(self, value) -> bool:
        return audit.whole_id(value) is not None

    def clean(self, value) -> int:
        return audit.whole_id(value)

    def apply(self, query, value, alias=None):
        return _about_patient(query, value)

    def operation(self):
        return "is (patient id)"


def _patient_names(view, context, model, name) -> str:
    names = g.get("audit_patient_names", {})
    return "; ".join(names.get(pid, f"#{pid}") for pid in _event_patient_ids(model))


class AuditView(ClinicView):
    """The audit trail, read-only; admins see whose record each event is about and can ask by patient.

    ``/admin/audit/?patient=<id>`` lists the events about one patient (the "Who opened this
    record" button of the patient page); the names are read in one query per page. The
    trail is not counted: it pages with "Previous page" and "Next page", up to
    ``paging.COUNT_CAP`` events deep (narrow it with a filter or a search beyond that).
    """

    permission_key = "audit"
    column_list = ("at", "actor_email", "action", "entity", "entity_id", "patients", "ip_address")
    column_details_list = ("at", "actor_email", "action", "entity", "entity_id", "changes", "ip_address")
    column_default_sort = ("at", True)
    column_searchable_list = ("actor_email", "entity", "entity_id")
    column_filters = ("action", "entity", "at", "actor_email", PatientFilter())
    column_formatters = {"patients": _patient_names}
    column_labels = {**ClinicView.column_labels, "patients": "Patient"}
    page_size = 50  # one of page_size_options
    # The trail is the longest table: no count at all, a previous and a next page (see paging).
    simple_list_pager = True

    def is_action_allowed(self, name):
        return False

    def scope_query(self, query):
        wanted = request.args.get("patient")
        if wanted is None:
            return query
        patient_id = audit.whole_id(wanted)
        if patient_id is None:
            return query.filter(sa.false())
        return _about_patient(query, patient_id)

    def get_list(self, page, sort_column, sort_desc, search, filters, execute=True, page_size=None):
        """The page's events, with the names of their patients read in one query (admins only).

        A one-word search of the whole trail in time order reads its parts separately
        (``audit.search_parts``: the matching addresses' newest events, then entity and
        entity id); with a filter, a patient or another sort it is read as one query.
        """
        size = self.page_size if page_size is None else page_size
        g.audit_search = None
        if sort_column in (None, "at") and not filters and request.args.get("patient") is None and size:
            newest_first = True if sort_column is None else bool(sort_desc)
            g.audit_search = (((page or 0) + 1) * size, newest_first)
        count, events = super().get_list(page, sort_column, sort_desc, search, filters,
                                         execute=execute, page_size=page_size)
        names = {}
        if isinstance(events, list) and _role() == "admin":
            wanted = sorted({pid for event in events for pid in _event_patient_ids(event)})
            if wanted:
                rows = db.session.execute(
                    sa.select(Patient.id, Patient.last_name, Patient.first_name).where(Patient.id.in_(wanted))
                )
                names = {pid: f"{last}, {first}" for pid, last, first in rows}
        g.audit_patient_names = names
        return count, events

    def _search_parts(self, search):
        terms = [parse_like_term(term) for term in search.split(" ") if term]
        wanted = g.get("audit_search")
        if wanted is None or len(terms) != 1:
            return super()._search_parts(search)
        reach, newest_first = wanted
        return audit.search_parts(terms[0], reach, newest_first, db.engine.dialect.name)

    def patient_ids_of(self, model):
        return None  # the trail names records by id; reading it is not reading a chart


__all__ = ["AttendanceView", "AuditView", "CheckinView"]

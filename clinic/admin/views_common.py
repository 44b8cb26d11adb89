"""What every model view shares: labels, formats, scoping helpers and the clinic's base view."""

from __future__ import annotations

from datetime import datetime

from flask_admin.model import typefmt
from flask_login import current_user
from wtforms.validators import Length

from ..services.access import patient_filter, session_filter
from .base import SecureModelView

LABELS = {
    "record_number": "Record no.",
    "first_name": "First name",
    "last_name": "Last name",
    "preferred_name": "Preferred name",
    "preferred_language": "Language of patient paper",
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


def longest(limit: int) -> dict:
    """Form arguments holding a text field to ``limit`` characters (as the service does)."""
    return {"validators": [Length(max=limit)]}


def by_patient(query, column):
    """``query`` limited to rows whose patient (``column``) the current user may see."""
    clause = patient_filter(current_user, column)
    return query if clause is None else query.filter(clause)


def by_session(query, column):
    """``query`` limited to rows whose session (``column``) the current user may record."""
    clause = session_filter(current_user, column)
    return query if clause is None else query.filter(clause)


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

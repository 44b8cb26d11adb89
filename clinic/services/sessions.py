"""Editing, creating and deleting one group session outside a series.

A signed session never changes here; a recorded one keeps what was recorded (its time,
length and group) and cannot be cancelled. A session is "held" only once it has started,
"cancelled" only with a reason, and a facilitator or room is never booked twice.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from ..extensions import db
from ..models import SESSION_STATUSES, Attendance, ExerciseCheckin, GroupSession
from .errors import RuleViolation
from .limits import GROUP_NOTE_LIMIT, FieldViolation, choice, column_length, required_row, text, whole
from .locking import check_version
from .series import MAX_SESSION_MINUTES, check_session

SIGNED_MESSAGE = ("This session's record is signed, so the session no longer changes here. "
                  "Correct a person's entry with an addendum on the record page.")
#: What a recorded session keeps, by form field.
RECORDED_KEEPS = {"group": "group", "starts_at": "start time", "duration_minutes": "length"}


def _session_values(values: dict) -> dict:
    starts_at = values.get("starts_at")
    if not isinstance(starts_at, datetime):
        raise FieldViolation("starts_at", "Give the date and time the session starts.")
    clean = {
        "group": required_row(values, "group", "group"),
        "activity": values.get("activity"),
        "starts_at": starts_at.replace(second=0, microsecond=0),
        "duration_minutes": whole(values, "duration_minutes", "length in minutes", 1, MAX_SESSION_MINUTES),
        "room": text(values, "room", "room", column_length(GroupSession.room)),
        "facilitator": values.get("facilitator"),
        "status": choice(values, "status", "status", SESSION_STATUSES),
        "cancel_reason": text(values, "cancel_reason", "reason for cancelling",
                              column_length(GroupSession.cancel_reason)),
        "group_note": text(values, "group_note", "group note", GROUP_NOTE_LIMIT),
    }
    if clean["facilitator"] is not None and not clean["facilitator"].is_active_account:
        raise FieldViolation("facilitator", "This staff account is deactivated; choose someone else.")
    return clean


def _check_status(clean: dict, now: datetime) -> None:
    if clean["status"] == "held" and clean["starts_at"] > now:
        raise FieldViolation("status", "A session is held only once it has started.")
    if clean["status"] == "cancelled" and not clean["cancel_reason"]:
        raise FieldViolation("cancel_reason", "Give a reason for cancelling the session.")
    if clean["status"] != "cancelled" and clean["cancel_reason"]:
        raise FieldViolation("cancel_reason", "Only a cancelled session has a reason for cancelling.")


def _apply(session: GroupSession, clean: dict) -> None:
    for key, value in clean.items():
        if getattr(session, key) != value:
            setattr(session, key, value)


def create_session(values: dict, *, now: datetime | None = None) -> GroupSession:
    """Book one session from a form's values, checked for clashes; no commit."""
    clean = _session_values(values)
    _check_status(clean, now or datetime.now())
    session = GroupSession()
    _apply(session, clean)
    with db.session.no_autoflush:
        check_session(session)
    db.session.add(session)
    db.session.flush()
    return session


def update_session(session: GroupSession, values: dict, version, *, now: datetime | None = None) -> GroupSession:
    """Change a session opened at ``version``; no commit.

    Refused for a signed session; for a recorded one, a change of group, time or length
    and cancelling; "held" before the start; "cancelled" without a reason; clashes.
    """
    check_version(session, version)
    if session.signed_at is not None:
        raise RuleViolation(SIGNED_MESSAGE)
    clean = _session_values(values)
    if session.recorded_at is not None:
        for field, label in RECORDED_KEEPS.items():
            if clean[field] != getattr(session, field):
                raise FieldViolation(field, f"Participation was recorded for this session, so its {label} "
                                            "stays as recorded.")
        if clean["status"] == "cancelled":
            raise FieldViolation("status", "Participation was recorded for this session, so it cannot be "
                                           "cancelled.")
    _check_status(clean, now or datetime.now())
    with db.session.no_autoflush:
        _apply(session, clean)
        check_session(session)
    db.session.flush()
    return session


def delete_session(session: GroupSession) -> None:
    """Remove a session nothing was recorded for (no attendance, no check-ins, not recorded)."""
    recorded = session.recorded_at is not None or session.signed_at is not None
    for model in (Attendance, ExerciseCheckin):
        recorded = recorded or db.session.scalar(
            sa.select(sa.select(model.id).where(model.session_id == session.id).exists()))
    if recorded:
        raise RuleViolation("Participation was recorded for this session, so it is kept: cancel it instead.")
    db.session.delete(session)
    db.session.flush()


__all__ = ["create_session", "delete_session", "update_session"]

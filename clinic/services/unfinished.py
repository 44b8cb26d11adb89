"""Records to finish: sessions that have started and whose record is not signed yet.

The one home of what "unfinished" and "overdue" mean, shared by My day
(``progress.counselor_day``), the Records to finish page and the session list's
record-state filter:

- a session's **record state** is *not recorded* (nothing saved), *saved* (recorded,
  not signed) or *signed* (``record_state_clause``);
- a session is **unfinished** once it has started, is not cancelled and is not signed
  (``unfinished_clause``), however old it is;
- its record is **due** ``CLINIC_RECORD_DUE_HOURS`` hours (24 by default) after the
  session *ended*, and **overdue** once more than that has passed (``due``).

Nothing here names a patient: sessions, groups and facilitators only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app, has_app_context

from ..extensions import db
from ..models import Activity, CareGroup, GroupSession, StaffUser

#: Hours after a session ends before its record is overdue, when the configuration says nothing.
DEFAULT_DUE_HOURS = 24
#: The record states a session list can be filtered by: argument value -> what staff read.
RECORD_STATES = (
    ("not_recorded", "not recorded"),
    ("saved", "saved (unsigned)"),
    ("signed", "signed"),
)
#: Shown for sessions without a facilitator on the Records to finish page.
NO_FACILITATOR = "No facilitator"


def record_state_label(record_state: str) -> str:
    """The words staff read for ``GroupSession.record_state`` (not recorded, recorded, signed)."""
    return {"recorded": "saved (unsigned)"}.get(record_state, record_state)


def due_hours() -> float:
    """``CLINIC_RECORD_DUE_HOURS`` of the running app (the default outside one)."""
    if not has_app_context():
        return DEFAULT_DUE_HOURS
    return current_app.config.get("CLINIC_RECORD_DUE_HOURS", DEFAULT_DUE_HOURS)


def record_state_clause(state: str):
    """A WHERE clause for sessions in record ``state`` (a key of ``RECORD_STATES``)."""
    if state == "signed":
        return GroupSession.signed_at.is_not(None)
    if state == "saved":
        return sa.and_(GroupSession.recorded_at.is_not(None), GroupSession.signed_at.is_(None))
    if state == "not_recorded":
        return sa.and_(GroupSession.recorded_at.is_(None), GroupSession.signed_at.is_(None))
    raise ValueError(f"unknown record state {state!r}")


def unfinished_clause(now: datetime):
    """A WHERE clause for sessions started by ``now``, not cancelled, whose record is not signed."""
    return sa.and_(
        GroupSession.starts_at <= now,
        GroupSession.status != "cancelled",
        GroupSession.signed_at.is_(None),
    )


def _amount(delta: timedelta) -> str:
    """A span in words: whole days from a day on, whole hours below."""
    if delta >= timedelta(days=1):
        days = delta.days
        return f"{days} day{'s' if days != 1 else ''}"
    hours = int(delta.total_seconds() // 3600)
    if hours >= 1:
        return f"{hours} hour{'s' if hours != 1 else ''}"
    return "less than an hour"


@dataclass(frozen=True)
class Due:
    """When a session's record is due, and how it stands at ``now``."""

    due_at: datetime
    overdue: bool
    #: Whole days past due (0 when not overdue or overdue by less than a day).
    days_overdue: int
    #: "due in 5 hours", "overdue by 3 days".
    text: str


def due(ends_at: datetime, now: datetime, hours: float | None = None) -> Due:
    """How the record of a session that ends at ``ends_at`` stands at ``now``.

    Due ``hours`` (``CLINIC_RECORD_DUE_HOURS``) after the end; overdue once more than
    that has passed.
    """
    hours = due_hours() if hours is None else hours
    due_at = ends_at + timedelta(hours=hours)
    if now > due_at:
        late = now - due_at
        return Due(due_at, True, late.days, f"overdue by {_amount(late)}")
    return Due(due_at, False, 0, f"due in {_amount(due_at - now)}")


@dataclass(frozen=True)
class UnfinishedSession:
    """A session on the Records to finish page."""

    id: int
    starts_at: datetime
    ends_at: datetime
    group_name: str
    activity_name: str
    room: str
    #: "not recorded" or "recorded" (as ``GroupSession.record_state``).
    record_state: str
    due: Due


@dataclass
class FacilitatorRecords:
    """One facilitator's unfinished records, oldest first."""

    facilitator_id: int | None
    name: str
    sessions: list[UnfinishedSession] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.sessions)

    @property
    def not_recorded(self) -> int:
        return sum(s.record_state == "not recorded" for s in self.sessions)

    @property
    def unsigned(self) -> int:
        return sum(s.record_state == "recorded" for s in self.sessions)

    @property
    def overdue(self) -> int:
        return sum(s.due.overdue for s in self.sessions)


def records_to_finish(now: datetime, hours: float | None = None) -> list[FacilitatorRecords]:
    """Every unfinished session, grouped per facilitator (by name, nobody's last), oldest first.

    One statement, whatever the number of sessions.
    """
    hours = due_hours() if hours is None else hours
    rows = db.session.execute(
        sa.select(
            GroupSession.id,
            GroupSession.starts_at,
            GroupSession.duration_minutes,
            GroupSession.room,
            GroupSession.recorded_at,
            GroupSession.facilitator_id,
            StaffUser.full_name.label("facilitator_name"),
            CareGroup.name.label("group_name"),
            Activity.name.label("activity_name"),
        )
        .join(CareGroup, CareGroup.id == GroupSession.group_id)
        .outerjoin(Activity, Activity.id == GroupSession.activity_id)
        .outerjoin(StaffUser, StaffUser.id == GroupSession.facilitator_id)
        .where(unfinished_clause(now))
        .order_by(GroupSession.starts_at, GroupSession.id)
    ).all()
    groups: dict[int | None, FacilitatorRecords] = {}
    for row in rows:
        ends_at = row.starts_at + timedelta(minutes=row.duration_minutes)
        group = groups.get(row.facilitator_id)
        if group is None:
            name = row.facilitator_name if row.facilitator_id is not None else NO_FACILITATOR
            group = groups[row.facilitator_id] = FacilitatorRecords(row.facilitator_id, name)
        group.sessions.append(
            UnfinishedSession(
                id=row.id,
                starts_at=row.starts_at,
                ends_at=ends_at,
                group_name=row.group_name,
                activity_name=row.activity_name or "",
                room=row.room or "",
                record_state="recorded" if row.recorded_at is not None else "not recorded",
                due=due(ends_at, now, hours),
            )
        )
    return sorted(groups.values(), key=lambda g: (g.facilitator_id is None, g.name.casefold(), g.facilitator_id or 0))


__all__ = [
    "DEFAULT_DUE_HOURS",
    "NO_FACILITATOR",
    "RECORD_STATES",
    "Due",
    "FacilitatorRecords",
    "UnfinishedSession",
    "due",
    "due_hours",
    "record_state_clause",
    "record_state_label",
    "records_to_finish",
    "unfinished_clause",
]

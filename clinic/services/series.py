"""Recurring group sessions: series, their occurrences, changes to them, and clashes.

Every booking is checked for clashes: a facilitator or a room may not be booked for two
non-cancelled sessions whose times overlap (half-open intervals, so a session ending at
18:00 does not clash with one starting at 18:00). Past sessions and sessions that were
held or cancelled are never changed by a series operation.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from itertools import islice
from typing import Any, Iterable, Sequence

import sqlalchemy as sa
from dateutil.rrule import WEEKLY, rrule, weekday as rrule_weekday
from sqlalchemy.orm import joinedload

from ..extensions import db
from ..models import Activity, CareGroup, GroupSession, StaffUser
from .errors import RuleViolation
from .locking import UNCHECKED, check_version_unless_unchecked

#: Most sessions one series may create.
MAX_OCCURRENCES = 200
#: Longest session a series or a change may book, in minutes.
MAX_SESSION_MINUTES = 12 * 60
#: Day names, Monday first, as the forms and the planner show them.
WEEKDAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

SCOPES = ("this", "following")


class _Unset:
    """Marks an argument the caller did not give (``None`` is a real value: "no facilitator")."""

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()


# Clash detection -------------------------------------------------------------
@dataclass(frozen=True)
class Booking:
    """A proposed or existing use of a facilitator and a room over [starts_at, ends_at)."""

    starts_at: datetime
    ends_at: datetime
    facilitator_id: int | None
    room: str
    #: The session this booking replaces (its current values are not a clash).
    session_id: int | None = None
    group_name: str = ""


def room_key(room: str | None) -> str:
    """Rooms match ignoring case and surrounding spaces (as the SQL side compares them)."""
    return (room or "").strip().lower()


def span_text(start: datetime, end: datetime) -> str:
    """``2026-03-02 17:00–18:30`` (the end date is repeated only when it differs)."""
    end_text = f"{end:%H:%M}" if end.date() == start.date() else f"{end:%Y-%m-%d %H:%M}"
    return f"{start:%Y-%m-%d %H:%M}–{end_text}"


def session_end(session: GroupSession) -> datetime:
    """When ``session`` ends."""
    return session.starts_at + timedelta(minutes=session.duration_minutes or 0)


def _overlap(a_start: datetime, a_end: datetime, b_start: datetime, b_end: datetime) -> bool:
    return a_start < b_end and b_start < a_end


def _facilitator_names(ids: Iterable[int]) -> dict[int, str]:
    ids = {i for i in ids if i is not None}
    if not ids:
        return {}
    rows = db.session.execute(sa.select(StaffUser.id, StaffUser.full_name).where(StaffUser.id.in_(ids)))
    return {row.id: row.full_name for row in rows}


def check_clashes(bookings: Sequence[Booking]) -> None:
    """Refuse ``bookings`` when one overlaps another or an existing non-cancelled session.

    Runs at most three queries however many bookings there are: the longest relevant
    session (to bound the search window), the candidate sessions in that window, and
    the facilitators' names for the message.
    """
    if not bookings:
        return
    facilitator_ids = {b.facilitator_id for b in bookings if b.facilitator_id is not None}
    rooms = {room_key(b.room) for b in bookings if room_key(b.room)}
    replaced = {b.session_id for b in bookings if b.session_id is not None}

    # Within the proposal itself.
    ordered = sorted(bookings, key=lambda b: b.starts_at)
    for i, first in enumerate(ordered):
        for second in ordered[i + 1:]:
            if second.starts_at >= first.ends_at:
                break
            _refuse_pair(first, second.facilitator_id, second.room, second.group_name,
                         second.starts_at, second.ends_at, within=True)

    if not facilitator_ids and not rooms:
        return
    who = []
    if facilitator_ids:
        who.append(GroupSession.facilitator_id.in_(facilitator_ids))
    if rooms:
        who.append(sa.func.lower(sa.func.trim(GroupSession.room)).in_(rooms))
    relevant = [GroupSession.status != "cancelled", sa.or_(*who)]
    if replaced:
        relevant.append(GroupSession.id.not_in(replaced))
    longest = db.session.scalar(sa.select(sa.func.max(GroupSession.duration_minutes)).where(*relevant))
    if not longest:
        return
    window_start = min(b.starts_at for b in bookings) - timedelta(minutes=longest)
    window_end = max(b.ends_at for b in bookings)
    existing = db.session.scalars(
        sa.select(GroupSession)
        .options(joinedload(GroupSession.group), joinedload(GroupSession.facilitator))
        .where(*relevant, GroupSession.starts_at > window_start, GroupSession.starts_at < window_end)
        .order_by(GroupSession.starts_at)
    ).all()
    for booking in ordered:
        for other in existing:
            other_end = session_end(other)
            if not _overlap(booking.starts_at, booking.ends_at, other.starts_at, other_end):
                continue
            _refuse_pair(booking, other.facilitator_id, other.room, other.group.name,
                         other.starts_at, other_end,
                         facilitator_name=other.facilitator.full_name if other.facilitator else "")


def check_session(session: GroupSession) -> None:
    """Refuse one session, new or edited in place, whose facilitator or room is already booked.

    A cancelled session books nothing. The session's own current row is not a clash.
    """
    if session.status == "cancelled" or session.starts_at is None:
        return
    check_clashes([
        Booking(
            starts_at=session.starts_at,
            ends_at=session.starts_at + timedelta(minutes=session.duration_minutes or 0),
            facilitator_id=session.facilitator.id if session.facilitator else None,
            room=session.room or "",
            session_id=session.id,
            group_name=session.group.name if session.group else "",
        )
    ])


def _refuse_pair(booking: Booking, facilitator_id: int | None, room: str, group_name: str,
                 starts_at: datetime, ends_at: datetime, *, within: bool = False,
                 facilitator_name: str = "") -> None:
    """Raise when ``booking`` shares its facilitator or room with the other session."""
    asked = f"The session on {span_text(booking.starts_at, booking.ends_at)} cannot be booked: "
    where = "another session of this series" if within else group_name
    if booking.facilitator_id is not None and booking.facilitator_id == facilitator_id:
        name = facilitator_name or _facilitator_names([facilitator_id]).get(facilitator_id, "The facilitator")
        verb = "would already lead" if within else "already leads"
        raise RuleViolation(f"{asked}{name} {verb} {where} on {span_text(starts_at, ends_at)}.")
    if room_key(booking.room) and room_key(booking.room) == room_key(room):
        raise RuleViolation(
            f"{asked}{booking.room.strip()} is already booked for {where} on {span_text(starts_at, ends_at)}."
        )


# Creating a series -----------------------------------------------------------
def _weekday_numbers(weekdays: Iterable[int | rrule_weekday | str]) -> list[int]:
    numbers = set()
    for day in weekdays or ():
        if isinstance(day, rrule_weekday):
            numbers.add(day.weekday)
        elif isinstance(day, str) and day[:3].title() in WEEKDAY_NAMES:
            numbers.add(WEEKDAY_NAMES.index(day[:3].title()))
        elif isinstance(day, int) and not isinstance(day, bool) and 0 <= day <= 6:
            numbers.add(day)
        else:
            raise RuleViolation(f"{day!r} is not a weekday (use Monday = 0 to Sunday = 6).")
    return sorted(numbers)


def _check_length(duration_minutes: Any) -> int:
    if not isinstance(duration_minutes, int) or isinstance(duration_minutes, bool):
        raise RuleViolation("The length must be a whole number of minutes.")
    if not 1 <= duration_minutes <= MAX_SESSION_MINUTES:
        raise RuleViolation(
            f"The length must be between 1 and {MAX_SESSION_MINUTES} minutes "
            f"(it was {duration_minutes})."
        )
    return duration_minutes


def occurrences(*, weekdays, start_time: time, start_date: date, until: date | None = None,
                count: int | None = None) -> list[datetime]:
    """The start of every occurrence of a weekly series, checked against the series limits."""
    days = _weekday_numbers(weekdays)
    if not days:
        raise RuleViolation("Choose at least one weekday for the series.")
    if until is None and count is None:
        raise RuleViolation("Give the series an end date or a number of sessions.")
    if until is not None and count is not None:
        raise RuleViolation("Give the series an end date or a number of sessions, not both.")
    if until is not None and until < start_date:
        raise RuleViolation(
            f"The series cannot end ({until.isoformat()}) before it starts ({start_date.isoformat()})."
        )
    if count is not None and count < 1:
        raise RuleViolation("A series needs at least one session.")
    if count is not None and count > MAX_OCCURRENCES:
        raise RuleViolation(f"A series can have at most {MAX_OCCURRENCES} sessions (asked for {count}).")
    rule = rrule(
        WEEKLY,
        dtstart=datetime.combine(start_date, start_time.replace(second=0, microsecond=0)),
        byweekday=days,
        until=datetime.combine(until, time.max) if until is not None else None,
        count=count,
    )
    starts = list(islice(rule, MAX_OCCURRENCES + 1))
    if len(starts) > MAX_OCCURRENCES:
        raise RuleViolation(
            f"That series would create more than {MAX_OCCURRENCES} sessions; choose an earlier end date."
        )
    if not starts:
        names = ", ".join(WEEKDAY_NAMES[d] for d in days)
        raise RuleViolation(f"No {names} falls between {start_date.isoformat()} and {until.isoformat()}.")
    return starts


def create_series(group: CareGroup, *, weekdays, start_time: time, duration_minutes: int,
                  activity: Activity | None = None, room: str | None = None,
                  facilitator: StaffUser | None = None, start_date: date, until: date | None = None,
                  count: int | None = None, commit: bool = True) -> list[GroupSession]:
    """Create a weekly series of sessions for ``group``, all or nothing.

    Occurrences fall on ``weekdays`` (Monday = 0) at ``start_time`` from ``start_date``
    until ``until`` (inclusive) or for ``count`` sessions. Room and facilitator default
    to the group's. Any clash refuses the whole series and nothing is created.
    """
    if not group.active:
        raise RuleViolation(f"{group.name} is inactive; reactivate it before planning sessions.")
    length = _check_length(duration_minutes)
    starts = occurrences(weekdays=weekdays, start_time=start_time, start_date=start_date,
                         until=until, count=count)
    room = (group.room if room is None else room).strip()
    facilitator_id = facilitator.id if facilitator is not None else group.facilitator_id
    bookings = [
        Booking(s, s + timedelta(minutes=length), facilitator_id, room, group_name=group.name)
        for s in starts
    ]
    with db.session.no_autoflush:
        check_clashes(bookings)
    series_id = str(uuid.uuid4())
    sessions = [
        GroupSession(
            group_id=group.id,
            activity_id=activity.id if activity is not None else None,
            starts_at=s,
            duration_minutes=length,
            room=room,
            facilitator_id=facilitator_id,
            status="planned",
            series_id=series_id,
        )
        for s in starts
    ]
    db.session.add_all(sessions)
    if commit:
        db.session.commit()
    return sessions


# Changing and cancelling occurrences -----------------------------------------
def _changeable(session: GroupSession, now: datetime) -> str | None:
    """Why ``session`` may not be changed, or None when it may."""
    if session.status != "planned":
        return f"This session was already {session.status}; only planned sessions can be changed."
    if session.starts_at < now:
        return (f"This session started on {session.starts_at:%Y-%m-%d %H:%M}, in the past; "
                "past sessions are not changed.")
    return None


def affected_sessions(session: GroupSession, scope: str = "this", *,
                      now: datetime | None = None) -> list[GroupSession]:
    """The sessions a change with ``scope`` would touch: planned and not yet started.

    ``"this"`` is the session alone (refused when it is past, held or cancelled);
    ``"following"`` is the session and every later one of its series.
    """
    now = now or datetime.now()
    if scope not in SCOPES:
        raise RuleViolation("Choose whether to change this session only or this and the following ones.")
    if scope == "this" or not session.series_id:
        reason = _changeable(session, now)
        if reason:
            raise RuleViolation(reason)
        return [session]
    targets = db.session.scalars(
        sa.select(GroupSession)
        .options(joinedload(GroupSession.group))
        .where(
            GroupSession.series_id == session.series_id,
            GroupSession.starts_at >= session.starts_at,
            GroupSession.starts_at >= now,
            GroupSession.status == "planned",
        )
        .order_by(GroupSession.starts_at)
    ).all()
    if not targets:
        raise RuleViolation("There are no planned sessions from this one onwards that can still be changed.")
    return list(targets)


def update_occurrence(session: GroupSession, *, scope: str = "this", starts_time: time | None = None,
                      duration_minutes: int | None = None, activity: Any = UNSET, room: Any = UNSET,
                      facilitator: Any = UNSET, now: datetime | None = None,
                      commit: bool = True, expected_version=UNCHECKED) -> list[GroupSession]:
    """Change one occurrence, or it and every later one of its series.

    A page passes the ``expected_version`` of ``session`` it showed (missing or blank is stale).

    ``starts_time`` moves each session to that time of day on its own date. ``activity``
    and ``facilitator`` accept None to clear them. Past, held and cancelled sessions are
    left alone; the changed sessions are checked for clashes before anything changes.
    """
    check_version_unless_unchecked(session, expected_version)
    changes: dict[str, Any] = {}
    if duration_minutes is not None:
        changes["duration_minutes"] = _check_length(duration_minutes)
    if activity is not UNSET:
        changes["activity_id"] = activity.id if activity is not None else None
    if room is not UNSET:
        changes["room"] = (room or "").strip()
    if facilitator is not UNSET:
        changes["facilitator_id"] = facilitator.id if facilitator is not None else None
    if starts_time is None and not changes:
        raise RuleViolation("Nothing to change: give a new time, length, activity, room or facilitator.")
    with db.session.no_autoflush:
        targets = affected_sessions(session, scope, now=now)
        new_values = []
        bookings = []
        for target in targets:
            starts_at = target.starts_at
            if starts_time is not None:
                starts_at = datetime.combine(target.starts_at.date(), starts_time.replace(second=0, microsecond=0))
            length = changes.get("duration_minutes", target.duration_minutes)
            values = {"starts_at": starts_at, **changes}
            new_values.append(values)
            bookings.append(Booking(
                starts_at, starts_at + timedelta(minutes=length),
                changes.get("facilitator_id", target.facilitator_id),
                changes.get("room", target.room),
                session_id=target.id,
                group_name=target.group.name,
            ))
        now_value = now or datetime.now()
        for booking in bookings:
            if booking.starts_at < now_value:
                raise RuleViolation(
                    f"The session on {booking.starts_at:%Y-%m-%d} would start at "
                    f"{booking.starts_at:%H:%M}, which has already passed."
                )
        check_clashes(bookings)
    for target, values in zip(targets, new_values):
        for key, value in values.items():
            if getattr(target, key) != value:
                setattr(target, key, value)
    if commit:
        db.session.commit()
    return targets


def cancel_occurrence(session: GroupSession, *, scope: str = "this", reason: str = "",
                      now: datetime | None = None, commit: bool = True,
                      expected_version=UNCHECKED) -> list[GroupSession]:
    """Cancel one occurrence, or it and every later one of its series.

    Past, held and already cancelled sessions are left alone. The reason is kept on
    each cancelled session (and in the audit trail). A page passes the
    ``expected_version`` of ``session`` it showed (missing or blank is stale).
    """
    check_version_unless_unchecked(session, expected_version)
    targets = affected_sessions(session, scope, now=now)
    reason = " ".join((reason or "").split())[:255]
    for target in targets:
        target.status = "cancelled"
        target.cancel_reason = reason
    if commit:
        db.session.commit()
    return targets


__all__ = [
    "MAX_OCCURRENCES",
    "MAX_SESSION_MINUTES",
    "SCOPES",
    "UNSET",
    "Booking",
    "WEEKDAY_NAMES",
    "affected_sessions",
    "cancel_occurrence",
    "check_clashes",
    "check_session",
    "create_series",
    "occurrences",
    "update_occurrence",
]

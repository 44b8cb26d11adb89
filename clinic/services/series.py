"""Recurring group sessions: series, their occurrences, changes to them, and clashes.

Every booking is checked for clashes: a facilitator or a room may not be booked for two
non-cancelled sessions whose times overlap (half-open intervals, so a session ending at
18:00 does not clash with one starting at 18:00). Past sessions and sessions that were
held or cancelled are never changed by a series operation.
"""

from __future__ import annotations

import hashlib
import uuid
from collections import Counter
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
from .limits import FieldViolation
from .locking import UNCHECKED, check_version_unless_unchecked

#: Most sessions one series may create.
MAX_OCCURRENCES = 200
#: Longest series "for N weeks" may ask for.
MAX_WEEKS = 52
#: How many of a group's latest sessions its usual length is taken from.
USUAL_LENGTH_SESSIONS = 10
#: Length of a session when neither the group nor the activity says otherwise.
DEFAULT_MINUTES = 60
#: How a series ends: on a date, after a number of sessions, or after a number of weeks.
END_CHOICES = ("until", "count", "weeks")
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
    #: The group meeting; when given, the group's own overlapping sessions are clashes too.
    group_id: int | None = None


@dataclass(frozen=True)
class BookingClash:
    """One reason ``booking`` cannot be made: the other session it collides with, named."""

    booking: Booking
    kind: str  # "facilitator", "room" or "group"
    #: ``Wrenna Stillwater already leads IOP Morning B on 2026-03-11 17:30–18:30.``
    reason: str

    @property
    def message(self) -> str:
        """The reason with the session it is about."""
        return (f"The session on {span_text(self.booking.starts_at, self.booking.ends_at)} "
                f"cannot be booked: {self.reason}")


class ClashRefusal(RuleViolation):
    """Bookings refused for clashes; ``clashes`` holds every one of them, not just the first."""

    def __init__(self, clashes: Sequence[BookingClash]):
        self.clashes = list(clashes)
        if len(self.clashes) == 1:
            text = self.clashes[0].message
        else:
            text = f"{len(self.clashes)} clashes: " + " ".join(c.message for c in self.clashes)
        super().__init__(text)


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


def find_booking_clashes(bookings: Sequence[Booking]) -> list[BookingClash]:
    """Every clash of ``bookings``: with each other and with existing non-cancelled sessions.

    A booking clashes when its facilitator leads, or its room holds, an overlapping
    session, or (for a booking that names its ``group_id``) when the group already meets
    then. All are listed, in the order of the bookings. Runs at most three queries however
    many bookings there are: the longest relevant session (to bound the search window),
    the candidate sessions in that window, and the facilitators' names.
    """
    if not bookings:
        return []
    facilitator_ids = {b.facilitator_id for b in bookings if b.facilitator_id is not None}
    rooms = {room_key(b.room) for b in bookings if room_key(b.room)}
    group_ids = {b.group_id for b in bookings if b.group_id is not None}
    replaced = {b.session_id for b in bookings if b.session_id is not None}
    ordered = sorted(bookings, key=lambda b: b.starts_at)
    found: dict[int, list[BookingClash]] = {id(b): [] for b in ordered}
    names: dict[int, str] = {}

    def facilitator_name(fid: int) -> str:
        if fid not in names:
            names.update(_facilitator_names(facilitator_ids))
        return names.get(fid, "The facilitator")

    # Within the proposal itself.
    for i, first in enumerate(ordered):
        for second in ordered[i + 1:]:
            if second.starts_at >= first.ends_at:
                break
            where = f"another session of this series on {span_text(second.starts_at, second.ends_at)}"
            if first.facilitator_id is not None and first.facilitator_id == second.facilitator_id:
                found[id(second)].append(BookingClash(
                    second, "facilitator",
                    f"{facilitator_name(second.facilitator_id)} would already lead "
                    f"another session of this series on {span_text(first.starts_at, first.ends_at)}."))
                found[id(first)].append(BookingClash(
                    first, "facilitator",
                    f"{facilitator_name(first.facilitator_id)} would already lead {where}."))
            elif room_key(first.room) and room_key(first.room) == room_key(second.room):
                found[id(second)].append(BookingClash(
                    second, "room",
                    f"{second.room.strip()} is already booked for another session of this series on "
                    f"{span_text(first.starts_at, first.ends_at)}."))
                found[id(first)].append(BookingClash(
                    first, "room", f"{first.room.strip()} is already booked for {where}."))
            elif first.group_id is not None and first.group_id == second.group_id:
                found[id(second)].append(BookingClash(
                    second, "group",
                    f"{second.group_name} would already meet on {span_text(first.starts_at, first.ends_at)}."))
                found[id(first)].append(BookingClash(
                    first, "group", f"{first.group_name} would already meet on "
                    f"{span_text(second.starts_at, second.ends_at)}."))

    who = []
    if facilitator_ids:
        who.append(GroupSession.facilitator_id.in_(facilitator_ids))
    if rooms:
        who.append(sa.func.lower(sa.func.trim(GroupSession.room)).in_(rooms))
    if group_ids:
        who.append(GroupSession.group_id.in_(group_ids))
    existing: Sequence[GroupSession] = []
    if who:
        relevant = [GroupSession.status != "cancelled", sa.or_(*who)]
        if replaced:
            relevant.append(GroupSession.id.not_in(replaced))
        longest = db.session.scalar(sa.select(sa.func.max(GroupSession.duration_minutes)).where(*relevant))
        if longest:
            window_start = min(b.starts_at for b in bookings) - timedelta(minutes=longest)
            window_end = max(b.ends_at for b in bookings)
            existing = db.session.scalars(
                sa.select(GroupSession)
                .options(joinedload(GroupSession.group), joinedload(GroupSession.facilitator))
                .where(*relevant, GroupSession.starts_at > window_start, GroupSession.starts_at < window_end)
                .order_by(GroupSession.starts_at, GroupSession.id)
            ).all()
    for booking in ordered:
        for other in existing:
            other_end = session_end(other)
            if not _overlap(booking.starts_at, booking.ends_at, other.starts_at, other_end):
                continue
            when = span_text(other.starts_at, other_end)
            if booking.group_id is not None and booking.group_id == other.group_id:
                found[id(booking)].append(BookingClash(booking, "group", f"{other.group.name} already meets on {when}."))
                continue
            if booking.facilitator_id is not None and booking.facilitator_id == other.facilitator_id:
                name = other.facilitator.full_name if other.facilitator else facilitator_name(other.facilitator_id)
                found[id(booking)].append(BookingClash(
                    booking, "facilitator", f"{name} already leads {other.group.name} on {when}."))
            if room_key(booking.room) and room_key(booking.room) == room_key(other.room):
                found[id(booking)].append(BookingClash(
                    booking, "room", f"{booking.room.strip()} is already booked for {other.group.name} on {when}."))
    return [clash for booking in ordered for clash in found[id(booking)]]


def check_clashes(bookings: Sequence[Booking]) -> None:
    """Refuse ``bookings`` when one overlaps another or an existing non-cancelled session.

    The refusal (a ``ClashRefusal``) names every clash, not only the first.
    """
    clashes = find_booking_clashes(bookings)
    if clashes:
        raise ClashRefusal(clashes)


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
            raise FieldViolation("weekdays", f"{day!r} is not a weekday (use Monday = 0 to Sunday = 6).")
    return sorted(numbers)


def _check_length(duration_minutes: Any) -> int:
    if not isinstance(duration_minutes, int) or isinstance(duration_minutes, bool):
        raise FieldViolation("duration_minutes", "The length must be a whole number of minutes.")
    if not 1 <= duration_minutes <= MAX_SESSION_MINUTES:
        raise FieldViolation(
            "duration_minutes",
            f"The length must be between 1 and {MAX_SESSION_MINUTES} minutes (it was {duration_minutes}).",
        )
    return duration_minutes


def weeks_end(start_date: date, weeks: int) -> date:
    """The last day of ``weeks`` weeks counted from ``start_date`` (its first day)."""
    return start_date + timedelta(days=7 * weeks - 1)


def occurrences(*, weekdays, start_time: time, start_date: date, until: date | None = None,
                count: int | None = None, weeks: int | None = None) -> list[datetime]:
    """The start of every occurrence of a weekly series, checked against the series limits.

    The series ends in one of three ways: ``until`` a date (inclusive), after ``count``
    sessions, or after ``weeks`` weeks counted from ``start_date``: every chosen weekday
    from ``start_date`` up to the day before the same weekday ``weeks`` weeks later (so
    Mon/Wed/Fri for 8 weeks is 24 sessions whichever weekday the first date is).
    """
    days = _weekday_numbers(weekdays)
    if not days:
        raise FieldViolation("weekdays", "Choose at least one weekday for the series.")
    given = [name for name, value in (("until", until), ("count", count), ("weeks", weeks)) if value is not None]
    if not given:
        raise FieldViolation("end", "Give the series an end date, a number of sessions or a number of weeks.")
    if len(given) > 1:
        raise FieldViolation("end", "Give the series one end only (an end date, a number of sessions "
                                    "or a number of weeks), not both.")
    if until is not None and until < start_date:
        raise FieldViolation(
            "until", f"The series cannot end ({until.isoformat()}) before it starts ({start_date.isoformat()})."
        )
    if count is not None and count < 1:
        raise FieldViolation("count", "A series needs at least one session.")
    if count is not None and count > MAX_OCCURRENCES:
        raise FieldViolation("count", f"A series can have at most {MAX_OCCURRENCES} sessions (asked for {count}).")
    if weeks is not None and not 1 <= weeks <= MAX_WEEKS:
        raise FieldViolation("weeks", f"A series runs for 1 to {MAX_WEEKS} weeks (asked for {weeks}).")
    last_day = weeks_end(start_date, weeks) if weeks is not None else until
    rule = rrule(
        WEEKLY,
        dtstart=datetime.combine(start_date, start_time.replace(second=0, microsecond=0)),
        byweekday=days,
        until=datetime.combine(last_day, time.max) if last_day is not None else None,
        count=count,
    )
    starts = list(islice(rule, MAX_OCCURRENCES + 1))
    if len(starts) > MAX_OCCURRENCES:
        field = "weeks" if weeks is not None else "until"
        shorter = "fewer weeks" if weeks is not None else "an earlier end date"
        raise FieldViolation(field, f"That series would create more than {MAX_OCCURRENCES} sessions; "
                                    f"choose {shorter}.")
    if not starts:
        names = ", ".join(WEEKDAY_NAMES[d] for d in days)
        raise FieldViolation("until", f"No {names} falls between {start_date.isoformat()} and {last_day.isoformat()}.")
    return starts


@dataclass(frozen=True)
class UsualLength:
    """The length a new series of a group takes when none is typed, and where it comes from."""

    minutes: int
    #: "group" (its recent sessions), "activity" (the activity's usual length), "default",
    #: or "given" (typed on the form).
    source: str

    @property
    def explanation(self) -> str:
        """``90 min: the group's usual length (its recent sessions)``."""
        if self.source == "given":
            return f"{self.minutes} min, as given"
        why = {
            "group": "the group's usual length (the most common length of its recent sessions)",
            "activity": "the activity's usual length (the group has no sessions yet)",
            "default": f"the standard {DEFAULT_MINUTES} minutes (the group has no sessions yet)",
        }[self.source]
        return f"{self.minutes} min: {why}"


def usual_length(group: CareGroup, activity: Activity | None = None) -> UsualLength:
    """The group's usual session length: the most common length of its latest sessions.

    The latest ``USUAL_LENGTH_SESSIONS`` non-cancelled sessions of the group count (a tie
    goes to the length used most recently). Only a group without sessions falls back to
    the activity's usual length, and without an activity to ``DEFAULT_MINUTES``.
    """
    lengths = db.session.scalars(
        sa.select(GroupSession.duration_minutes)
        .where(GroupSession.group_id == group.id, GroupSession.status != "cancelled")
        .order_by(GroupSession.starts_at.desc(), GroupSession.id.desc())
        .limit(USUAL_LENGTH_SESSIONS)
    ).all()
    if lengths:
        tally = Counter(lengths)
        best = max(tally.values())
        return UsualLength(next(m for m in lengths if tally[m] == best), "group")
    if activity is not None and activity.default_minutes:
        return UsualLength(activity.default_minutes, "activity")
    return UsualLength(DEFAULT_MINUTES, "default")


@dataclass(frozen=True)
class PlannedSession:
    """One date of a previewed series and everything it clashes with."""

    starts_at: datetime
    ends_at: datetime
    #: Each clash as a sentence naming the other session (group and time), never a patient.
    clashes: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """``Mon 2026-03-02 17:00–18:30``."""
        return f"{WEEKDAY_NAMES[self.starts_at.weekday()]} {span_text(self.starts_at, self.ends_at)}"


@dataclass(frozen=True)
class SeriesPreview:
    """What ``create_series`` would create, with every clash named; nothing is written."""

    group_id: int
    group_name: str
    length: UsualLength
    room: str
    facilitator_id: int | None
    activity_id: int | None
    activity_name: str
    sessions: tuple[PlannedSession, ...]

    @property
    def count(self) -> int:
        """How many sessions the series has."""
        return len(self.sessions)

    @property
    def clash_count(self) -> int:
        """How many clashes there are, over all dates."""
        return sum(len(s.clashes) for s in self.sessions)

    @property
    def clashing_dates(self) -> int:
        """How many of the dates clash."""
        return sum(1 for s in self.sessions if s.clashes)

    @property
    def fingerprint(self) -> str:
        """A digest of exactly what would be created (group, dates, length, room, people).

        The form carries it from the preview to "Create": a series whose dates or values
        changed in between is not created unseen.
        """
        parts = [str(self.group_id), str(self.activity_id), room_key(self.room), str(self.facilitator_id),
                 str(self.length.minutes)] + [s.starts_at.isoformat() for s in self.sessions]
        return hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]


def preview_series(group: CareGroup, *, weekdays, start_time: time, duration_minutes: int | None = None,
                   activity: Activity | None = None, room: str | None = None,
                   facilitator: StaffUser | None = None, start_date: date, until: date | None = None,
                   count: int | None = None, weeks: int | None = None) -> SeriesPreview:
    """Every session a series would create and every clash of each, without creating anything.

    ``duration_minutes`` None takes the group's usual length (``usual_length``). Room and
    facilitator default to the group's. A clash is the facilitator leading, or the room
    holding, an overlapping session, or the group already meeting then.
    """
    if not group.active:
        raise RuleViolation(f"{group.name} is inactive; reactivate it before planning sessions.")
    length = (usual_length(group, activity) if duration_minutes is None
              else UsualLength(_check_length(duration_minutes), "given"))
    starts = occurrences(weekdays=weekdays, start_time=start_time, start_date=start_date,
                         until=until, count=count, weeks=weeks)
    room = (group.room if room is None else room).strip()
    facilitator_id = facilitator.id if facilitator is not None else group.facilitator_id
    bookings = [
        Booking(s, s + timedelta(minutes=length.minutes), facilitator_id, room,
                group_name=group.name, group_id=group.id)
        for s in starts
    ]
    with db.session.no_autoflush:
        clashes = find_booking_clashes(bookings)
    by_start: dict[datetime, list[str]] = {}
    for clash in clashes:
        by_start.setdefault(clash.booking.starts_at, []).append(clash.reason)
    return SeriesPreview(
        group_id=group.id, group_name=group.name, length=length, room=room,
        facilitator_id=facilitator_id,
        activity_id=activity.id if activity is not None else None,
        activity_name=activity.name if activity is not None else "",
        sessions=tuple(PlannedSession(b.starts_at, b.ends_at, tuple(by_start.get(b.starts_at, ())))
                       for b in bookings),
    )


def create_series(group: CareGroup, *, weekdays, start_time: time, duration_minutes: int | None = None,
                  activity: Activity | None = None, room: str | None = None,
                  facilitator: StaffUser | None = None, start_date: date, until: date | None = None,
                  count: int | None = None, weeks: int | None = None, expected_fingerprint: str | None = None,
                  commit: bool = True) -> list[GroupSession]:
    """Create a weekly series of sessions for ``group``, all or nothing.

    Occurrences fall on ``weekdays`` (Monday = 0) at ``start_time`` from ``start_date``
    until ``until`` (inclusive), for ``count`` sessions or for ``weeks`` weeks. Without a
    length the group's usual length is used. Room and facilitator default to the
    group's. The clashes are checked again here: any clash refuses the whole series with
    every clash named (``ClashRefusal``), and nothing is created. With
    ``expected_fingerprint`` (the preview's) a series that is no longer exactly the one
    previewed is refused too.
    """
    preview = preview_series(group, weekdays=weekdays, start_time=start_time,
                             duration_minutes=duration_minutes, activity=activity, room=room,
                             facilitator=facilitator, start_date=start_date, until=until, count=count,
                             weeks=weeks)
    if expected_fingerprint is not None and expected_fingerprint != preview.fingerprint:
        raise RuleViolation("The series is no longer the one previewed (its fields changed): "
                            "check the dates below and create again.")
    clashes = [BookingClash(Booking(s.starts_at, s.ends_at, preview.facilitator_id, preview.room,
                                    group_name=group.name, group_id=group.id), "", reason)
               for s in preview.sessions for reason in s.clashes]
    if clashes:
        raise ClashRefusal(clashes)
    series_id = str(uuid.uuid4())
    sessions = [
        GroupSession(
            group_id=group.id,
            activity_id=preview.activity_id,
            starts_at=s.starts_at,
            duration_minutes=preview.length.minutes,
            room=preview.room,
            facilitator_id=preview.facilitator_id,
            status="planned",
            series_id=series_id,
        )
        for s in preview.sessions
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
    "END_CHOICES",
    "MAX_OCCURRENCES",
    "MAX_WEEKS",
    "BookingClash",
    "ClashRefusal",
    "PlannedSession",
    "SeriesPreview",
    "UsualLength",
    "find_booking_clashes",
    "preview_series",
    "usual_length",
    "weeks_end",
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

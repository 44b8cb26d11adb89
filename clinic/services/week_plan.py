"""The week plan: each track's and group's sessions of one week, hours and days against the
weekly minimum, and the clashes among them (what the week planner shows)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from typing import Any, Iterable, Sequence

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from ..extensions import db
from ..models import CareGroup, GroupSession, StaffUser, Track
from .series import room_key, session_end, span_text

#: Most clashes a week plan lists one by one (the total is always counted).
MAX_LISTED_CLASHES = 200


@dataclass(frozen=True)
class SessionEntry:
    """One session as the week planner shows it (plain values: nothing left to load)."""

    id: int
    group_id: int
    group_name: str
    activity_name: str
    starts_at: datetime
    ends_at: datetime
    duration_minutes: int
    facilitator_id: int | None
    facilitator_name: str
    room: str
    status: str
    series_id: str | None
    track_id: int
    clash: bool = False

    @property
    def time_label(self) -> str:
        """``17:00–18:30``."""
        return f"{self.starts_at:%H:%M}–{self.ends_at:%H:%M}"


@dataclass(frozen=True)
class Clash:
    """Two overlapping non-cancelled sessions sharing a facilitator or a room."""

    kind: str  # "facilitator" or "room"
    label: str  # the facilitator's name or the room
    first: SessionEntry
    second: SessionEntry

    @property
    def message(self) -> str:
        """A sentence for the planner."""
        a = f"{self.first.group_name} ({span_text(self.first.starts_at, self.first.ends_at)})"
        b = f"{self.second.group_name} ({span_text(self.second.starts_at, self.second.ends_at)})"
        if self.kind == "facilitator":
            return f"{self.label} leads both {a} and {b}."
        return f"{self.label} is booked for both {a} and {b}."


@dataclass
class Figures:
    """Planned programme against a weekly minimum."""

    planned_minutes: int
    planned_days: int
    min_minutes: int
    min_days: int

    @property
    def short(self) -> bool:
        """True when the plan falls below the minimum hours or days."""
        return self.planned_minutes < self.min_minutes or self.planned_days < self.min_days

    @property
    def planned_hours(self) -> float:
        """Planned time in hours."""
        return round(self.planned_minutes / 60, 1)

    @property
    def min_hours(self) -> float:
        """The minimum in hours."""
        return round(self.min_minutes / 60, 1)

    @property
    def planned(self) -> str:
        """``9 h over 3 days``."""
        return f"{_hours(self.planned_minutes)} over {_days(self.planned_days)}"

    @property
    def summary(self) -> str:
        """``planned 9 h over 3 days / minimum 9 h over 3 days``."""
        return (f"planned {_hours(self.planned_minutes)} over {_days(self.planned_days)} / "
                f"minimum {_hours(self.min_minutes)} over {_days(self.min_days)}")


def _hours(minutes: int) -> str:
    hours = minutes / 60
    return f"{hours:g} h" if hours == round(hours, 1) else f"{hours:.1f} h"


def _days(days: int) -> str:
    return f"{days} day" if days == 1 else f"{days} days"


@dataclass
class GroupWeek:
    """One group's planned programme in the week (what a member of that group is offered)."""

    id: int
    name: str
    figures: Figures


@dataclass
class TrackWeek:
    """One track's row in the week plan."""

    track_id: int
    code: str
    name: str
    care_level: int
    #: Sessions per day, Monday first (cancelled ones included, marked by their status).
    days: list[list[SessionEntry]]
    #: The whole track's programme, every group counted.
    figures: Figures
    #: Each active group's (or scheduled group's) own programme against the track minimum.
    groups: list[GroupWeek] = field(default_factory=list)

    @property
    def short(self) -> bool:
        """True when the track's week falls below its minimum hours or days."""
        return self.figures.short

    @property
    def planned_minutes(self) -> int:
        """Minutes of non-cancelled sessions in the track this week."""
        return self.figures.planned_minutes

    @property
    def planned_days(self) -> int:
        """Days with at least one non-cancelled session in the track this week."""
        return self.figures.planned_days


@dataclass
class WeekPlan:
    """One week, Monday to Sunday: tracks down, days across, and the clashes found."""

    week_start: date
    days: list[date]
    tracks: list[TrackWeek]
    clashes: list[Clash]
    clash_count: int
    facilitator_id: int | None = None

    @property
    def week_end(self) -> date:
        """The Sunday."""
        return self.days[-1]

    @property
    def previous_week(self) -> date:
        """The Monday before."""
        return self.week_start - timedelta(days=7)

    @property
    def next_week(self) -> date:
        """The Monday after."""
        return self.week_start + timedelta(days=7)

    @property
    def session_count(self) -> int:
        """Sessions shown in the plan (after the facilitator filter)."""
        return sum(len(day) for track in self.tracks for day in track.days)


def monday_of(day: date) -> date:
    """The Monday of the week that holds ``day``."""
    return day - timedelta(days=day.weekday())


def _figures(entries: Iterable[SessionEntry], track: Track) -> Figures:
    live = [e for e in entries if e.status != "cancelled"]
    return Figures(
        planned_minutes=sum(e.duration_minutes for e in live),
        planned_days=len({e.starts_at.date() for e in live}),
        min_minutes=track.weekly_min_minutes or 0,
        min_days=track.weekly_min_days or 0,
    )


def find_clashes(entries: Sequence[SessionEntry]) -> list[tuple[str, str, SessionEntry, SessionEntry]]:
    """Every pair of overlapping non-cancelled entries sharing a facilitator or a room."""
    live = sorted((e for e in entries if e.status != "cancelled"), key=lambda e: (e.starts_at, e.id))
    by_key: dict[tuple[str, Any], list[SessionEntry]] = defaultdict(list)
    for entry in live:
        if entry.facilitator_id is not None:
            by_key[("facilitator", entry.facilitator_id)].append(entry)
        if room_key(entry.room):
            by_key[("room", room_key(entry.room))].append(entry)
    found = []
    for (kind, _), group in by_key.items():
        running: list[SessionEntry] = []
        for entry in group:
            running = [r for r in running if r.ends_at > entry.starts_at]
            for other in running:
                label = entry.facilitator_name if kind == "facilitator" else entry.room.strip()
                found.append((kind, label, other, entry))
            running.append(entry)
    found.sort(key=lambda c: (c[3].starts_at, c[2].starts_at, c[0]))
    return found


def week_plan(week_start: date, facilitator_id: int | None = None) -> WeekPlan:
    """The programme of the week holding ``week_start``, per track and day.

    Runs three queries however many sessions the week holds: the tracks, the groups,
    and the week's sessions with their group, activity and facilitator. With
    ``facilitator_id`` the cells and clashes show that facilitator's sessions only;
    the hours and days still count every session of the track, because the minimum
    is what the track offers its patients.
    """
    monday = monday_of(week_start)
    days = [monday + timedelta(days=i) for i in range(7)]
    tracks = db.session.scalars(sa.select(Track).order_by(Track.care_level, Track.name)).all()
    groups = db.session.scalars(sa.select(CareGroup).order_by(CareGroup.name)).all()
    sessions = db.session.scalars(
        sa.select(GroupSession)
        .options(
            joinedload(GroupSession.group),
            joinedload(GroupSession.activity),
            joinedload(GroupSession.facilitator),
        )
        .where(
            GroupSession.starts_at >= datetime.combine(monday, time.min),
            GroupSession.starts_at < datetime.combine(monday + timedelta(days=7), time.min),
        )
        .order_by(GroupSession.starts_at, GroupSession.id)
    ).unique().all()

    entries = [
        SessionEntry(
            id=s.id,
            group_id=s.group_id,
            group_name=s.group.name,
            activity_name=s.activity.name if s.activity else "",
            starts_at=s.starts_at,
            ends_at=session_end(s),
            duration_minutes=s.duration_minutes,
            facilitator_id=s.facilitator_id,
            facilitator_name=s.facilitator.full_name if s.facilitator else "",
            room=s.room or "",
            status=s.status,
            series_id=s.series_id,
            track_id=s.group.track_id,
        )
        for s in sessions
    ]
    all_clashes = find_clashes(entries)
    if facilitator_id is not None:
        all_clashes = [c for c in all_clashes
                       if facilitator_id in (c[2].facilitator_id, c[3].facilitator_id)]
    clashing_ids = {e.id for c in all_clashes for e in (c[2], c[3])}

    by_track: dict[int, list[SessionEntry]] = defaultdict(list)
    for entry in entries:
        by_track[entry.track_id].append(entry)
    rows = []
    for track in tracks:
        track_entries = by_track.get(track.id, [])
        cells: list[list[SessionEntry]] = [[] for _ in days]
        for entry in track_entries:
            if facilitator_id is not None and entry.facilitator_id != facilitator_id:
                continue
            shown = entry if entry.id not in clashing_ids else _with_clash(entry)
            cells[(entry.starts_at.date() - monday).days].append(shown)
        scheduled = {e.group_id for e in track_entries}
        group_rows = [
            GroupWeek(g.id, g.name, _figures((e for e in track_entries if e.group_id == g.id), track))
            for g in groups
            if g.track_id == track.id and (g.active or g.id in scheduled)
        ]
        rows.append(TrackWeek(
            track_id=track.id, code=track.code, name=track.name, care_level=track.care_level,
            days=cells, figures=_figures(track_entries, track), groups=group_rows,
        ))
    clashes = [Clash(kind, label, first, second)
               for kind, label, first, second in all_clashes[:MAX_LISTED_CLASHES]]
    return WeekPlan(week_start=monday, days=days, tracks=rows, clashes=clashes,
                    clash_count=len(all_clashes), facilitator_id=facilitator_id)


def _with_clash(entry: SessionEntry) -> SessionEntry:
    return replace(entry, clash=True)


def facilitators() -> list[StaffUser]:
    """Active staff who lead a group or a session: the choices of the planner's filter."""
    leads_group = sa.select(CareGroup.facilitator_id).where(CareGroup.facilitator_id.is_not(None))
    leads_session = sa.select(GroupSession.facilitator_id).where(GroupSession.facilitator_id.is_not(None))
    return list(db.session.scalars(
        sa.select(StaffUser)
        .where(StaffUser.is_active_account.is_(True),
               sa.or_(StaffUser.id.in_(leads_group), StaffUser.id.in_(leads_session)))
        .order_by(StaffUser.full_name)
    ))


__all__ = [
    "Clash",
    "SessionEntry",
    "TrackWeek",
    "WeekPlan",
    "facilitators",
    "monday_of",
    "week_plan",
]

"""The week plan: each track's and group's sessions of one week, hours and days against the
weekly minimum, and the clashes among them (what the week planner shows).

How a week is judged depends on where it stands against today. Every non-cancelled session
counts (a session that has started counts as held, as "offered" does in ``participation``).

- A **past** week: each group *met* or was *short* of the weekly minimum (hours and days).
- The **current** week: a group is *on track* when what it held so far plus what is still
  planned reaches the minimum, *at risk* when it does not. A week in progress is never
  "short" because its later days have not happened yet.
- A **future** week: *planned: meets* or *planned: short*.

A track's badge agrees with its groups: it meets the minimum (or is on track) only when
every group shown for it does (each active group, and any inactive one with sessions that
week), because the minimum is what each patient, a member of one group, is offered.
"""

from __future__ import annotations

from collections import defaultdict, namedtuple
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from typing import Any, Iterable, Sequence

import sqlalchemy as sa

from ..extensions import db
from ..models import Activity, CareGroup, GroupSession, StaffUser, Track
from .page_window import PageWindow
from .series import room_key, session_end, span_text

#: Most clashes a week plan lists one by one (the total is always counted).
MAX_LISTED_CLASHES = 200
#: How many groups' sessions the planner shows at a time.
GROUPS_PAGE = 25


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


#: Where a week stands against today.
PHASES = ("past", "current", "future")
#: The word for a group's week by phase, when it reaches the minimum and when it does not.
STATUS_WORDS = {
    "past": ("met", "short"),
    "current": ("on track", "at risk"),
    "future": ("planned: meets", "planned: short"),
}


@dataclass
class Figures:
    """Planned programme against a weekly minimum.

    ``planned_*`` counts every non-cancelled session of the week (held or still to come);
    ``held_*`` those that have started by now. ``phase`` says whether the week is past,
    current or future, which decides the words.
    """

    planned_minutes: int
    planned_days: int
    min_minutes: int
    min_days: int
    phase: str = "future"
    held_minutes: int = 0
    held_days: int = 0

    @property
    def short(self) -> bool:
        """True when the week (held plus still planned) falls below the minimum hours or days."""
        return self.planned_minutes < self.min_minutes or self.planned_days < self.min_days

    @property
    def status(self) -> str:
        """``met``/``short``, ``on track``/``at risk`` or ``planned: meets``/``planned: short``."""
        return STATUS_WORDS[self.phase][1 if self.short else 0]

    @property
    def tone(self) -> str:
        """``ok``, ``risk`` (this or a future week falls short as planned) or ``short`` (a past week)."""
        if not self.short:
            return "ok"
        return "short" if self.phase == "past" else "risk"

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
        """``9 h over 3 days`` (past: held; current: held so far and with what is still planned)."""
        total = f"{_hours(self.planned_minutes)} over {_days(self.planned_days)}"
        if self.phase == "past":
            return f"held {total}"
        if self.phase == "current":
            return (f"held so far {_hours(self.held_minutes)} over {_days(self.held_days)}, "
                    f"with what is still planned {total}")
        return f"planned {total}"

    @property
    def summary(self) -> str:
        """``planned 9 h over 3 days / minimum 9 h over 3 days``."""
        return f"{self.planned} / minimum {_hours(self.min_minutes)} over {_days(self.min_days)}"


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
    #: The groups on the shown page (the cells hold their sessions only).
    listed: list[GroupWeek] = field(default_factory=list)

    @property
    def short_groups(self) -> list[GroupWeek]:
        """The groups shown whose week falls below the minimum."""
        return [g for g in self.groups if g.figures.short]

    @property
    def short(self) -> bool:
        """True when any group shown falls below the minimum (with no group: the track's own week)."""
        return bool(self.short_groups) if self.groups else self.figures.short

    @property
    def tone(self) -> str:
        """``ok``, ``risk`` or ``short``, as for one group's week."""
        if not self.short:
            return "ok"
        return "short" if self.figures.phase == "past" else "risk"

    @property
    def badge(self) -> str:
        """The track's verdict in words, agreeing with its groups."""
        phase = self.figures.phase
        if not self.groups:
            if self.short:
                return {"past": "Short of the weekly minimum", "current": "At risk: no group is planned",
                        "future": "Planned: short of the weekly minimum"}[phase]
            return {"past": "Met the weekly minimum", "current": "On track for the weekly minimum",
                    "future": "Planned: meets the weekly minimum"}[phase]
        total = len(self.groups)
        if not self.short:
            every = "every group" if total > 1 else "its group"
            return {"past": f"Met the weekly minimum: {every}",
                    "current": f"On track: {every} can reach the weekly minimum",
                    "future": f"Planned: {every} meets the weekly minimum"}[phase]
        short = len(self.short_groups)
        which = f"{short} of {total} groups" if total > 1 else "its group"
        return {"past": f"Short: {which} below the weekly minimum",
                "current": f"At risk: {which} cannot reach the weekly minimum with what is still planned",
                "future": f"Planned: short, {which} below the weekly minimum"}[phase]

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
    #: "past", "current" or "future" against the moment the plan was made.
    phase: str = "future"
    #: The track filter (None: every track).
    track_id: int | None = None
    #: Which page of the groups (narrowed by the filters) the cells show.
    window: PageWindow = field(default_factory=lambda: PageWindow(1, 0, GROUPS_PAGE))

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


def week_phase(monday: date, now: datetime) -> str:
    """``past``, ``current`` or ``future``: where the week starting ``monday`` stands at ``now``."""
    if now.date() >= monday + timedelta(days=7):
        return "past"
    if now.date() < monday:
        return "future"
    return "current"


def _figures(entries: Iterable[SessionEntry], track: Track, phase: str = "future",
             now: datetime | None = None) -> Figures:
    live = [e for e in entries if e.status != "cancelled"]
    held = [e for e in live if now is not None and e.starts_at < now]
    return Figures(
        planned_minutes=sum(e.duration_minutes for e in live),
        planned_days=len({e.starts_at.date() for e in live}),
        min_minutes=track.weekly_min_minutes or 0,
        min_days=track.weekly_min_days or 0,
        phase=phase,
        held_minutes=sum(e.duration_minutes for e in held),
        held_days=len({e.starts_at.date() for e in held}),
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


def week_plan(week_start: date, facilitator_id: int | None = None, *, now: datetime | None = None,
              track_id: int | None = None, page=1, size: int = GROUPS_PAGE) -> WeekPlan:
    """The programme of the week holding ``week_start``, per track and day, judged at ``now``.

    Runs three queries however many sessions the week holds: the tracks, the groups,
    and the week's sessions with their group, activity and facilitator. With
    ``facilitator_id`` the cells and clashes show that facilitator's sessions only;
    the hours and days still count every session of the track, because the minimum
    is what the track offers its patients.

    The cells show one page of ``size`` groups (by track, then name), narrowed to
    ``track_id`` and, with ``facilitator_id``, to groups that facilitator leads or has a
    session in that week; every track's figures, badge and the clashes still count every
    group, so paging changes what is listed, never a verdict.
    """
    monday = monday_of(week_start)
    now = now or datetime.now()
    phase = week_phase(monday, now)
    days = [monday + timedelta(days=i) for i in range(7)]
    tracks = db.session.scalars(sa.select(Track).order_by(Track.care_level, Track.name)).all()
    groups = db.session.scalars(sa.select(CareGroup).order_by(CareGroup.name)).all()
    # Plain columns, not whole records: a busy week holds hundreds of sessions, and building
    # an ORM object (with its group, activity and facilitator) for each costs more than the query.
    rows = db.session.execute(
        sa.select(
            GroupSession.id, GroupSession.group_id, CareGroup.name.label("group_name"),
            CareGroup.track_id, Activity.name.label("activity_name"), GroupSession.starts_at,
            GroupSession.duration_minutes, GroupSession.facilitator_id,
            StaffUser.full_name.label("facilitator_name"), GroupSession.room, GroupSession.status,
            GroupSession.series_id,
        )
        .join(CareGroup, CareGroup.id == GroupSession.group_id)
        .outerjoin(Activity, Activity.id == GroupSession.activity_id)
        .outerjoin(StaffUser, StaffUser.id == GroupSession.facilitator_id)
        .where(
            GroupSession.starts_at >= datetime.combine(monday, time.min),
            GroupSession.starts_at < datetime.combine(monday + timedelta(days=7), time.min),
        )
        .order_by(GroupSession.starts_at, GroupSession.id)
    )
    # Plain named tuples: reading a field of one is several times cheaper than of a result
    # row, and the sweep and the figures read about ten fields of each of the week's sessions.
    rows = [_Row._make(r) for r in rows]

    # One pass over the week's plain rows: the clash sweep and the figures need no objects;
    # a SessionEntry is built only for a session shown in a cell or a listed clash.
    made: dict[int, SessionEntry] = {}

    def entry_of(s) -> SessionEntry:
        entry = made.get(s.id)
        if entry is None:
            entry = made[s.id] = _entry(s)
        return entry

    listed_pairs, clash_count, clashing_ids = _sweep_clashes(rows, facilitator_id, MAX_LISTED_CLASHES)
    all_clashes = [(kind, label, entry_of(a), entry_of(b)) for kind, label, a, b in listed_pairs]

    by_track: dict[int, _Tally] = defaultdict(_Tally)
    by_group: dict[int, _Tally] = defaultdict(_Tally)
    facilitated = set()
    for s in rows:
        by_group[s.group_id].add(s, now)
        by_track[s.track_id].add(s, now)
        if facilitator_id is not None and s.facilitator_id == facilitator_id:
            facilitated.add(s.group_id)
    pageable = [
        g for track in tracks if track_id is None or track.id == track_id
        for g in groups
        if g.track_id == track.id and (g.active or g.id in by_group)
        and (facilitator_id is None or g.facilitator_id == facilitator_id or g.id in facilitated)
    ]
    window = PageWindow.of(page, len(pageable), size)
    on_page = {g.id for g in pageable[window.offset:window.offset + window.size]}
    cells_by_track: dict[int, list[list[SessionEntry]]] = {}
    for s in rows:
        if s.group_id not in on_page:
            continue
        if facilitator_id is not None and s.facilitator_id != facilitator_id:
            continue
        entry = entry_of(s)
        shown = entry if entry.id not in clashing_ids else _with_clash(entry)
        cells = cells_by_track.setdefault(s.track_id, [[] for _ in days])
        cells[(entry.starts_at.date() - monday).days].append(shown)
    plan_rows = []
    for track in tracks:
        if track_id is not None and track.id != track_id:
            continue
        cells = cells_by_track.get(track.id) or [[] for _ in days]
        group_rows = [
            GroupWeek(g.id, g.name, by_group[g.id].figures(track, phase) if g.id in by_group
                      else _Tally().figures(track, phase))
            for g in groups
            if g.track_id == track.id and (g.active or g.id in by_group)
        ]
        listed = [g for g in group_rows if g.id in on_page]
        # A track is shown with its groups on this page; one without any group to page
        # (nothing planned, or none matching the facilitator) on the first page.
        has_pageable = any(g.track_id == track.id for g in pageable)
        if not listed and (has_pageable or window.number != 1):
            continue
        tally = by_track[track.id] if track.id in by_track else _Tally()
        plan_rows.append(TrackWeek(
            track_id=track.id, code=track.code, name=track.name, care_level=track.care_level,
            days=cells, figures=tally.figures(track, phase), groups=group_rows, listed=listed,
        ))
    clashes = [Clash(kind, label, first, second) for kind, label, first, second in all_clashes]
    return WeekPlan(week_start=monday, days=days, tracks=plan_rows, clashes=clashes,
                    clash_count=clash_count, facilitator_id=facilitator_id, phase=phase,
                    track_id=track_id, window=window)


_Row = namedtuple("_Row", "id group_id group_name track_id activity_name starts_at duration_minutes "
                          "facilitator_id facilitator_name room status series_id")


def _entry(s) -> SessionEntry:
    return SessionEntry(
        id=s.id,
        group_id=s.group_id,
        group_name=s.group_name,
        activity_name=s.activity_name or "",
        starts_at=s.starts_at,
        ends_at=session_end(s),
        duration_minutes=s.duration_minutes,
        facilitator_id=s.facilitator_id,
        facilitator_name=s.facilitator_name or "",
        room=s.room or "",
        status=s.status,
        series_id=s.series_id,
        track_id=s.track_id,
    )


class _Tally:
    """Minutes and days of non-cancelled sessions, planned and held (what ``_figures`` counts)."""

    __slots__ = ("minutes", "days", "held_minutes", "held_days")

    def __init__(self) -> None:
        self.minutes = 0
        self.days: set[date] = set()
        self.held_minutes = 0
        self.held_days: set[date] = set()

    def add(self, s, now: datetime) -> None:
        if s.status == "cancelled":
            return
        minutes = s.duration_minutes or 0
        day = s.starts_at.date()
        self.minutes += minutes
        self.days.add(day)
        if s.starts_at < now:
            self.held_minutes += minutes
            self.held_days.add(day)

    def figures(self, track: Track, phase: str) -> Figures:
        return Figures(
            planned_minutes=self.minutes, planned_days=len(self.days),
            min_minutes=track.weekly_min_minutes or 0, min_days=track.weekly_min_days or 0,
            phase=phase, held_minutes=self.held_minutes, held_days=len(self.held_days),
        )


def _sweep_clashes(rows, facilitator_id: int | None, limit: int):
    """The clashes among ``rows`` (sorted by start, then id): the first ``limit`` in the
    order of ``find_clashes`` (later session's start, earlier session's start, kind), how
    many there are in all, and the ids of every session in one. With ``facilitator_id``
    only the clashes involving that facilitator count.

    One sweep in start order with the overlapping sessions of each facilitator and room
    still running; only the listed pairs are built, the rest just counted.
    """
    running: dict[tuple[str, Any], list] = {}
    #: Each facilitator's and room's place in order of first appearance (ties keep that order).
    first_seen: dict[tuple[str, Any], int] = {}
    listed: list = []
    pending: list = []
    pending_start = None
    count = 0
    clashing: set[int] = set()

    def flush() -> None:
        pending.sort(key=lambda c: (c[3].starts_at, c[1], c[0]))
        listed.extend(c[1:] for c in pending[:limit - len(listed)])
        pending.clear()

    for s in rows:
        if s.status == "cancelled":
            continue
        start = s.starts_at
        if pending and start != pending_start:
            flush()
        pending_start = start
        end = start + timedelta(minutes=s.duration_minutes or 0)
        keys = []
        if s.facilitator_id is not None:
            keys.append(("facilitator", s.facilitator_id))
        room = room_key(s.room)
        if room:
            keys.append(("room", room))
        for key in keys:
            kind = key[0]
            others = running.get(key)
            if others is None:
                first_seen[key] = len(first_seen)
                running[key] = [(end, s.id, s)]
                continue
            others[:] = [o for o in others if o[0] > start]
            if others:
                if facilitator_id is None:
                    partners = others
                else:
                    partners = [o for o in others
                                if facilitator_id in (o[2].facilitator_id, s.facilitator_id)]
                if partners:
                    count += len(partners)
                    clashing.add(s.id)
                    clashing.update([o[1] for o in partners])
                    if len(listed) < limit:
                        label = (s.facilitator_name or "") if kind == "facilitator" else (s.room or "").strip()
                        rank = first_seen[key]
                        pending.extend((rank, kind, label, o[2], s) for o in partners)
            others.append((end, s.id, s))
    if pending:
        flush()
    return listed, count, clashing


def _with_clash(entry: SessionEntry) -> SessionEntry:
    return replace(entry, clash=True)


def facilitators() -> list[StaffUser]:
    """Active staff who lead a group or a session: the choices of the planner's filter."""
    # One probe per member of staff into the (facilitator, start) index, rather than
    # reading every session ever held to collect their facilitators.
    leads_group = sa.select(CareGroup.id).where(CareGroup.facilitator_id == StaffUser.id).exists()
    leads_session = sa.select(GroupSession.id).where(GroupSession.facilitator_id == StaffUser.id).exists()
    return list(db.session.scalars(
        sa.select(StaffUser)
        .where(StaffUser.is_active_account.is_(True), sa.or_(leads_group, leads_session))
        .order_by(StaffUser.full_name)
    ))


__all__ = [
    "Clash",
    "GROUPS_PAGE",
    "SessionEntry",
    "TrackWeek",
    "WeekPlan",
    "facilitators",
    "monday_of",
    "week_phase",
    "week_plan",
]

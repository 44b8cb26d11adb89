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
from dataclasses import dataclass, field
from functools import lru_cache
from datetime import date, datetime, time, timedelta
from typing import Any, Sequence

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import aliased

from ..extensions import db
from ..models import Activity, CareGroup, GroupSession, StaffUser, Track
from .page_window import PageWindow
from .series import MAX_SESSION_MINUTES, room_key, session_end, span_text

#: Most clashes the planner lists one by one (those of the page's groups; the week's total is
#: always counted, and the clashes page lists every one). The list is a warning at the top of
#: the page: ten lines and "... and N more" with the link to every clash, not a wall of
#: them above the week (and the page no longer grows with a crowded week's clashes).
MAX_LISTED_CLASHES = 10
#: How many groups' sessions the planner shows at a time: a dozen groups meeting on most
#: days already fill a week's grid several screens tall (and the page's work stays the same
#: in a clinic of any size; the track filter and the pager reach every group).
GROUPS_PAGE = 12
#: The planner counts the clashes involving its page's groups up to this many ("more than 100").
CLASH_COUNT_CAP = 100
#: The longest a session can be (``series.check_session`` and ``sessions`` refuse longer):
#: a session overlapping another starts less than this before it, which bounds every
#: index probe for clashes without reading the week first to find its longest session.
LONGEST_MINUTES = MAX_SESSION_MINUTES


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
    #: What the planner's cell shows, worked out once here rather than by the template for
    #: every cell: the time (``17:00–18:30``), who and where (``Name · Room``) and the extra
    #: CSS classes of its status and clash.
    when: str = ""
    who: str = ""
    css: str = ""

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
    def minimum(self) -> str:
        """``9 h over 3 days``."""
        return f"{_hours(self.min_minutes)} over {_days(self.min_days)}"

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
    #: Sessions per day, Monday first (cancelled ones included, marked by their status), of
    #: the groups on the shown page.
    days: list[list[SessionEntry]]
    #: The programme of the track's groups on the shown page together (the whole track's
    #: when ``whole``).
    figures: Figures
    #: The track's groups on the shown page, each with its own programme against the minimum.
    groups: list[GroupWeek] = field(default_factory=list)
    #: How many groups the track shows this week (each active group, and any inactive one
    #: with sessions that week; with the facilitator filter, theirs), on any page.
    group_count: int = 0
    #: How many of the groups on the shown page fall short.
    short_count: int = 0

    @property
    def whole(self) -> bool:
        """True when every group of the track is on the shown page: its verdict is the track's."""
        return len(self.groups) >= self.group_count

    @property
    def listed(self) -> list[GroupWeek]:
        """The groups on the shown page (the cells hold their sessions only)."""
        return self.groups

    @property
    def short_groups(self) -> list[GroupWeek]:
        """The groups on the shown page whose week falls below the minimum."""
        return [g for g in self.groups if g.figures.short]

    @property
    def short(self) -> bool:
        """True when any of its groups on the page falls below the minimum (with no group:
        the track's own week)."""
        return self.short_count > 0 if self.groups else self.figures.short

    @property
    def tone(self) -> str:
        """``ok``, ``risk`` or ``short``, as for one group's week."""
        if not self.short:
            return "ok"
        return "short" if self.figures.phase == "past" else "risk"

    @property
    def badge(self) -> str:
        """The verdict in words of the track's groups on the page: the track's own when every
        group is on it (``whole``), else "k of the n groups on this page"."""
        phase = self.figures.phase
        if not self.groups:
            if self.short:
                return {"past": "Short of the weekly minimum", "current": "At risk: no group is planned",
                        "future": "Planned: short of the weekly minimum"}[phase]
            return {"past": "Met the weekly minimum", "current": "On track for the weekly minimum",
                    "future": "Planned: meets the weekly minimum"}[phase]
        total = len(self.groups)
        if not self.whole:
            here = "group on this page" if total == 1 else f"{total} groups on this page"
            if not self.short:
                every = "the group on this page" if total == 1 else f"each of the {here}"
                return {"past": f"Met the weekly minimum: {every}",
                        "current": f"On track: {every} can reach the weekly minimum",
                        "future": f"Planned: {every} meets the weekly minimum"}[phase]
            which = f"{self.short_count} of the {here}" if total > 1 else "the group on this page"
            return {"past": f"Short: {which} below the weekly minimum",
                    "current": f"At risk: {which} cannot reach the weekly minimum with what is still planned",
                    "future": f"Planned: short, {which} below the weekly minimum"}[phase]
        if not self.short:
            every = "every group" if total > 1 else "its group"
            return {"past": f"Met the weekly minimum: {every}",
                    "current": f"On track: {every} can reach the weekly minimum",
                    "future": f"Planned: {every} meets the weekly minimum"}[phase]
        which = f"{self.short_count} of {total} groups" if total > 1 else "its group"
        return {"past": f"Short: {which} below the weekly minimum",
                "current": f"At risk: {which} cannot reach the weekly minimum with what is still planned",
                "future": f"Planned: short, {which} below the weekly minimum"}[phase]

    @property
    def planned_minutes(self) -> int:
        """Minutes of non-cancelled sessions of the track's groups on the page this week."""
        return self.figures.planned_minutes

    @property
    def planned_days(self) -> int:
        """Days with a non-cancelled session of the track's groups on the page this week."""
        return self.figures.planned_days


@dataclass
class WeekPlan:
    """One week, Monday to Sunday: tracks down, days across, and the clashes found."""

    week_start: date
    days: list[date]
    tracks: list[TrackWeek]
    #: The clashes involving the page's groups (the first ``MAX_LISTED_CLASHES``) ...
    clashes: list[Clash]
    #: ... and how many there are, counted up to ``CLASH_COUNT_CAP`` (``clash_count_capped``:
    #: more than that). The clashes page counts and lists every clash of the week.
    clash_count: int
    facilitator_id: int | None = None
    clash_count_capped: bool = False
    #: The facilitator filter's choices as ``(id, name)`` by name: the facilitators of the
    #: page's sessions and groups, and the one filtered by.
    facilitator_choices: list[tuple[int, str]] = field(default_factory=list)
    #: "past", "current" or "future" against the moment the plan was made.
    phase: str = "future"
    #: The track filter (None: every track).
    track_id: int | None = None
    #: Which page of the groups (narrowed by the filters) the cells show.
    window: PageWindow = field(default_factory=lambda: PageWindow(1, 0, GROUPS_PAGE))
    #: Every track as ``(id, name)``, in order: the choices of the track filter.
    track_choices: list[tuple[int, str]] = field(default_factory=list)

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


# The week in SQL ----------------------------------------------------------------------
#
# The figures, badges and clash counts are aggregates computed by the database, so the
# planner reads O(tracks + one page) rows whatever the size of the clinic: one row per
# track, the page's groups with their sessions, and the page's listed clashes. Each
# statement is built once per shape (facilitator filter or not, track filter or not) with
# bound parameters, and reused: building these trees costs more than running them.

_S = GroupSession
CANCELLED = "cancelled"
#: The bound parameters of the statements below.
_WEEK_START = sa.bindparam("week_start", type_=sa.DateTime())
_WEEK_END = sa.bindparam("week_end", type_=sa.DateTime())
_NOW = sa.bindparam("now", type_=sa.DateTime())
_FACILITATOR = sa.bindparam("facilitator_id", type_=sa.Integer())
_TRACK = sa.bindparam("track_id", type_=sa.Integer())
_LONGEST = sa.bindparam("longest", type_=sa.Integer())
_PAGE_IDS = sa.bindparam("page_ids", expanding=True, type_=sa.Integer())
# The same ids as one array parameter (PostgreSQL): ``group_id = ANY(:page_ids)`` keeps the
# statement's text and its parameter count the same for a page of 3 groups or of 25, so the
# driver's cache of parsed statements (psycopg keeps those of at most 50 parameters) serves
# it; an expanding IN made a page of 25 groups parse its long statement again every time.
_PAGE_ARRAY = sa.bindparam("page_ids", type_=postgresql.ARRAY(sa.Integer()))
_LIMIT = sa.bindparam("limit", type_=sa.Integer())
_OFFSET = sa.bindparam("offset", type_=sa.Integer())


class shifted(sa.sql.functions.FunctionElement):
    """``shifted(moment, minutes)``: the moment ``minutes`` later (earlier when negative).

    Compiled per dialect: PostgreSQL interval arithmetic (so ``column < shifted(...)`` can
    use an index on the column); SQLite text in the order of its stored timestamps
    (``YYYY-MM-DD HH:MM:SS.fff``), which compares correctly with them, equal moments
    included: ``'… 18:00:00.000000' < '… 18:00:00.000'`` is false, as it must be.
    """

    type = sa.DateTime()
    name = "shifted"
    inherit_cache = True


@compiles(shifted)
def _shifted_postgresql(element, compiler, **kw):
    moment, minutes = (compiler.process(c, **kw) for c in element.clauses)
    return f"({moment} + ({minutes}) * interval '1 minute')"


@compiles(shifted, "sqlite")
def _shifted_sqlite(element, compiler, **kw):
    moment, minutes = (compiler.process(c, **kw) for c in element.clauses)
    return f"strftime('%Y-%m-%d %H:%M:%f', {moment}, ({minutes}) || ' minutes')"


class bytewise(sa.sql.functions.FunctionElement):
    """``bytewise(text)``: the text compared byte by byte (PostgreSQL ``COLLATE "C"``, what
    SQLite does anyway): equal texts stay equal, and sorting them is cheaper."""

    type = sa.String()
    name = "bytewise"
    inherit_cache = True


@compiles(bytewise)
def _bytewise_postgresql(element, compiler, **kw):
    return f'({compiler.process(element.clauses, **kw)}) COLLATE "C"'


@compiles(bytewise, "sqlite")
def _bytewise_sqlite(element, compiler, **kw):
    return compiler.process(element.clauses, **kw)


def room_key_sql(column):
    """``series.room_key`` in SQL: rooms match ignoring case and surrounding spaces.

    Migration 0029 indexes this very expression with the start and id (0025 did with the start).
    """
    return sa.func.lower(sa.func.trim(column))


def _in_week(s):
    return sa.and_(s.starts_at >= _WEEK_START, s.starts_at < _WEEK_END)


def _week_params(monday: date) -> dict:
    return {"week_start": datetime.combine(monday, time.min),
            "week_end": datetime.combine(monday + timedelta(days=7), time.min)}


def _tallies(starts, minutes, status) -> list:
    """Planned and held (started before ``now``) minutes and days of the non-cancelled
    sessions among the rows; a day is the calendar date of the start on both databases."""
    live = status != CANCELLED
    held = sa.and_(live, starts < _NOW)
    day = sa.func.date(starts)
    return [
        sa.func.coalesce(sa.func.sum(sa.case((live, minutes), else_=0)), 0).label("minutes"),
        sa.func.count(sa.distinct(sa.case((live, day)))).label("days"),
        sa.func.coalesce(sa.func.sum(sa.case((held, minutes), else_=0)), 0).label("held_minutes"),
        sa.func.count(sa.distinct(sa.case((held, day)))).label("held_days"),
    ]


def _clash_pairs(kind: str, filtered: bool, *, longest=None, side: str | None = None,
                 side_condition=None):
    """Pairs (a, b) of the week's non-cancelled sessions that clash by ``kind``: a starts
    first (by start, then id) and b starts before a ends. Both share the facilitator
    (``facilitator``) or the room as ``room_key`` sees it (``room``). ``filtered``: only
    the pairs involving the facilitator of the filter.

    ``side`` ("a" or "b") applies ``side_condition(alias)`` to a (or b): the sessions the
    database starts from, probing an index for their partners; ``longest`` (the week's
    longest session in minutes, an SQL expression) adds that a starts less than that
    before b, so that b can find a by index.
    """
    a, b = aliased(_S, name="a"), aliased(_S, name="b")
    conditions = [
        _in_week(a), _in_week(b), a.status != CANCELLED, b.status != CANCELLED,
        b.starts_at >= a.starts_at,
        sa.or_(b.starts_at > a.starts_at, a.id < b.id),
        b.starts_at < shifted(a.starts_at, a.duration_minutes),
    ]
    if longest is not None:
        conditions.append(a.starts_at > shifted(b.starts_at, -longest))
    if kind == "facilitator":
        conditions += [a.facilitator_id.is_not(None), b.facilitator_id == a.facilitator_id]
        if filtered:
            conditions += [a.facilitator_id == _FACILITATOR, b.facilitator_id == _FACILITATOR]
    else:
        conditions += [room_key_sql(a.room) != "", room_key_sql(b.room) == room_key_sql(a.room)]
        if filtered:
            conditions.append(sa.or_(a.facilitator_id == _FACILITATOR, b.facilitator_id == _FACILITATOR))
    if side is not None:
        conditions.append(side_condition(a if side == "a" else b))
    return a, b, conditions


def _pair_select(kind: str, filtered: bool, **kw):
    a, b, conditions = _clash_pairs(kind, filtered, **kw)
    return (sa.select(sa.literal(kind).label("kind"), a.id.label("a_id"), b.id.label("b_id"),
                      a.starts_at.label("a_starts_at"), b.starts_at.label("b_starts_at"))
            .select_from(a).join(b, sa.and_(*conditions)))


def _page_pair_select(kind: str, filtered: bool):
    """The clashing pairs (a, b ordered as in ``_clash_pairs``) with a session of the groups
    ``page_ids``: from each such session p, an index finds the sessions o of its facilitator
    (or room) that overlap it (o starts before p ends, less than the week's longest session
    before p starts, and ends after p starts)."""
    p, o = aliased(_S, name="p"), aliased(_S, name="o")
    conditions = [
        p.group_id.in_(_PAGE_IDS), _in_week(p), _in_week(o), p.status != CANCELLED, o.status != CANCELLED,
        o.id != p.id,
        o.starts_at < shifted(p.starts_at, p.duration_minutes),
        o.starts_at > shifted(p.starts_at, -_LONGEST),
        p.starts_at < shifted(o.starts_at, o.duration_minutes),
    ]
    if kind == "facilitator":
        conditions += [p.facilitator_id.is_not(None), o.facilitator_id == p.facilitator_id]
        if filtered:
            conditions += [p.facilitator_id == _FACILITATOR, o.facilitator_id == _FACILITATOR]
    else:
        conditions += [room_key_sql(p.room) != "", room_key_sql(o.room) == room_key_sql(p.room)]
        if filtered:
            conditions.append(sa.or_(p.facilitator_id == _FACILITATOR, o.facilitator_id == _FACILITATOR))
    p_first = sa.or_(p.starts_at < o.starts_at, sa.and_(p.starts_at == o.starts_at, p.id < o.id))
    return (sa.select(sa.literal(kind).label("kind"),
                      sa.case((p_first, p.id), else_=o.id).label("a_id"),
                      sa.case((p_first, o.id), else_=p.id).label("b_id"),
                      sa.case((p_first, p.starts_at), else_=o.starts_at).label("a_starts_at"),
                      sa.case((p_first, o.starts_at), else_=p.starts_at).label("b_starts_at"))
            .select_from(p).join(o, sa.and_(*conditions)))


def _page_pair_lateral(kind: str, filtered: bool, ordered: bool = True):
    """``_page_pair_select`` for PostgreSQL, bounded by the page: from each session p of the
    groups ``page_ids``, a LATERAL probe of the (facilitator, start) or (room key, start)
    index reads p's partners o in start order and stops after ``limit`` of them. A pair of
    two sessions of the page is found from the one with the smaller id only, so no pair is
    found twice and no UNION has to collect them all first.

    Why ``limit`` a session is enough for the first ``limit`` pairs: the clashes are ordered
    by the later session's start, then the earlier one's (then kind and ids). Among the pairs
    of one session p and one kind, that order is the order of the partner's (start, id):
    a partner starting before p gives (p's start, its start), one after p (its start, p's
    start). So a pair among the first ``limit`` of the week's is among the first ``limit``
    of its finder's, and the page reads at most ``limit`` partners a session however
    crowded a room or a facilitator's week is. Without ``ordered`` (counting) any ``limit``
    partners do.
    """
    p, o = aliased(_S, name="p"), aliased(_S, name="o")
    if kind == "facilitator":
        p_keyed = [p.facilitator_id.is_not(None)]
        same = o.facilitator_id == p.facilitator_id
        if filtered:
            p_keyed.append(p.facilitator_id == _FACILITATOR)
        partner_filter = []
    else:
        p_keyed = [room_key_sql(p.room) != ""]
        same = room_key_sql(o.room) == room_key_sql(p.room)
        partner_filter = ([sa.or_(p.facilitator_id == _FACILITATOR, o.facilitator_id == _FACILITATOR)]
                          if filtered else [])
    partners = (
        sa.select(o.id.label("id"), o.starts_at.label("starts_at"))
        .where(same, _in_week(o), o.status != CANCELLED, o.id != p.id,
               o.starts_at < shifted(p.starts_at, p.duration_minutes),
               o.starts_at > shifted(p.starts_at, -_LONGEST),
               p.starts_at < shifted(o.starts_at, o.duration_minutes),
               # Found from the page session with the smaller id when both are on the page.
               sa.not_(sa.and_(o.group_id == sa.any_(_PAGE_ARRAY), o.id < p.id)),
               *partner_filter)
        .order_by(*((o.starts_at, o.id) if ordered else ()))
        .limit(_LIMIT)
        .lateral("partner")
    )
    p_first = sa.or_(p.starts_at < partners.c.starts_at,
                     sa.and_(p.starts_at == partners.c.starts_at, p.id < partners.c.id))
    return (sa.select(sa.literal(kind).label("kind"),
                      sa.case((p_first, p.id), else_=partners.c.id).label("a_id"),
                      sa.case((p_first, partners.c.id), else_=p.id).label("b_id"),
                      sa.case((p_first, p.starts_at), else_=partners.c.starts_at).label("a_starts_at"),
                      sa.case((p_first, partners.c.starts_at), else_=p.starts_at).label("b_starts_at"))
            .select_from(p).join(partners, sa.true())
            .where(p.group_id == sa.any_(_PAGE_ARRAY), _in_week(p), p.status != CANCELLED, *p_keyed))


def _week_rows():
    """The week's sessions with the columns the figures and the sweep read: the sweep's
    start and end (in one format, on SQLite) and room key are computed here, once a row."""
    return (sa.select(_S.group_id, CareGroup.track_id, _S.starts_at, _S.duration_minutes, _S.status,
                      _S.facilitator_id,
                      shifted(_S.starts_at, 0).label("begins"),
                      shifted(_S.starts_at, _S.duration_minutes).label("ends"),
                      bytewise(sa.func.nullif(room_key_sql(_S.room), "")).label("room_key"))
            .join(CareGroup, CareGroup.id == _S.group_id)
            .where(_in_week(_S)))


def _sweep_count(week):
    """How many clashes the week holds (``week``: its sessions, ``_week_rows`` as a CTE or
    subquery), without pairing sessions up: one sweep per kind.

    For a session a, the sessions after it (by start, then id) with the same facilitator
    (or room) that start before it ends number #{b : b starts before a ends} − (a's place
    in start order). Both come from one ordered pass over the week's starts and ends per
    facilitator (and per room): at each end, the running count of starts so far (an end
    sorts before a start at the same moment, since touching is no clash); at each start,
    its place. The total is the sum at the ends less the sum at the starts: one sort of
    the week's starts and ends, however many sessions overlap (pairing them up costs as
    many index probes as there are clashes, and a busy week holds thousands).
    """
    w = week.c
    total = None
    for key in (w.facilitator_id, w.room_key):
        live = [w.status != CANCELLED, key.is_not(None)]
        events = sa.union_all(
            sa.select(key.label("k"), w.begins.label("t"), sa.literal(1).label("s")).where(*live),
            sa.select(key.label("k"), w.ends.label("t"), sa.literal(0).label("s")).where(*live),
        ).subquery("events")
        running = sa.select(
            events.c.s,
            sa.func.sum(events.c.s).over(partition_by=events.c.k, order_by=(events.c.t, events.c.s),
                                         rows=(None, 0)).label("c"),
        ).subquery("running")
        count = (sa.select(sa.func.coalesce(sa.func.sum(sa.case((running.c.s == 0, running.c.c),
                                                                else_=-running.c.c)), 0))
                 .scalar_subquery())
        total = count if total is None else total + count
    return total


def _clash_count_sql(filtered: bool, week=None):
    """The number of clashes of the week (a pair sharing both facilitator and room counts
    twice, once for each), as a scalar subquery; ``filtered``: those involving the
    facilitator of the filter (counted from their sessions, found by index)."""
    if not filtered:
        return _sweep_count(week if week is not None else _week_rows().subquery("week_sessions"))
    theirs = lambda s: s.facilitator_id == _FACILITATOR  # noqa: E731
    a, b, conditions = _clash_pairs("facilitator", True)
    by_facilitator = sa.select(sa.func.count()).select_from(a).join(b, sa.and_(*conditions)).scalar_subquery()
    longest = (sa.select(sa.func.coalesce(sa.func.max(_S.duration_minutes), 0))
               .where(_in_week(_S), _S.status != CANCELLED).scalar_subquery())
    rooms = sa.union(*(_pair_select("room", True, side=side, side_condition=theirs,
                                    longest=longest if side == "b" else None)
                       for side in ("a", "b"))).subquery("room_pairs")
    by_room = sa.select(sa.func.count()).select_from(rooms).scalar_subquery()
    return by_facilitator + by_room


def _pageable(filtered: bool) -> list:
    """The groups the planner pages through: each active group and any inactive one with
    sessions that week; with the facilitator filter, those they lead or have a session in
    that week (found from their sessions by the (facilitator, start) index)."""
    has_session = sa.select(_S.id).where(_S.group_id == CareGroup.id, _in_week(_S)).exists()
    wanted = [sa.or_(CareGroup.active.is_(True), has_session)]
    if filtered:
        theirs = sa.select(_S.group_id).where(_S.facilitator_id == _FACILITATOR, _in_week(_S))
        wanted.append(sa.or_(CareGroup.facilitator_id == _FACILITATOR, CareGroup.id.in_(theirs)))
    return wanted


@lru_cache(maxsize=None)
def _tracks_statement(filtered: bool):
    """Every track with its minimum and how many groups it pages through this week. No
    session is read: the figures, verdicts and clashes are the page's groups'."""
    counts = (sa.select(CareGroup.track_id, sa.func.count().label("pageable"))
              .where(*_pageable(filtered)).group_by(CareGroup.track_id).subquery("pageable"))
    return (
        sa.select(Track.id, Track.code, Track.name, Track.care_level, Track.weekly_min_minutes,
                  Track.weekly_min_days, counts.c.pageable)
        .outerjoin(counts, counts.c.track_id == Track.id)
        .order_by(Track.care_level, Track.name)
    )


@lru_cache(maxsize=None)
def _page_statement(filtered: bool, one_track: bool, lateral: bool = False):
    """One page of groups (``limit`` from ``offset``, by track then name) with their figures
    and their sessions of the week, each marked when it clashes.

    ``lateral`` (PostgreSQL): each track's first ``offset + limit`` groups by name, walked
    in the (track, name) index of migration 0029, and the page taken from those, instead of
    sorting every group of the clinic (and joining each to its usual facilitator) for one
    page. The same groups in the same order: a track's groups on the page are among its
    first ``offset + limit``."""
    wanted = _pageable(filtered)
    if one_track:
        wanted.append(CareGroup.track_id == _TRACK)
    usual = aliased(StaffUser, name="usual")
    if lateral:
        groups = (sa.select(CareGroup.id, CareGroup.name, CareGroup.track_id, CareGroup.facilitator_id)
                  .where(CareGroup.track_id == Track.id, *wanted)
                  .order_by(CareGroup.name)
                  .limit(_LIMIT + _OFFSET)
                  .lateral("track_groups"))
        page_groups = (
            sa.select(groups.c.id, groups.c.name, groups.c.track_id, Track.care_level,
                      groups.c.facilitator_id.label("usual_id"), usual.full_name.label("usual_name"))
            .select_from(Track).join(groups, sa.true())
            .outerjoin(usual, usual.id == groups.c.facilitator_id)
            .order_by(Track.care_level, groups.c.name)
            .limit(_LIMIT).offset(_OFFSET)
            .cte("page_groups")
        )
    else:
        page_groups = (
            sa.select(CareGroup.id, CareGroup.name, CareGroup.track_id, Track.care_level,
                      CareGroup.facilitator_id.label("usual_id"), usual.full_name.label("usual_name"))
            .join(Track, Track.id == CareGroup.track_id)
            .outerjoin(usual, usual.id == CareGroup.facilitator_id)
            .where(*wanted)
            .order_by(Track.care_level, CareGroup.name)
            .limit(_LIMIT).offset(_OFFSET)
            .cte("page_groups")
        )
    figures = (sa.select(_S.group_id, *_tallies(_S.starts_at, _S.duration_minutes, _S.status))
               .join(page_groups, page_groups.c.id == _S.group_id)
               .where(_in_week(_S))
               .group_by(_S.group_id).subquery("page_figures"))
    # The page's groups of each track together (the whole track's when all are on the page).
    track_figures = (
        sa.select(page_groups.c.track_id, *(c.label("t_" + c.name) for c in
                                             _tallies(_S.starts_at, _S.duration_minutes, _S.status)))
        .join(page_groups, page_groups.c.id == _S.group_id)
        .where(_in_week(_S))
        .group_by(page_groups.c.track_id).subquery("page_track_figures"))
    other = aliased(_S, name="other")
    overlaps = [other.id != _S.id, _in_week(other), other.status != CANCELLED,
                other.starts_at < shifted(_S.starts_at, _S.duration_minutes),
                other.starts_at > shifted(_S.starts_at, -_LONGEST),
                _S.starts_at < shifted(other.starts_at, other.duration_minutes)]
    clashes_here = sa.and_(_S.status != CANCELLED, sa.or_(
        sa.select(other.id).where(*overlaps, other.facilitator_id == _S.facilitator_id).exists(),
        sa.select(other.id).where(*overlaps, room_key_sql(_S.room) != "",
                                  room_key_sql(other.room) == room_key_sql(_S.room)).exists(),
    ))
    in_cells = [_in_week(_S)]
    if filtered:
        in_cells.append(_S.facilitator_id == _FACILITATOR)
    cells = (
        sa.select(_S.id, _S.group_id, Activity.name.label("activity_name"), _S.starts_at, _S.duration_minutes,
                  _S.facilitator_id, StaffUser.full_name.label("facilitator_name"), _S.room, _S.status,
                  _S.series_id, sa.case((clashes_here, 1), else_=0).label("clash"))
        .join(page_groups, page_groups.c.id == _S.group_id)
        .outerjoin(Activity, Activity.id == _S.activity_id)
        .outerjoin(StaffUser, StaffUser.id == _S.facilitator_id)
        .where(*in_cells)
        .subquery("cells")
    )
    return (
        sa.select(page_groups.c.id.label("group_id"), page_groups.c.name.label("group_name"),
                  page_groups.c.track_id, page_groups.c.usual_id, page_groups.c.usual_name,
                  figures.c.minutes, figures.c.days, figures.c.held_minutes, figures.c.held_days,
                  track_figures.c.t_minutes, track_figures.c.t_days, track_figures.c.t_held_minutes,
                  track_figures.c.t_held_days, cells.c.id, cells.c.activity_name, cells.c.starts_at,
                  cells.c.duration_minutes, cells.c.facilitator_id, cells.c.facilitator_name, cells.c.room,
                  cells.c.status, cells.c.series_id, cells.c.clash)
        .select_from(page_groups)
        .outerjoin(figures, figures.c.group_id == page_groups.c.id)
        .outerjoin(track_figures, track_figures.c.track_id == page_groups.c.track_id)
        .outerjoin(cells, cells.c.group_id == page_groups.c.id)
        .order_by(page_groups.c.care_level, page_groups.c.name, cells.c.starts_at, cells.c.id)
    )


@lru_cache(maxsize=None)
def _clashes_statement(filtered: bool, of_page: bool, lateral: bool = False):
    """The week's clashes (``of_page``: those involving a session of the groups
    ``page_ids``, with ``offset`` 0), ordered by the later session's start, the earlier
    one's, the kind: ``limit`` from ``offset``, with both sessions' group, facilitator and
    room. ``lateral`` (PostgreSQL, ``of_page``): each page session's first ``limit``
    partners by index (``_page_pair_lateral``), so the page reads what it lists."""
    parts = []
    for kind in ("facilitator", "room"):
        if of_page and lateral:
            parts.append(_page_pair_lateral(kind, filtered))
        else:
            parts.append(_page_pair_select(kind, filtered) if of_page else _pair_select(kind, filtered))
    # A pair of two sessions of the page is found from both by ``_page_pair_select``: UNION
    # keeps it once (``_page_pair_lateral`` finds it once).
    every = (sa.union(*parts) if of_page and not lateral else sa.union_all(*parts)).subquery("pairs")
    pairs = (sa.select(every)
             .order_by(every.c.b_starts_at, every.c.a_starts_at, every.c.kind, every.c.a_id, every.c.b_id)
             .limit(_LIMIT).offset(_OFFSET).subquery("page_pairs"))
    a, b = aliased(_S, name="sa"), aliased(_S, name="sb")
    ga, gb = aliased(CareGroup, name="ga"), aliased(CareGroup, name="gb")
    fa, fb = aliased(StaffUser, name="fa"), aliased(StaffUser, name="fb")
    columns = []
    for s, g, f, prefix in ((a, ga, fa, "a_"), (b, gb, fb, "b_")):
        columns += [s.id.label(prefix + "id"), s.group_id.label(prefix + "group_id"),
                    g.name.label(prefix + "group_name"), g.track_id.label(prefix + "track_id"),
                    s.starts_at.label(prefix + "starts_at"), s.duration_minutes.label(prefix + "duration_minutes"),
                    s.facilitator_id.label(prefix + "facilitator_id"), f.full_name.label(prefix + "facilitator_name"),
                    s.room.label(prefix + "room"), s.status.label(prefix + "status"),
                    s.series_id.label(prefix + "series_id")]
    return (
        sa.select(pairs.c.kind, *columns)
        .join(a, a.id == pairs.c.a_id).join(ga, ga.id == a.group_id).outerjoin(fa, fa.id == a.facilitator_id)
        .join(b, b.id == pairs.c.b_id).join(gb, gb.id == b.group_id).outerjoin(fb, fb.id == b.facilitator_id)
        .order_by(pairs.c.b_starts_at, pairs.c.a_starts_at, pairs.c.kind, pairs.c.a_id, pairs.c.b_id)
    )


@lru_cache(maxsize=None)
def _page_clash_count_statement(filtered: bool, lateral: bool):
    """How many clashes involve a session of the groups ``page_ids``, counted up to
    ``limit`` (PostgreSQL stops reading there: at most ``limit`` partners a session, and
    the count stops at ``limit`` pairs)."""
    if lateral:
        every = sa.union_all(*(_page_pair_lateral(kind, filtered, ordered=False)
                               for kind in ("facilitator", "room"))).subquery("pairs")
    else:
        every = sa.union(*(_page_pair_select(kind, filtered) for kind in ("facilitator", "room"))).subquery("pairs")
    capped = sa.select(every.c.a_id).limit(_LIMIT).subquery("capped")
    return sa.select(sa.func.count()).select_from(capped)


@lru_cache(maxsize=None)
def _clash_count_statement(filtered: bool):
    return sa.select(_clash_count_sql(filtered))


def _clashes(params: dict, filtered: bool, of_page: bool) -> list[Clash]:
    clashes = []
    lateral = of_page and db.session.get_bind().dialect.name == "postgresql"
    for row in db.session.execute(_clashes_statement(filtered, of_page, lateral), params):
        first, second = (_entry(_Row(**{name: getattr(row, prefix + name) for name in _ROW_FIELDS}))
                         for prefix in ("a_", "b_"))
        label = second.facilitator_name if row.kind == "facilitator" else second.room.strip()
        clashes.append(Clash(row.kind, label, first, second))
    return clashes


def week_plan(week_start: date, facilitator_id: int | None = None, *, now: datetime | None = None,
              track_id: int | None = None, page=1, size: int = GROUPS_PAGE) -> WeekPlan:
    """The programme of the week holding ``week_start``, per track and day, judged at ``now``.

    With ``facilitator_id`` the cells and clashes show that facilitator's sessions only;
    the hours and days still count every session of each group, because the minimum is
    what the group offers its patients.

    The cells show one page of ``size`` groups (by track, then name), narrowed to
    ``track_id`` and, with ``facilitator_id``, to groups that facilitator leads or has a
    session in that week. What the page says is about its groups: each group's figures
    and verdict, each track's badge over its groups on the page (the whole track's when
    every group of the track is on it), the clashes involving them (listed up to
    ``MAX_LISTED_CLASHES``, counted up to ``CLASH_COUNT_CAP``). The clashes page
    (``week_clashes``) counts and lists every clash of the week. So the page reads its
    groups' sessions and their partners, never the whole week of a large clinic.

    Four statements however many sessions and groups the week holds (five with the
    facilitator filter): the tracks with how many groups each pages through; the page's
    groups with their figures and sessions; the page's clashes counted, then listed (none
    without a group); the filtered facilitator's name.
    """
    monday = monday_of(week_start)
    now = now or datetime.now()
    phase = week_phase(monday, now)
    days = [monday + timedelta(days=i) for i in range(7)]
    filtered = facilitator_id is not None
    params = {**_week_params(monday), "now": now, "facilitator_id": facilitator_id, "longest": LONGEST_MINUTES}

    # 1. Every track and how many groups it pages through (no session read).
    track_rows = db.session.execute(_tracks_statement(filtered), params).all()
    shown_tracks = [r for r in track_rows if track_id is None or r.id == track_id]
    window = PageWindow.of(page, int(sum(r.pageable or 0 for r in shown_tracks)), size)

    # 2. The page's groups, their figures and their sessions (with the clash mark).
    lateral = db.session.get_bind().dialect.name == "postgresql"
    page_rows = db.session.execute(
        _page_statement(filtered, track_id is not None, lateral),
        {**params, "track_id": track_id, "limit": window.size, "offset": window.offset},
    ).all()
    tracks_by_id = {r.id: r for r in track_rows}
    listed: dict[int, list[GroupWeek]] = defaultdict(list)
    cells_by_track: dict[int, list[list[SessionEntry]]] = {}
    track_tallies: dict[int, Any] = {}
    people: dict[int, str] = {}
    seen_groups: set[int] = set()
    for r in page_rows:
        track = tracks_by_id[r.track_id]
        if r.group_id not in seen_groups:
            seen_groups.add(r.group_id)
            listed[r.track_id].append(GroupWeek(r.group_id, r.group_name, _figures_of(r, track, phase)))
            track_tallies[r.track_id] = _Tally(r.t_minutes, r.t_days, r.t_held_minutes, r.t_held_days)
            if r.usual_id is not None:
                people[r.usual_id] = r.usual_name
        if r.id is None:
            continue
        entry = _entry(r, track_id=r.track_id, clash=bool(r.clash))
        if entry.facilitator_id is not None:
            people[entry.facilitator_id] = entry.facilitator_name
        cells = cells_by_track.setdefault(r.track_id, [[] for _ in days])
        cells[(entry.starts_at.date() - monday).days].append(entry)

    # 3. The clashes involving the page's groups: counted up to the cap, the first listed.
    # Asked even when the week has none, so the page runs the same statements every week.
    clashes, clash_count = [], 0
    if seen_groups:
        page_params = {**params, "page_ids": sorted(seen_groups), "offset": 0}
        clash_count = int(db.session.scalar(_page_clash_count_statement(filtered, lateral),
                                            {**page_params, "limit": CLASH_COUNT_CAP + 1}) or 0)
        clashes = _clashes({**page_params, "limit": MAX_LISTED_CLASHES}, filtered, of_page=True)

    # 4. The facilitator filtered by, named even when none of their sessions is on the page.
    if filtered:
        name = db.session.scalar(sa.select(StaffUser.full_name).where(StaffUser.id == facilitator_id))
        if name is not None:
            people[facilitator_id] = name

    plan_rows = []
    for r in shown_tracks:
        groups = listed.get(r.id, [])
        # A track is shown with its groups on this page; one without any group this week
        # (nothing planned) on the first page, unless the facilitator filter hides its groups.
        if not groups and ((r.pageable or 0) or window.number != 1 or filtered):
            continue
        plan_rows.append(TrackWeek(
            track_id=r.id, code=r.code, name=r.name, care_level=r.care_level,
            days=cells_by_track.get(r.id) or [[] for _ in days],
            figures=_figures_of(track_tallies.get(r.id, _NO_TALLY), r, phase),
            groups=groups, group_count=int(r.pageable or 0),
            short_count=sum(1 for g in groups if g.figures.short),
        ))
    return WeekPlan(week_start=monday, days=days, tracks=plan_rows, clashes=clashes,
                    clash_count=min(clash_count, CLASH_COUNT_CAP),
                    clash_count_capped=clash_count > CLASH_COUNT_CAP,
                    facilitator_id=facilitator_id, phase=phase, track_id=track_id, window=window,
                    track_choices=[(r.id, r.name) for r in track_rows],
                    facilitator_choices=sorted(people.items(), key=lambda p: (p[1], p[0])))


_Tally = namedtuple("_Tally", "minutes days held_minutes held_days")
_NO_TALLY = _Tally(0, 0, 0, 0)


def _figures_of(tally, track, phase: str) -> Figures:
    """Figures from a row of SQL tallies (``minutes``, ``days``, ``held_*``) and a track's minimum."""
    return Figures(
        planned_minutes=int(tally.minutes or 0), planned_days=int(tally.days or 0),
        min_minutes=track.weekly_min_minutes or 0, min_days=track.weekly_min_days or 0,
        phase=phase, held_minutes=int(tally.held_minutes or 0), held_days=int(tally.held_days or 0),
    )


@dataclass(frozen=True)
class ClashPage:
    """One page of a week's clashes (the clashes page)."""

    week_start: date
    clashes: list[Clash]
    window: PageWindow
    facilitator_id: int | None = None

    @property
    def week_end(self) -> date:
        return self.week_start + timedelta(days=6)

    @property
    def previous_week(self) -> date:
        return self.week_start - timedelta(days=7)

    @property
    def next_week(self) -> date:
        return self.week_start + timedelta(days=7)


#: Clashes a page of the clashes page lists.
CLASHES_PAGE = 25


def week_clashes(week_start: date, facilitator_id: int | None = None, *, page=1,
                 size: int = CLASHES_PAGE) -> ClashPage:
    """Every clash of the week holding ``week_start``, ``size`` a page, in the planner's order
    (the later session's start, the earlier one's, facilitator before room). With
    ``facilitator_id`` only the clashes involving that facilitator. Two statements: the
    count, then the page."""
    monday = monday_of(week_start)
    filtered = facilitator_id is not None
    params = {**_week_params(monday), "facilitator_id": facilitator_id}
    total = int(db.session.scalar(_clash_count_statement(filtered), params) or 0)
    window = PageWindow.of(page, total, size)
    clashes = (_clashes({**params, "limit": window.size, "offset": window.offset}, filtered, of_page=False)
               if total else [])
    return ClashPage(week_start=monday, clashes=clashes, window=window, facilitator_id=facilitator_id)


def find_clashes(entries: Sequence[SessionEntry]) -> list[tuple[str, str, SessionEntry, SessionEntry]]:
    """Every pair of overlapping non-cancelled entries sharing a facilitator or a room, by
    plain pairwise comparison in Python: the definition the SQL above must agree with (the
    tests compare them)."""
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
    found.sort(key=lambda c: (c[3].starts_at, c[2].starts_at, c[0], c[2].id, c[3].id))
    return found


_ROW_FIELDS = ("id", "group_id", "group_name", "track_id", "starts_at", "duration_minutes",
               "facilitator_id", "facilitator_name", "room", "status", "series_id")
_Row = namedtuple("_Row", _ROW_FIELDS)


_STATUS_CSS = {"cancelled": " is-cancelled", "held": " is-held"}


def _entry(s, track_id: int | None = None, clash: bool = False) -> SessionEntry:
    ends_at = session_end(s)
    facilitator_name = s.facilitator_name or ""
    room = s.room or ""
    return SessionEntry(
        id=s.id,
        group_id=s.group_id,
        group_name=s.group_name,
        activity_name=getattr(s, "activity_name", None) or "",
        starts_at=s.starts_at,
        ends_at=ends_at,
        duration_minutes=s.duration_minutes,
        facilitator_id=s.facilitator_id,
        facilitator_name=facilitator_name,
        room=room,
        status=s.status,
        series_id=s.series_id,
        track_id=s.track_id if track_id is None else track_id,
        clash=clash,
        when=f"{s.starts_at:%H:%M}–{ends_at:%H:%M}",
        who=(facilitator_name or "No facilitator") + (f" · {room}" if room else ""),
        css=_STATUS_CSS.get(s.status, "") + (" is-clash" if clash else ""),
    )


def _is_facilitator():
    """Active staff who lead a group or a session."""
    # One probe per member of staff into the (facilitator, start) index, rather than
    # reading every session ever held to collect their facilitators.
    leads_group = sa.select(CareGroup.id).where(CareGroup.facilitator_id == StaffUser.id).exists()
    leads_session = sa.select(GroupSession.id).where(GroupSession.facilitator_id == StaffUser.id).exists()
    return sa.and_(StaffUser.is_active_account.is_(True), sa.or_(leads_group, leads_session))


def facilitators() -> list[StaffUser]:
    """Active staff who lead a group or a session: the choices of the planner's filter."""
    return list(db.session.scalars(sa.select(StaffUser).where(_is_facilitator()).order_by(StaffUser.full_name)))


#: The longest name search ``find_facilitators`` takes (a staff name is at most 120 characters).
NAME_SEARCH_LIMIT = 120


def find_facilitators(term: str, limit: int) -> list[tuple[int, str]]:
    """Up to ``limit`` facilitators (as ``facilitators``) whose name contains ``term``,
    ignoring case, by name: ``(id, full_name)``. One statement; it walks the staff by name
    (the (lower(name), id) index of migration 0027) until it has ``limit``, so a clinic of
    any size is searched without listing everyone. An empty ``term`` finds nobody."""
    term = (term or "").strip()[:NAME_SEARCH_LIMIT]
    if not term:
        return []
    rows = db.session.execute(
        sa.select(StaffUser.id, StaffUser.full_name)
        .where(_is_facilitator(), StaffUser.full_name.icontains(term, autoescape=True))
        .order_by(sa.func.lower(StaffUser.full_name), StaffUser.id)
        .limit(limit)
    )
    return [(row.id, row.full_name) for row in rows]


__all__ = [
    "CLASHES_PAGE",
    "CLASH_COUNT_CAP",
    "Clash",
    "ClashPage",
    "GROUPS_PAGE",
    "SessionEntry",
    "TrackWeek",
    "WeekPlan",
    "facilitators",
    "find_facilitators",
    "monday_of",
    "week_phase",
    "week_clashes",
    "week_plan",
]

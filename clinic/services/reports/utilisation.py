"""Utilisation: how the groups' sessions were used, per group and activity, over a period.

A row is a group and an activity (``GroupSession.group_id``, ``activity_id``; sessions with
no activity form the group's "no activity" row). Counted over the sessions starting in the
period (local clinic time, ``participation.session_day``):

- **held**, **cancelled**: sessions with that status;
- **not recorded**: sessions whose start has passed and that are still "planned" (nobody
  recorded them as held or cancelled); sessions still ahead are counted nowhere;
- **average attended**: attendance entries of held sessions with an attended status
  (``participation.ATTENDED_STATUSES``: present, late, left early) divided by the held
  sessions (a held session with nobody recorded counts as 0); **against capacity**: that
  average as a share of the group's capacity (its capacity today; groups keep no history of it);
- **no-show rate**: entries "absent" divided by all entries recorded in held sessions.
  "Excused" is not a no-show: it stays in the denominator and is counted apart;
- **minutes lost**: for entries "late" or "left early" in held sessions, the session's length
  minus the minutes attended, never below 0, added up.

Counselors see the sessions they facilitate (``access.session_filter``), admins and planners
all of them. A chosen track narrows to the groups of that track.

Four statements whatever the size of the clinic on the page: the number of (group, activity)
rows, one page of their keys in order, the figures of that page's keys only, and the totals
over every row. The files hold every row (two statements: the figures of every row, the totals).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from ...extensions import db
from ...models import Activity, Attendance, CareGroup, GroupSession
from ..access import sees_everyone, session_filter
from ..page_window import PageWindow
from ..participation import attended_status, midnight
from . import half_up, PAGE_SIZE, Column, Report, ReportFilters, Table, period_words

NO_ACTIVITY = "no activity"
#: Entries whose minutes short of the session's length are "lost".
LOSING_STATUSES = ("late", "left_early")
NO_SHOW_STATUS = "absent"


def _wanted(filters: ReportFilters, user: Any) -> list:
    start, end = filters.start, filters.end
    return [c for c in (
        GroupSession.starts_at >= midnight(start),
        GroupSession.starts_at < midnight(end + timedelta(days=1)),
        session_filter(user, GroupSession.id),
        CareGroup.track_id == filters.track_id if filters.track_id is not None else None,
    ) if c is not None]


def _entries(wanted: list, *narrowing):
    """Subquery: per session starting in the period (``wanted``: as the user may see them), its
    attendance entries counted once
    (attended, recorded, absent, excused, minutes lost), so the figures below read one row per
    session instead of one per entry (no DISTINCT over the entries)."""
    short = GroupSession.duration_minutes - Attendance.minutes_attended

    def count(*conditions):
        return sa.func.sum(sa.case((sa.and_(*conditions), 1), else_=0)) if conditions else sa.func.count()

    return (
        sa.select(
            GroupSession.id.label("session_id"),
            count(attended_status()).label("attended"),
            count().label("recorded"),
            count(Attendance.status == NO_SHOW_STATUS).label("absent"),
            count(Attendance.status == "excused").label("excused"),
            sa.func.sum(sa.case((sa.and_(Attendance.status.in_(LOSING_STATUSES), short > 0), short),
                                else_=0)).label("lost"),
        )
        .join(GroupSession, GroupSession.id == Attendance.session_id)
        .join(CareGroup, CareGroup.id == GroupSession.group_id)
        .where(*wanted, *narrowing)
        .group_by(GroupSession.id)
        .subquery("entries")
    )


def _figures(now: datetime, entries):
    """The aggregate columns over sessions (one row each) outer-joined to their ``entries``."""
    held = GroupSession.status == "held"

    def sessions_where(condition):
        return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)

    def entries_where(column):
        return sa.func.coalesce(sa.func.sum(sa.case((sa.and_(held, column.is_not(None)), column), else_=0)), 0)

    return (
        sessions_where(held).label("held"),
        sessions_where(GroupSession.status == "cancelled").label("cancelled"),
        sessions_where(sa.and_(GroupSession.status == "planned", GroupSession.starts_at < now)).label("unrecorded"),
        entries_where(entries.c.attended).label("attended"),
        entries_where(entries.c.recorded).label("recorded"),
        entries_where(entries.c.absent).label("absent"),
        entries_where(entries.c.excused).label("excused"),
        entries_where(entries.c.lost).label("lost"),
    )


def _ratio(part, whole) -> float | None:
    return part / whole if whole else None


def build(filters: ReportFilters, user: Any, *, now: datetime | None = None, everything: bool = False) -> Report:
    """Utilisation of ``filters.start`` to ``filters.end`` as ``user`` may see it; ``everything``:
    every row (the files), otherwise one page of rows (``filters.page``)."""
    now = now or datetime.now()
    wanted = _wanted(filters, user)
    joined = sa.select().select_from(GroupSession).join(CareGroup, CareGroup.id == GroupSession.group_id)
    keys = (GroupSession.group_id, GroupSession.activity_id)

    window = None
    key_filter = []
    if not everything:
        distinct_keys = joined.with_only_columns(*keys).where(*wanted).distinct().subquery()
        total = db.session.scalar(sa.select(sa.func.count()).select_from(distinct_keys))
        window = PageWindow.of(filters.page, int(total or 0), PAGE_SIZE)
        page_keys = db.session.execute(
            joined.with_only_columns(*keys, CareGroup.name, Activity.name)
            .outerjoin(Activity, Activity.id == GroupSession.activity_id)
            .where(*wanted)
            .group_by(*keys, CareGroup.name, Activity.name)
            .order_by(CareGroup.name, GroupSession.group_id, Activity.name.is_(None), Activity.name,
                      GroupSession.activity_id)
            .offset(window.offset).limit(window.size)
        ).all() if total else []
        key_filter = [sa.or_(*(
            sa.and_(GroupSession.group_id == g,
                    GroupSession.activity_id.is_(None) if a is None else GroupSession.activity_id == a)
            for g, a, _, _ in page_keys
        ))] if page_keys else [sa.false()]

    # The page's rows read the entries of the page's (group, activity) keys only.
    of_page = _entries(wanted, *key_filter)
    rows = db.session.execute(
        joined.with_only_columns(*keys, CareGroup.name.label("group_name"), Activity.name.label("activity_name"),
                                 CareGroup.capacity, *_figures(now, of_page))
        .outerjoin(Activity, Activity.id == GroupSession.activity_id)
        .outerjoin(of_page, of_page.c.session_id == GroupSession.id)
        .where(*wanted, *key_filter)
        .group_by(*keys, CareGroup.name, Activity.name, CareGroup.capacity)
        .order_by(CareGroup.name, GroupSession.group_id, Activity.name.is_(None), Activity.name,
                  GroupSession.activity_id)
    ).all() if key_filter != [sa.false()] else []
    entries = _entries(wanted)
    totals = db.session.execute(
        joined.with_only_columns(*_figures(now, entries)).outerjoin(entries, entries.c.session_id == GroupSession.id)
        .where(*wanted)
    ).one()

    columns = (Column("Group"), Column("Activity"), Column("Held", "int"), Column("Cancelled", "int"),
               Column("Past, not recorded", "int"), Column("Average attended per held session", "decimal"),
               Column("Capacity", "int"), Column("Average against capacity", "percent"),
               Column("Recorded in held sessions", "int"), Column("Absent", "int"), Column("Excused", "int"),
               Column("No-show rate", "percent"), Column("Minutes lost (late, left early)", "int"))
    table = Table("groups", "Per group and activity", columns, window=window, noun="row", paged=True,
                  empty="No sessions in the period.")
    for r in rows:
        average = _ratio(int(r.attended), int(r.held))
        table.rows.append((
            r.group_name, r.activity_name or NO_ACTIVITY, int(r.held), int(r.cancelled), int(r.unrecorded),
            half_up(average, 1) if average is not None else None, int(r.capacity),
            half_up(average / r.capacity, 2) if average is not None and r.capacity else None,
            int(r.recorded), int(r.absent), int(r.excused), _ratio(int(r.absent), int(r.recorded)),
            int(r.lost),
        ))
    if totals is not None and (int(totals.held) or int(totals.cancelled) or int(totals.unrecorded)):
        average = _ratio(int(totals.attended), int(totals.held))
        table.footer = ("All groups", "", int(totals.held), int(totals.cancelled), int(totals.unrecorded),
                        half_up(average, 1) if average is not None else None, None, None,
                        int(totals.recorded), int(totals.absent), int(totals.excused),
                        _ratio(int(totals.absent), int(totals.recorded)), int(totals.lost))
    notes = [
        "Sessions starting in the period. Held and cancelled as recorded; past, not recorded: the start has "
        "passed and the session is still planned (sessions still ahead are not counted).",
        "Average attended: entries present, late or left early in held sessions, per held session; against "
        "capacity: that average as a share of the group's capacity today.",
        "No-show rate: entries absent over every entry recorded in held sessions. Excused is not a no-show: "
        "it is counted apart and stays in the denominator.",
        "Minutes lost: for entries late or left early in held sessions, the session's length minus the "
        "minutes attended (never below 0), added up.",
    ]
    if not sees_everyone(user):
        notes.append("Your sessions only: the sessions you facilitate.")
    return Report(
        key="utilisation", title="Utilisation", period=period_words(filters.start, filters.end), notes=notes,
        tables=[table],
        filters={"from": filters.start.isoformat(), "to": filters.end.isoformat(),
                 **({"track": filters.track_id} if filters.track_id is not None else {})},
    )


__all__ = ["build", "NO_ACTIVITY"]

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
from sqlalchemy.ext.compiler import compiles

from ..extensions import db
from ..models import Activity, CareGroup, GroupSession, StaffUser
from .page_window import DEFAULT_SIZE, PageWindow

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


class ends_before(sa.sql.functions.FunctionElement):
    """``ends_before(starts_at, duration_minutes, cutoff)``: the session ends before ``cutoff``.

    Date arithmetic differs per database, so it is compiled per dialect (PostgreSQL
    interval arithmetic; SQLite Julian days).
    """

    type = sa.Boolean()
    name = "ends_before"
    inherit_cache = True


@compiles(ends_before)
def _ends_before_postgresql(element, compiler, **kw):
    starts, minutes, cutoff = (compiler.process(c, **kw) for c in element.clauses)
    return f"({starts} + {minutes} * interval '1 minute' < {cutoff})"


@compiles(ends_before, "sqlite")
def _ends_before_sqlite(element, compiler, **kw):
    starts, minutes, cutoff = (compiler.process(c, **kw) for c in element.clauses)
    return f"(julianday({starts}) + {minutes} / 1440.0 < julianday({cutoff}))"


def overdue_clause(now: datetime, hours: float):
    """A WHERE clause for sessions whose record is overdue at ``now`` (ended more than ``hours`` ago)."""
    cutoff = sa.literal(now - timedelta(hours=hours), sa.DateTime())
    return ends_before(GroupSession.starts_at, GroupSession.duration_minutes, cutoff)


#: How many of each facilitator's oldest records the Records to finish page shows; the
#: rest are one link away, on that facilitator's own paged list.
PER_FACILITATOR = 5


@dataclass
class FacilitatorRecords:
    """One facilitator's unfinished records: the counts of all, and some of them oldest first."""

    facilitator_id: int | None
    name: str
    count: int = 0
    not_recorded: int = 0
    overdue: int = 0
    #: The oldest few (the summary) or one page of them (the facilitator's list).
    sessions: list[UnfinishedSession] = field(default_factory=list)

    @property
    def unsigned(self) -> int:
        return self.count - self.not_recorded

    @property
    def more(self) -> int:
        """How many are not shown in ``sessions``."""
        return self.count - len(self.sessions)

    @property
    def key(self) -> str:
        """The facilitator as ``?facilitator=`` names it: the id, or ``none``."""
        return "none" if self.facilitator_id is None else str(self.facilitator_id)


def _facilitator_clause(facilitator_id: int | None):
    if facilitator_id is None:
        return GroupSession.facilitator_id.is_(None)
    return GroupSession.facilitator_id == facilitator_id


def _counts(now: datetime, hours: float, facilitator: tuple[int | None] | None = None
            ) -> dict[int | None, FacilitatorRecords]:
    """Per facilitator: how many unfinished, not recorded and overdue. One statement."""
    query = (
        sa.select(
            GroupSession.facilitator_id,
            StaffUser.full_name,
            sa.func.count().label("count"),
            sa.func.sum(sa.case((GroupSession.recorded_at.is_(None), 1), else_=0)).label("not_recorded"),
            sa.func.sum(sa.case((overdue_clause(now, hours), 1), else_=0)).label("overdue"),
        )
        .outerjoin(StaffUser, StaffUser.id == GroupSession.facilitator_id)
        .where(unfinished_clause(now))
        .group_by(GroupSession.facilitator_id, StaffUser.full_name)
    )
    if facilitator is not None:
        query = query.where(_facilitator_clause(facilitator[0]))
    groups = {}
    for row in db.session.execute(query):
        name = row.full_name if row.facilitator_id is not None else NO_FACILITATOR
        groups[row.facilitator_id] = FacilitatorRecords(
            row.facilitator_id, name, int(row.count), int(row.not_recorded or 0), int(row.overdue or 0))
    return groups


def _session_columns():
    return (
        GroupSession.id,
        GroupSession.starts_at,
        GroupSession.duration_minutes,
        GroupSession.room,
        GroupSession.recorded_at,
        GroupSession.facilitator_id,
        CareGroup.name.label("group_name"),
        Activity.name.label("activity_name"),
    )


def _joined(query):
    return (query.join(CareGroup, CareGroup.id == GroupSession.group_id)
            .outerjoin(Activity, Activity.id == GroupSession.activity_id))


def _session(row, now: datetime, hours: float) -> UnfinishedSession:
    ends_at = row.starts_at + timedelta(minutes=row.duration_minutes)
    return UnfinishedSession(
        id=row.id,
        starts_at=row.starts_at,
        ends_at=ends_at,
        group_name=row.group_name,
        activity_name=row.activity_name or "",
        room=row.room or "",
        record_state="recorded" if row.recorded_at is not None else "not recorded",
        due=due(ends_at, now, hours),
    )


def _order(groups) -> list[FacilitatorRecords]:
    return sorted(groups, key=lambda g: (g.facilitator_id is None, g.name.casefold(), g.facilitator_id or 0))


#: How many facilitators the Records to finish page shows at a time (by name).
FACILITATORS_PAGE = 10
#: Everyone's records to finish (and the overdue ones) are counted up to this many; beyond
#: it the page says "more than 1,000": the count costs the same in a clinic of any size.
COUNTED = 1000


@dataclass
class RecordsPage:
    """One page of the Records to finish summary, with the totals of every facilitator."""

    facilitators: list[FacilitatorRecords]
    window: PageWindow
    #: Unfinished and overdue records of everyone (not only the page's facilitators), each
    #: counted up to ``COUNTED``.
    total: int
    overdue: int
    #: True when there are more than ``total`` (or ``overdue``): counting stopped at ``COUNTED``.
    total_more: bool = False
    overdue_more: bool = False


def _oldest(groups: list[FacilitatorRecords], now: datetime, hours: float, per_facilitator: int) -> None:
    """Fill each group's ``sessions`` with its ``per_facilitator`` oldest, in one statement."""
    if not groups:
        return
    ids = [g.facilitator_id for g in groups if g.facilitator_id is not None]
    which = []
    if ids:
        which.append(GroupSession.facilitator_id.in_(ids))
    if any(g.facilitator_id is None for g in groups):
        which.append(GroupSession.facilitator_id.is_(None))
    rank = sa.func.row_number().over(
        partition_by=GroupSession.facilitator_id, order_by=(GroupSession.starts_at, GroupSession.id)
    ).label("rank")
    ranked = (_joined(sa.select(*_session_columns(), rank))
              .where(unfinished_clause(now), sa.or_(*which)).subquery())
    rows = db.session.execute(
        sa.select(ranked).where(ranked.c.rank <= per_facilitator)
        .order_by(ranked.c.starts_at, ranked.c.id)
    ).all()
    by_id = {g.facilitator_id: g for g in groups}
    for row in rows:
        group = by_id.get(row.facilitator_id)
        if group is not None:  # a session that became unfinished between the two statements
            group.sessions.append(_session(row, now, hours))


def records_to_finish(now: datetime, hours: float | None = None,
                      per_facilitator: int = PER_FACILITATOR) -> list[FacilitatorRecords]:
    """Every facilitator with unfinished sessions (by name, nobody's last): all the counts,
    and the ``per_facilitator`` oldest sessions (``more`` says how many are not shown).

    Two statements, whatever the number of sessions; it reads every unfinished session, so
    the page reads one page of facilitators instead (``records_to_finish_page``).
    """
    hours = due_hours() if hours is None else hours
    groups = _order(_counts(now, hours).values())
    _oldest(groups, now, hours, per_facilitator)
    return groups


def _capped_count(query, cap: int):
    """``count(*)`` of at most ``cap + 1`` rows of ``query``, as a scalar subquery."""
    return sa.select(sa.func.count()).select_from(query.limit(cap + 1).subquery()).scalar_subquery()


def _leads_unfinished(now: datetime):
    """Members of staff who facilitate an unfinished session (one probe of the partial
    (facilitator, start) index of migration 0024 each)."""
    return (sa.select(GroupSession.id)
            .where(GroupSession.facilitator_id == StaffUser.id, unfinished_clause(now)).exists())


def _by_name():
    """The facilitators' order: by name ignoring case, then id (the (lower(name), id) index of migration 0027)."""
    return (sa.func.lower(StaffUser.full_name), StaffUser.id)


def _page_sessions(staff_page, nobody: bool, now: datetime, hours: float, per_facilitator: int):
    """The ``per_facilitator`` oldest unfinished sessions of the facilitators ``staff_page``
    selects (their id, name and name key; and of nobody's, when ``nobody``), each with its
    facilitator's counts. One statement."""
    partition = GroupSession.facilitator_id
    windowed = (
        sa.func.row_number().over(partition_by=partition,
                                  order_by=(GroupSession.starts_at, GroupSession.id)).label("rank"),
        sa.func.count().over(partition_by=partition).label("count"),
        sa.func.sum(sa.case((GroupSession.recorded_at.is_(None), 1), else_=0)).over(
            partition_by=partition).label("not_recorded"),
        sa.func.sum(sa.case((overdue_clause(now, hours), 1), else_=0)).over(
            partition_by=partition).label("overdue"),
    )
    # The page's facilitators joined to their sessions (their names come with them), and
    # nobody's in a branch of their own rather than ``IN (...) OR IS NULL``: each reads only
    # its own sessions from the partial (facilitator, start) index.
    shown = staff_page.subquery()
    parts = [
        _joined(sa.select(*_session_columns(), shown.c.full_name.label("facilitator_name"),
                          shown.c.name_key, *windowed))
        .join(shown, shown.c.id == GroupSession.facilitator_id)
        .where(unfinished_clause(now))
    ]
    if nobody:
        parts.append(
            _joined(sa.select(*_session_columns(), sa.null().label("facilitator_name"), sa.null().label("name_key"),
                              *windowed))
            .where(unfinished_clause(now), GroupSession.facilitator_id.is_(None))
        )
    ranked = (parts[0] if len(parts) == 1 else sa.union_all(*parts)).subquery()
    return db.session.execute(
        sa.select(ranked).where(ranked.c.rank <= per_facilitator).order_by(ranked.c.starts_at, ranked.c.id)
    ).all()


def records_to_finish_page(now: datetime, page, hours: float | None = None,
                           per_facilitator: int = PER_FACILITATOR, size: int = FACILITATORS_PAGE) -> RecordsPage:
    """Page ``page`` of the facilitators with records to finish: ``size`` of them by name
    (nobody's sessions last), each with their counts and ``per_facilitator`` oldest sessions,
    and everyone's totals.

    Two statements whose work does not grow with the clinic: the totals are counted up to
    ``COUNTED`` and the facilitators up to ``PAGES_AHEAD`` pages past this one (walking the
    staff by name, one index probe each); then only the page's facilitators' sessions are read.
    """
    hours = due_hours() if hours is None else hours
    ahead = PageWindow.look_ahead(page, size)
    # Oldest first, so both counts walk the unsigned sessions' index and stop at the cap
    # (a bitmap scan would read every unsigned session of the clinic first).
    unfinished_ids = sa.select(GroupSession.id).where(unfinished_clause(now)).order_by(GroupSession.starts_at)
    leads = sa.select(StaffUser.id).where(_leads_unfinished(now))
    counts = db.session.execute(sa.select(
        _capped_count(unfinished_ids, COUNTED).label("total"),
        _capped_count(unfinished_ids.where(overdue_clause(now, hours)), COUNTED).label("overdue"),
        _capped_count(leads, ahead).label("staff"),
        sa.exists(unfinished_ids.where(GroupSession.facilitator_id.is_(None))).label("nobody"),
    )).one()
    staff, more = int(counts.staff), int(counts.staff) > ahead
    if more:
        window = PageWindow.of(page, ahead, size, more=True)
        nobody = False  # nobody's sessions come after every facilitator: further on
    else:
        window = PageWindow.of(page, staff + bool(counts.nobody), size)
        nobody = bool(counts.nobody) and window.offset <= staff < window.offset + window.size
    staff_page = (sa.select(StaffUser.id, StaffUser.full_name, sa.func.lower(StaffUser.full_name).label("name_key"))
                  .where(_leads_unfinished(now)).order_by(*_by_name()).offset(window.offset).limit(window.size))
    groups: dict[int | None, FacilitatorRecords] = {}
    keys: dict[int | None, str] = {}
    for row in _page_sessions(staff_page, nobody, now, hours, per_facilitator):
        group = groups.get(row.facilitator_id)
        if group is None:
            name = row.facilitator_name if row.facilitator_id is not None else NO_FACILITATOR
            group = groups[row.facilitator_id] = FacilitatorRecords(
                row.facilitator_id, name, int(row.count), int(row.not_recorded or 0), int(row.overdue or 0))
            keys[row.facilitator_id] = row.name_key or ""
        group.sessions.append(_session(row, now, hours))
    # The database's order (lower(name), id; nobody last), compared as it compares them.
    shown = sorted(groups.values(), key=lambda g: (g.facilitator_id is None, keys[g.facilitator_id].encode(),
                                                   g.facilitator_id or 0))
    total, overdue = int(counts.total), int(counts.overdue)
    return RecordsPage(shown, window, min(total, COUNTED), min(overdue, COUNTED),
                       total_more=total > COUNTED, overdue_more=overdue > COUNTED)


def facilitator_records(facilitator_id: int | None, now: datetime, page, hours: float | None = None,
                        size: int = DEFAULT_SIZE) -> tuple[FacilitatorRecords | None, PageWindow]:
    """One facilitator's unfinished sessions (``None``: those nobody facilitates), one page
    of ``size``, oldest first, with the counts of all of them. Two statements.

    ``(None, empty page)`` when the facilitator has nothing to finish.
    """
    hours = due_hours() if hours is None else hours
    group = _counts(now, hours, (facilitator_id,)).get(facilitator_id)
    if group is None:
        return None, PageWindow.of(1, 0, size)
    window = PageWindow.of(page, group.count, size)
    rows = db.session.execute(
        _joined(sa.select(*_session_columns()))
        .where(unfinished_clause(now), _facilitator_clause(facilitator_id))
        .order_by(GroupSession.starts_at, GroupSession.id)
        .offset(window.offset).limit(window.size)
    ).all()
    group.sessions = [_session(row, now, hours) for row in rows]
    return group, window


__all__ = [
    "COUNTED",
    "DEFAULT_DUE_HOURS",
    "NO_FACILITATOR",
    "PER_FACILITATOR",
    "RECORD_STATES",
    "Due",
    "FACILITATORS_PAGE",
    "FacilitatorRecords",
    "RecordsPage",
    "UnfinishedSession",
    "due",
    "due_hours",
    "facilitator_records",
    "overdue_clause",
    "record_state_clause",
    "record_state_label",
    "records_to_finish",
    "records_to_finish_page",
    "unfinished_clause",
]

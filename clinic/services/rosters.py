"""Who is where: a group's members and coming sessions, a track's groups and patients, the patient list.

Read-only figures for the pages where staff look for people. Each function loads what a
page needs in a fixed number of statements, whatever the number of rows, and decides
nothing by role itself: the caller passes the user and ``access`` says whose names they
may see (the others are counted, never named). Hours per week use the definitions of
``participation`` (offered: a member on the session's day, not cancelled, or with an
attendance entry; attended: ``ATTENDED_STATUSES``), never a second "offered" query.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from ..extensions import db
from ..models import (
    Activity,
    Attendance,
    CareGroup,
    Enrolment,
    GroupMembership,
    GroupSession,
    Patient,
    StaffUser,
    Track,
)
from .access import may_record, patient_filter, visible_patient_ids
from .membership import covers
from .page_window import PageWindow
from .participation import (
    attended_status,
    member_on_session_day,
    midnight,
    monday_of,
    not_cancelled,
    session_day,
)

#: How many coming sessions a group's page lists.
UPCOMING_SESSIONS = 8
#: How many of a track's patients its page lists at a time (alphabetically, by last name).
ROSTER_PAGE = 25
#: How many of a track's groups its page lists at a time (active first, by name).
GROUP_PAGE = 25


# A group's page ---------------------------------------------------------------------
@dataclass(frozen=True)
class Member:
    """A current member of a group, as the group's page shows them."""

    patient_id: int
    name: str
    since: date
    until: date | None
    track_name: str


@dataclass(frozen=True)
class ComingSession:
    """One of a group's next sessions."""

    session_id: int
    starts_at: datetime
    duration_minutes: int
    room: str
    facilitator: str
    activity: str
    status: str
    #: True when the viewer may open its record now (it has started and they may record it).
    recordable: bool


@dataclass
class GroupRoster:
    """A group's members today (only those the viewer may see by name) and coming sessions."""

    today: date
    members: list[Member] = field(default_factory=list)
    #: Members today the viewer may not see: counted, never named.
    hidden_members: int = 0
    #: Memberships that begin after today (a patient stepping down into the group, say).
    joining: list[Member] = field(default_factory=list)
    hidden_joining: int = 0
    sessions: list[ComingSession] = field(default_factory=list)

    @property
    def member_count(self) -> int:
        """Everyone in the group today."""
        return len(self.members) + self.hidden_members

    @property
    def patient_ids(self) -> list[int]:
        """The patients named on the page (for the view audit)."""
        return sorted({m.patient_id for m in self.members + self.joining})


def group_roster(group: CareGroup, user: Any, today: date | None = None,
                 now: datetime | None = None) -> GroupRoster:
    """The group's members on ``today`` (name, since, enrolment track), who joins later, and its next sessions.

    Members the user may not see are only counted. The track is the enrolment on the day
    the membership is in force (today, or its first day for those joining later). Sessions are the next
    ``UPCOMING_SESSIONS`` from the start of today (today's earlier ones included, so a
    session in progress can be recorded from here), cancelled ones shown as such.
    Four statements at most: members, visibility, sessions, and nothing per row.
    """
    today = today or date.today()
    now = now or datetime.now()
    rows = db.session.execute(
        sa.select(
            GroupMembership.patient_id,
            GroupMembership.start_date,
            GroupMembership.end_date,
            Patient.first_name,
            Patient.last_name,
            Track.name.label("track_name"),
        )
        .join(Patient, Patient.id == GroupMembership.patient_id)
        .outerjoin(Enrolment, sa.and_(
            Enrolment.patient_id == GroupMembership.patient_id,
            covers(Enrolment, sa.case((GroupMembership.start_date > today, GroupMembership.start_date),
                                      else_=sa.literal(today, sa.Date))),
        ))
        .outerjoin(Track, Track.id == Enrolment.track_id)
        .where(GroupMembership.group_id == group.id,
               sa.or_(covers(GroupMembership, today), GroupMembership.start_date > today))
        .order_by(GroupMembership.start_date > today, Patient.last_name, Patient.first_name, Patient.id)
    ).all()
    visible = visible_patient_ids(user, [r.patient_id for r in rows])
    result = GroupRoster(today=today)
    for r in rows:
        later = r.start_date > today
        if r.patient_id not in visible:
            if later:
                result.hidden_joining += 1
            else:
                result.hidden_members += 1
            continue
        (result.joining if later else result.members).append(Member(
            patient_id=r.patient_id, name=f"{r.first_name} {r.last_name}", since=r.start_date,
            until=r.end_date, track_name=r.track_name or "not enrolled",
        ))
    sessions = db.session.execute(
        sa.select(GroupSession, StaffUser.full_name, Activity.name)
        .outerjoin(StaffUser, StaffUser.id == GroupSession.facilitator_id)
        .outerjoin(Activity, Activity.id == GroupSession.activity_id)
        .where(GroupSession.group_id == group.id, GroupSession.starts_at >= midnight(today))
        .order_by(GroupSession.starts_at, GroupSession.id)
        .limit(UPCOMING_SESSIONS)
    ).all()
    for s, facilitator, activity in sessions:
        result.sessions.append(ComingSession(
            session_id=s.id, starts_at=s.starts_at, duration_minutes=s.duration_minutes, room=s.room or "",
            facilitator=facilitator or "", activity=activity or "", status=s.status,
            recordable=s.status != "cancelled" and s.starts_at <= now and may_record(user, s),
        ))
    return result


# A track's page ---------------------------------------------------------------------
@dataclass(frozen=True)
class GroupLine:
    """One of a track's groups with its members today."""

    group_id: int
    name: str
    facilitator: str
    room: str
    active: bool
    members: int
    capacity: int

    @property
    def full(self) -> bool:
        """No room left today."""
        return self.members >= self.capacity


@dataclass(frozen=True)
class WeekLine:
    """A patient enrolled in the track today, with this week's hours against the minimum."""

    patient_id: int
    name: str
    since: date
    counselor: str
    groups: tuple[str, ...]
    planned_minutes: int
    attended_minutes: int
    attended_days: int
    weekly_min_minutes: int
    weekly_min_days: int

    @property
    def planned_hours(self) -> float:
        return round(self.planned_minutes / 60, 1)

    @property
    def attended_hours(self) -> float:
        return round(self.attended_minutes / 60, 1)

    @property
    def planned_short(self) -> bool:
        """The sessions offered this week cannot reach the minimum, even if all are attended."""
        return self.planned_minutes < self.weekly_min_minutes

    @property
    def below_minimum(self) -> bool:
        """Attended hours or days are still below the track's minimum this week."""
        return self.attended_minutes < self.weekly_min_minutes or self.attended_days < self.weekly_min_days


@dataclass
class TrackRoster:
    """A track's groups and the patients enrolled in it today."""

    today: date
    week_start: date
    week_end: date
    weekly_min_minutes: int
    weekly_min_days: int
    #: One page of the track's groups (``group_window`` says which).
    groups: list[GroupLine] = field(default_factory=list)
    group_window: PageWindow = field(default_factory=lambda: PageWindow(1, 0, GROUP_PAGE))
    patients: list[WeekLine] = field(default_factory=list)
    #: Patients enrolled today the viewer may not see: counted, never named.
    hidden_patients: int = 0
    #: Everyone enrolled today (seen or not).
    enrolled: int = 0
    #: The name search narrowing ``patients`` ("" for none).
    term: str = ""
    #: Which page of the patients (the viewer may see, matching ``term``) ``patients`` is.
    window: PageWindow = field(default_factory=lambda: PageWindow(1, 0, ROSTER_PAGE))

    @property
    def min_hours(self) -> float:
        return round(self.weekly_min_minutes / 60, 1)

    @property
    def patient_ids(self) -> list[int]:
        """The patients named on the page (for the view audit)."""
        return [p.patient_id for p in self.patients]


def week_figures(who, week_start: date, *, now: datetime | None = None, offered: bool = True):
    """The week's participation figures per row of ``who``, as a subquery: the one home of them.

    ``who`` is a selectable with ``key`` (what the figures are per: a patient, an
    enrolment), ``patient_id``, and the days it covers, ``first_day`` and ``last_day``
    (NULL: unbounded). A session of the week counts for it when it is not cancelled, falls
    on a covered day, and the patient was a member of its group on its day or has an
    attendance entry for it (``participation``'s definitions). Columns:

    - ``key``; ``offered``: minutes of those sessions; ``minutes``: minutes attended
      (``ATTENDED_STATUSES``); ``days``: distinct days attended;
    - ``ahead``: minutes of those sessions starting from ``now`` with nothing recorded yet
      (0 without ``now``); ``reachable_days``: distinct days attended or still ahead.

    ``offered=False`` leaves out the membership pairs before ``now``: figures that need only
    what was attended (and what is ahead) then read the week's attendance and nothing more.
    Used by a track's week (``week_minutes``) and the hours report (``reports.hours``).
    """
    week_from = midnight(week_start)
    week_until = midnight(week_start + timedelta(days=7))
    in_week = sa.and_(not_cancelled(), GroupSession.starts_at >= week_from, GroupSession.starts_at < week_until)
    covered = sa.and_(sa.or_(who.c.first_day.is_(None), session_day() >= sa.func.date(who.c.first_day)),
                      sa.or_(who.c.last_day.is_(None), session_day() <= sa.func.date(who.c.last_day)))
    # Each (row, session) pair carries the session's length, day and start, so the week's
    # sessions are read once by their date index and never joined back to the whole table;
    # an attendance entry carries its own figures (read once), a membership none.
    attended = attended_status()
    sessions = (who.c.key.label("key"), GroupSession.id.label("session_id"),
                GroupSession.duration_minutes.label("length"), session_day().label("day"),
                GroupSession.starts_at.label("starts_at"))
    branches = [
        sa.select(*sessions, sa.case((attended, Attendance.minutes_attended), else_=0).label("minutes"),
                  sa.case((attended, 1), else_=0).label("came"), sa.literal(1).label("recorded"))
        .select_from(GroupSession)
        .join(Attendance, Attendance.session_id == GroupSession.id)
        .join(who, who.c.patient_id == Attendance.patient_id)
        .where(in_week, covered),
    ]
    if offered or now is not None:
        members = [in_week, covered] + ([] if offered else [GroupSession.starts_at >= now])
        branches.append(sa.select(*sessions, sa.literal(0).label("minutes"), sa.literal(0).label("came"),
                                  sa.literal(0).label("recorded"))
                        .select_from(GroupSession)
                        .join(GroupMembership, member_on_session_day())
                        .join(who, who.c.patient_id == GroupMembership.patient_id)
                        .where(*members))
    rows = (sa.union_all(*branches) if len(branches) > 1 else branches[0]).subquery()
    # One line per (row, session): a member with an entry is offered the session once.
    pairs = (
        sa.select(rows.c.key, rows.c.length, rows.c.day, rows.c.starts_at,
                  sa.func.sum(rows.c.minutes).label("minutes"), sa.func.max(rows.c.came).label("came"),
                  sa.func.max(rows.c.recorded).label("recorded"))
        .group_by(rows.c.key, rows.c.session_id, rows.c.length, rows.c.day, rows.c.starts_at)
        .subquery()
    )
    ahead = (sa.case((sa.and_(pairs.c.recorded == 0, pairs.c.starts_at >= now), pairs.c.length), else_=0)
             if now is not None else sa.literal(0))
    return (
        sa.select(
            pairs.c.key,
            sa.func.coalesce(sa.func.sum(pairs.c.length), 0).label("offered"),
            sa.func.coalesce(sa.func.sum(pairs.c.minutes), 0).label("minutes"),
            sa.func.count(sa.distinct(sa.case((pairs.c.came == 1, pairs.c.day)))).label("days"),
            sa.func.coalesce(sa.func.sum(ahead), 0).label("ahead"),
            sa.func.count(sa.distinct(sa.case((sa.or_(pairs.c.came == 1, ahead > 0), pairs.c.day))))
            .label("reachable_days"),
        )
        .group_by(pairs.c.key)
        .subquery()
    )


def week_minutes(patient_ids: list[int], week_start: date) -> dict[int, tuple[int, int, int]]:
    """Per patient: (minutes offered, minutes attended, days attended) in the week from ``week_start``.

    The same figures as ``participation.patient_figures`` (``minutes_offered_this_week``,
    ``minutes_this_week``, ``days_this_week``), for many patients in one statement
    (``week_figures``, every day of the week covered).
    """
    if not patient_ids:
        return {}
    who = (sa.select(Patient.id.label("key"), Patient.id.label("patient_id"),
                     sa.literal(None, sa.Date).label("first_day"), sa.literal(None, sa.Date).label("last_day"))
           .where(Patient.id.in_(patient_ids)).cte("who"))
    figures = week_figures(who, week_start)
    rows = db.session.execute(sa.select(figures.c.key, figures.c.offered, figures.c.minutes, figures.c.days)).all()
    return {pid: (int(planned), int(minutes), int(days)) for pid, planned, minutes, days in rows}


def _member_counts(group_ids, today: date) -> dict[int, int]:
    return dict(db.session.execute(
        sa.select(GroupMembership.group_id, sa.func.count(GroupMembership.id))
        .where(GroupMembership.group_id.in_(group_ids), covers(GroupMembership, today))
        .group_by(GroupMembership.group_id)
    ).all())


def track_groups(track_id: int, day: date, *, active_only: bool = False) -> list[GroupLine]:
    """The track's groups (active first, by name) with their members on ``day``; two statements."""
    groups = db.session.execute(
        sa.select(CareGroup.id, CareGroup.name, CareGroup.room, CareGroup.capacity, CareGroup.active,
                  StaffUser.full_name)
        .outerjoin(StaffUser, StaffUser.id == CareGroup.facilitator_id)
        .where(CareGroup.track_id == track_id, *([CareGroup.active.is_(True)] if active_only else []))
        .order_by(CareGroup.active.desc(), CareGroup.name)
    ).all()
    counts = _member_counts([g.id for g in groups], day) if groups else {}
    return [
        GroupLine(group_id=g.id, name=g.name, facilitator=g.full_name or "", room=g.room or "", active=g.active,
                  members=counts.get(g.id, 0), capacity=g.capacity)
        for g in groups
    ]


def track_group_page(track_id: int, day: date, page=1, size: int = GROUP_PAGE) -> tuple[list[GroupLine], PageWindow]:
    """One page of the track's groups (active first, by name, ``size`` a page) with their
    members on ``day``, and which page it is; a page past the end shows the last one.

    Two statements whatever the number of groups: their count, then the page with each
    group's members counted in SQL (a correlated count through the membership's group index).
    """
    total = db.session.scalar(sa.select(sa.func.count(CareGroup.id)).where(CareGroup.track_id == track_id)) or 0
    window = PageWindow.of(page, int(total), size)
    members = (
        sa.select(sa.func.count(GroupMembership.id))
        .where(GroupMembership.group_id == CareGroup.id, covers(GroupMembership, day))
        .correlate(CareGroup)
        .scalar_subquery()
    )
    rows = db.session.execute(
        sa.select(CareGroup.id, CareGroup.name, CareGroup.room, CareGroup.capacity, CareGroup.active,
                  StaffUser.full_name, members.label("members"))
        .outerjoin(StaffUser, StaffUser.id == CareGroup.facilitator_id)
        .where(CareGroup.track_id == track_id)
        .order_by(CareGroup.active.desc(), CareGroup.name, CareGroup.id)
        .offset(window.offset).limit(window.size)
    ).all() if total else []
    return [
        GroupLine(group_id=g.id, name=g.name, facilitator=g.full_name or "", room=g.room or "", active=g.active,
                  members=int(g.members or 0), capacity=g.capacity)
        for g in rows
    ], window


def name_matches(term: str):
    """A WHERE clause for patients whose first name, last name or full name contains ``term``
    (case-insensitive; ``%`` and ``_`` are plain characters)."""
    full = Patient.first_name + " " + Patient.last_name
    return sa.or_(*(column.icontains(term, autoescape=True)
                    for column in (Patient.first_name, Patient.last_name, full)))


def track_roster(track: Track, user: Any, today: date | None = None, *, page=1, term: str = "",
                 size: int = ROSTER_PAGE, group_page=1) -> TrackRoster:
    """One page of the track's groups (``group_page``: members today against capacity) and one page of the patients
    enrolled on ``today`` whom the viewer may see, by last name, narrowed to names
    containing ``term`` when given.

    Each patient comes with their primary counselor, their groups in the track today and
    this week's (Monday to Sunday) planned and attended hours and attended days against
    the track's weekly minimum, read for the shown page only. Six statements whatever the
    number of groups and patients; a page past the end shows the last one. The two pages
    are independent: paging the groups keeps the patients' page and search, and back.
    """
    today = today or date.today()
    term = (term or "").strip()
    week_start = monday_of(today)
    result = TrackRoster(
        today=today, week_start=week_start, week_end=week_start + timedelta(days=6),
        weekly_min_minutes=track.weekly_min_minutes or 0, weekly_min_days=track.weekly_min_days or 0, term=term,
    )
    result.groups, result.group_window = track_group_page(track.id, today, group_page)
    in_track = (Enrolment.track_id == track.id, covers(Enrolment, today))
    # The caseload filter on the enrolment's patient id: the counts read the track's current
    # enrolments through their partial index and join the patients only for a name search.
    visible = patient_filter(user, Enrolment.patient_id)
    wanted = [c for c in (visible, name_matches(term) if term else None) if c is not None]
    counted = sa.select(
        sa.func.count(),
        sa.func.coalesce(sa.func.sum(sa.case((visible, 1), else_=0)), 0) if visible is not None
        else sa.func.count(),
        sa.func.coalesce(sa.func.sum(sa.case((sa.and_(*wanted), 1), else_=0)), 0) if wanted
        else sa.func.count(),
    ).select_from(Enrolment)
    if term:
        counted = counted.join(Patient, Patient.id == Enrolment.patient_id)
    counts = db.session.execute(counted.where(*in_track)).one()
    result.enrolled = int(counts[0])
    result.hidden_patients = result.enrolled - int(counts[1])
    result.window = PageWindow.of(page, int(counts[2]), size)
    shown = db.session.execute(
        sa.select(Patient.id, Patient.first_name, Patient.last_name, Enrolment.start_date,
                  StaffUser.full_name.label("counselor"))
        .join(Enrolment, Enrolment.patient_id == Patient.id)
        .outerjoin(StaffUser, StaffUser.id == Enrolment.primary_counselor_id)
        .where(*in_track, *wanted)
        .order_by(Patient.last_name, Patient.first_name, Patient.id)
        .offset(result.window.offset).limit(result.window.size)
    ).all()
    ids = [r.id for r in shown]
    group_names: dict[int, list[str]] = defaultdict(list)
    if ids:
        for pid, name in db.session.execute(
            sa.select(GroupMembership.patient_id, CareGroup.name)
            .join(CareGroup, CareGroup.id == GroupMembership.group_id)
            .where(GroupMembership.patient_id.in_(ids), CareGroup.track_id == track.id,
                   covers(GroupMembership, today))
            .order_by(CareGroup.name)
        ):
            group_names[pid].append(name)
    figures = week_minutes(ids, week_start)
    for r in shown:
        planned, minutes, days = figures.get(r.id, (0, 0, 0))
        result.patients.append(WeekLine(
            patient_id=r.id, name=f"{r.first_name} {r.last_name}", since=r.start_date, counselor=r.counselor or "",
            groups=tuple(group_names[r.id]), planned_minutes=planned, attended_minutes=minutes, attended_days=days,
            weekly_min_minutes=result.weekly_min_minutes, weekly_min_days=result.weekly_min_days,
        ))
    return result


# The patient list -------------------------------------------------------------------
@dataclass(frozen=True)
class ListLine:
    """What the patient list shows beside a patient's name."""

    track: str = ""
    groups: tuple[str, ...] = ()
    counselor: str = ""
    #: The open enrolment's status, else the last one's (discharged, stepped down, …), else "not enrolled".
    status: str = "not enrolled"


def _status_label(status: str) -> str:
    return status.replace("_", " ")


def patient_list_lines(patient_ids: list[int], today: date | None = None) -> dict[int, ListLine]:
    """Track, groups today, primary counselor and enrolment status for each patient, in two statements.

    The track and counselor are those of the enrolment covering ``today`` (or, failing
    that, the patient's latest enrolment, whose status says how it ended).
    """
    today = today or date.today()
    if not patient_ids:
        return {}
    ranked = (
        sa.select(
            Enrolment.patient_id,
            Enrolment.status,
            Enrolment.start_date,
            Enrolment.end_date,
            Track.name.label("track_name"),
            StaffUser.full_name.label("counselor"),
        )
        .join(Track, Track.id == Enrolment.track_id)
        .outerjoin(StaffUser, StaffUser.id == Enrolment.primary_counselor_id)
        .where(Enrolment.patient_id.in_(patient_ids), Enrolment.start_date <= today)
        .order_by(Enrolment.patient_id, Enrolment.start_date.desc(), Enrolment.id.desc())
    )
    latest: dict[int, Any] = {}
    for row in db.session.execute(ranked):
        latest.setdefault(row.patient_id, row)
    groups: dict[int, list[str]] = defaultdict(list)
    for pid, name in db.session.execute(
        sa.select(GroupMembership.patient_id, CareGroup.name)
        .join(CareGroup, CareGroup.id == GroupMembership.group_id)
        .where(GroupMembership.patient_id.in_(patient_ids), covers(GroupMembership, today))
        .order_by(CareGroup.name)
    ):
        groups[pid].append(name)
    lines = {}
    for pid in patient_ids:
        row = latest.get(pid)
        if row is None:
            lines[pid] = ListLine(groups=tuple(groups[pid]))
            continue
        current = row.end_date is None or row.end_date >= today
        lines[pid] = ListLine(
            track=row.track_name if current else "",
            groups=tuple(groups[pid]),
            counselor=(row.counselor or "") if current else "",
            status=_status_label(row.status) if current else f"{_status_label(row.status)} ({row.track_name})",
        )
    return lines


def latest_enrolment_order(column: str):
    """A SQL expression sorting patients by their latest enrolment's track, counselor or status."""
    if column == "track":
        base = sa.select(Track.name).select_from(Enrolment).join(Track, Track.id == Enrolment.track_id)
    elif column == "counselor":
        base = (sa.select(StaffUser.full_name).select_from(Enrolment)
                .join(StaffUser, StaffUser.id == Enrolment.primary_counselor_id))
    else:
        base = sa.select(Enrolment.status)
    return (
        base.where(Enrolment.patient_id == Patient.id)
        .order_by(Enrolment.start_date.desc(), Enrolment.id.desc())
        .limit(1)
        .correlate(Patient)
        .scalar_subquery()
    )


__all__ = [
    "ComingSession",
    "GROUP_PAGE",
    "GroupLine",
    "GroupRoster",
    "ListLine",
    "Member",
    "ROSTER_PAGE",
    "TrackRoster",
    "UPCOMING_SESSIONS",
    "WeekLine",
    "latest_enrolment_order",
    "name_matches",
    "group_roster",
    "patient_list_lines",
    "track_group_page",
    "track_groups",
    "track_roster",
    "week_figures",
    "week_minutes",
]

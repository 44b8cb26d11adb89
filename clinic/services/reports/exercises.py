"""Exercises: per kindness exercise and track, how the assignments went over a period, and the
kindness dose per track against the weekly target.

**Which track.** Work counts in the track the patient was in when it was done: a check-in
in the track of the patient's enrolment covering the check-in's day; an assignment in the
track of the enrolment covering the first day it ran in the period (its start, or the
period's first day if it began earlier); a week of the dose in the track of the enrolment
covering its Monday. A patient who moved from partial hospitalisation to IOP has their
earlier check-ins under the first and the later ones under the second, as a manager
reading "per track" expects. Where two enrolments cover the day (a step-down on that day)
the one begun last counts (as ``measures.enrolment_on``); work on a day with no enrolment
counts under "Not enrolled".

Per exercise and track:

- **assignments**: those that ran during the period as far as the record tells
  (``period_progress.ran_during``: started by its end and checked in during it, or started
  in it, or still active or paused and not due before it), the patients holding them, and
  how many of them have **no check-in** in the period (they count, they never vanish);
- **check-ins** dated in the period, by outcome: done, partly, not done;
- **average mood change**: mood after minus mood before, averaged over the check-ins that
  have both.

The **kindness dose** per track, with the definitions of ``kindness_dose`` (an act is a
check-in with the outcome ``kindness_dose.ACT_OUTCOME``, "done", of any kindness exercise,
counted on the day it is for; the target is ``kindness_dose.target()``, judged by
``Target.verdict``): over the whole weeks (Monday to Sunday) inside the period that are
over, each **patient-week** of a patient enrolled on its Monday and its Sunday who holds an
assignment begun by its Monday (weeks before the first exercise are not judged, as on the
patient page) that was active or paused and not due before the Monday, or checked in during
the week. A patient-week with no check-in counts as 0 acts. Shown: patients, patient-weeks,
acts per patient per week, weeks below, within and above the target, and the share within
or above.

Counselors see their caseload (``access.patient_filter``). Four statements whatever the size
of the clinic: the tracks, the assignments grouped by exercise and track, the check-ins
grouped likewise, and the patient-weeks grouped by track and number of acts.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm

from ...extensions import db
from ...models import Assignment, Enrolment, ExerciseCheckin, KindnessExercise, Track
from ..access import patient_filter, sees_everyone
from ..kindness_dose import ACT_OUTCOME, target
from ..membership import covers
from ..participation import monday_of
from . import half_up, Column, Report, ReportFilters, Table, period_words

NOT_ENROLLED = "Not enrolled"


def track_on(patient_id, day):
    """SQL: the track of the patient's enrolment covering ``day`` (the one begun last), or NULL."""
    return (
        sa.select(Enrolment.track_id)
        .where(Enrolment.patient_id == patient_id, covers(Enrolment, day))
        .order_by(Enrolment.start_date.desc(), Enrolment.id.desc())
        .limit(1)
        .scalar_subquery()
    )


def judged_weeks(start: date, end: date, today: date) -> list[tuple[date, date]]:
    """(Monday, Sunday) of the whole weeks inside ``start`` to ``end`` that are over by ``today``."""
    monday = monday_of(start)
    if monday < start:
        monday += timedelta(days=7)
    weeks = []
    while monday + timedelta(days=6) <= min(end, today):
        weeks.append((monday, monday + timedelta(days=6)))
        monday += timedelta(days=7)
    return weeks


class InForce:
    """The enrolment in force on a day, for rows read once: an outer join of the rows to the
    patient's enrolments covering their day (a range join, not a subquery per row), less the
    rows whose enrolment is beaten that day by one begun later that covers it too (as
    ``track_on``: the one begun last counts).

    Only the enrolments in force on some day of ``start`` to ``end`` are read, enough for the
    days of that period, the only ones asked about.
    """

    def __init__(self, start: date, end: date, user: Any):
        self.start, self.end, self.user = start, end, user

    def overlapping(self, model) -> tuple:
        """The enrolments in force on some day of the period, of the patients the user may see."""
        return (model.start_date <= self.end, sa.or_(model.end_date.is_(None), model.end_date >= self.start),
                *(c for c in (patient_filter(self.user, model.patient_id),) if c is not None))

    def beaten(self, name: str):
        """Subquery (loser_id, first, last): the days (``last`` NULL: open) on which the enrolment
        ``loser_id`` is in force and another one begun later (or the same day, with a higher id) too."""
        e1, e2 = sa.orm.aliased(Enrolment), sa.orm.aliased(Enrolment)
        last = sa.case((e1.end_date.is_(None), e2.end_date), (e2.end_date.is_(None), e1.end_date),
                       (e1.end_date <= e2.end_date, e1.end_date), else_=e2.end_date)
        return (
            sa.select(e1.id.label("loser_id"), e2.start_date.label("first"), last.label("last"))
            .join(e2, sa.and_(e2.patient_id == e1.patient_id,
                              sa.or_(e2.start_date > e1.start_date,
                                     sa.and_(e2.start_date == e1.start_date, e2.id > e1.id)),
                              sa.or_(e1.end_date.is_(None), e1.end_date >= e2.start_date)))
            .where(*self.overlapping(e1), *self.overlapping(e2))
            .subquery(name)
        )

    def join(self, query, patient_id, day, name: str, outer: bool = True):
        """``query`` joined to the enrolment in force for ``patient_id`` on ``day`` (outer: rows with
        none stay, with NULL), and that enrolment's track."""
        enrolment = sa.orm.aliased(Enrolment, name=f"{name}_enrolment")
        beaten = self.beaten(f"{name}_beaten")
        covering = sa.and_(enrolment.patient_id == patient_id, covers(enrolment, day), *self.overlapping(enrolment))
        query = (query.outerjoin(enrolment, covering) if outer else query.join(enrolment, covering))
        query = (query.outerjoin(beaten, sa.and_(beaten.c.loser_id == enrolment.id, beaten.c.first <= day,
                                                 sa.or_(beaten.c.last.is_(None), beaten.c.last >= day)))
                 .where(beaten.c.loser_id.is_(None)))
        return query, enrolment.track_id


def _ran(start: date, end: date, checked, scope: list):
    """Subquery of the ids of the assignments that ran during ``start`` to ``end``
    (``period_progress.ran_during``), as one part per way of having run, each read by an index:
    checked in during the period (``checked``: their ids), started in it, or active or paused
    and not due before it (and started by its end)."""
    return sa.union(
        sa.select(checked.c.assignment_id.label("id")),
        sa.select(Assignment.id).where(Assignment.start_date >= start, Assignment.start_date <= end, *scope),
        sa.select(Assignment.id).where(Assignment.status.in_(("active", "paused")), Assignment.start_date <= end,
                                       sa.or_(Assignment.due_date.is_(None), Assignment.due_date >= start), *scope),
    ).subquery("ran_ids")


def _dose(weeks: list[tuple[date, date]], scope: list, track_id: int | None, in_force: InForce):
    """(track, acts, patient-weeks) and (track, -1, patients) rows, one statement."""
    table = sa.union_all(*(sa.select(sa.literal(m, sa.Date).label("monday"), sa.literal(s, sa.Date).label("sunday"))
                           for m, s in weeks)).cte("weeks")
    first, last = weeks[0][0], weeks[-1][1]
    # The check-ins of the judged weeks, per assignment and week, with their acts: read once.
    week_checkins = (
        sa.select(ExerciseCheckin.assignment_id, Assignment.patient_id, Assignment.start_date, table.c.monday,
                  table.c.sunday,
                  sa.func.sum(sa.case((ExerciseCheckin.outcome == ACT_OUTCOME, 1), else_=0)).label("acts"))
        .join(table, sa.and_(ExerciseCheckin.on_date >= table.c.monday, ExerciseCheckin.on_date <= table.c.sunday))
        .join(Assignment, Assignment.id == ExerciseCheckin.assignment_id)
        .where(ExerciseCheckin.on_date >= first, ExerciseCheckin.on_date <= last, *scope)
        .group_by(ExerciseCheckin.assignment_id, Assignment.patient_id, Assignment.start_date, table.c.monday,
                  table.c.sunday)
        .cte("week_checkins")
    )
    # A patient-week is held by an assignment begun by the Monday that was active or paused and
    # not due before it, or checked in during the week (either implies it ran in the weeks).
    held = sa.union(
        sa.select(Assignment.patient_id, table.c.monday, table.c.sunday)
        .join(table, Assignment.start_date <= table.c.monday)
        .where(Assignment.status.in_(("active", "paused")), Assignment.start_date <= last,
               sa.or_(Assignment.due_date.is_(None), Assignment.due_date >= table.c.monday), *scope),
        sa.select(week_checkins.c.patient_id, week_checkins.c.monday, week_checkins.c.sunday)
        .where(week_checkins.c.start_date <= week_checkins.c.monday),
    ).subquery("held")
    acts = (
        sa.select(week_checkins.c.patient_id, week_checkins.c.monday, sa.func.sum(week_checkins.c.acts).label("acts"))
        .group_by(week_checkins.c.patient_id, week_checkins.c.monday)
        .subquery("acts")
    )
    enrolled_sunday = sa.exists().where(Enrolment.patient_id == held.c.patient_id,
                                        covers(Enrolment, held.c.sunday))
    per_week, monday_track = in_force.join(
        sa.select().select_from(held), held.c.patient_id, held.c.monday, "monday", outer=False)
    per_week = (
        per_week.add_columns(monday_track.label("track_id"), held.c.patient_id,
                             sa.func.coalesce(acts.c.acts, 0).label("acts"))
        .outerjoin(acts, sa.and_(acts.c.patient_id == held.c.patient_id, acts.c.monday == held.c.monday))
        .where(enrolled_sunday, *((monday_track == track_id,) if track_id is not None else ()))
        .cte("per_week")
    )
    return db.session.execute(sa.union_all(
        sa.select(per_week.c.track_id, per_week.c.acts, sa.func.count().label("number"))
        .group_by(per_week.c.track_id, per_week.c.acts),
        sa.select(per_week.c.track_id, sa.literal(-1).label("acts"),
                  sa.func.count(sa.distinct(per_week.c.patient_id)).label("number"))
        .group_by(per_week.c.track_id),
    )).all()


def build(filters: ReportFilters, user: Any, *, today: date | None = None) -> Report:
    """The exercises of ``filters.start`` to ``filters.end`` (one track or all) as ``user`` may see them."""
    today = today or date.today()
    start, end = filters.start, filters.end
    scope = [c for c in (patient_filter(user, Assignment.patient_id),) if c is not None]
    track_query = sa.select(Track.id, Track.name).order_by(Track.care_level, Track.name, Track.id)
    if filters.track_id is not None:
        track_query = track_query.where(Track.id == filters.track_id)
    tracks = db.session.execute(track_query).all()
    order = {t.id: n for n, t in enumerate(tracks)}
    names = {t.id: t.name for t in tracks}

    def narrowed(column):
        return (column == filters.track_id,) if filters.track_id is not None else ()

    # Assignments that ran in the period, in the track of their first day in it.
    checked = sa.select(ExerciseCheckin.assignment_id).where(ExerciseCheckin.on_date >= start,
                                                             ExerciseCheckin.on_date <= end, *scope)
    if scope:  # a caseload: its assignments' check-ins, reached through them
        checked = checked.join(Assignment, Assignment.id == ExerciseCheckin.assignment_id)
    checked = checked.distinct().cte("checked")
    ran_ids = _ran(start, end, checked, scope)
    in_force = InForce(start, end, user)
    first_day = sa.case((Assignment.start_date > start, Assignment.start_date), else_=sa.literal(start, sa.Date))
    ran, track = in_force.join(
        sa.select().select_from(ran_ids).join(Assignment, Assignment.id == ran_ids.c.id)
        .outerjoin(checked, checked.c.assignment_id == Assignment.id),
        Assignment.patient_id, first_day, "first_day")
    ran = (
        ran.add_columns(Assignment.exercise_id, Assignment.patient_id, track.label("track_id"),
                        sa.case((checked.c.assignment_id.is_not(None), 1), else_=0).label("checked"))
        .where(Assignment.start_date <= end, *scope)
        .subquery()
    )
    grouped = (
        sa.select(ran.c.exercise_id, ran.c.track_id, sa.func.count().label("assignments"),
                  sa.func.count(sa.distinct(ran.c.patient_id)).label("patients"),
                  sa.func.sum(1 - ran.c.checked).label("unchecked"))
        .where(*narrowed(ran.c.track_id))
        .group_by(ran.c.exercise_id, ran.c.track_id)
        .subquery()
    )
    assigned = {(r.exercise_id, r.track_id): r for r in db.session.execute(
        sa.select(grouped, KindnessExercise.title).join(KindnessExercise, KindnessExercise.id == grouped.c.exercise_id)
    )}
    # Check-ins of the period, in the track of their day.
    both = sa.and_(ExerciseCheckin.mood_before.is_not(None), ExerciseCheckin.mood_after.is_not(None))
    done, track = in_force.join(
        sa.select().select_from(ExerciseCheckin).join(Assignment, Assignment.id == ExerciseCheckin.assignment_id),
        Assignment.patient_id, ExerciseCheckin.on_date, "day")
    done = (
        done.add_columns(Assignment.exercise_id, ExerciseCheckin.outcome, track.label("track_id"),
                         sa.case((both, ExerciseCheckin.mood_after - ExerciseCheckin.mood_before)).label("change"))
        .where(ExerciseCheckin.on_date >= start, ExerciseCheckin.on_date <= end, *scope)
        .subquery()
    )

    def outcome(name):
        return sa.func.sum(sa.case((done.c.outcome == name, 1), else_=0)).label(name)

    counted = (
        sa.select(done.c.exercise_id, done.c.track_id, outcome("done"), outcome("partly"),
                  outcome("not_done"), sa.func.count(done.c.change).label("moods"),
                  sa.func.sum(done.c.change).label("change"))
        .where(*narrowed(done.c.track_id))
        .group_by(done.c.exercise_id, done.c.track_id)
        .subquery()
    )
    checkins = {(r.exercise_id, r.track_id): r for r in db.session.execute(
        sa.select(counted, KindnessExercise.title).join(KindnessExercise, KindnessExercise.id == counted.c.exercise_id)
    )}

    table = Table(
        "exercises", "Per exercise and track",
        (Column("Exercise"), Column("Track"), Column("Assignments", "int"), Column("Patients", "int"),
         Column("Assignments with no check-in in the period", "int"), Column("Check-ins done", "int"),
         Column("Partly", "int"), Column("Not done", "int"), Column("Check-ins with both moods", "int"),
         Column("Average mood change (after − before)", "decimal")),
        empty="No exercise was assigned or checked in during the period.",
    )
    keys = sorted(set(assigned) | set(checkins),
                  key=lambda k: ((assigned.get(k) or checkins.get(k)).title, order.get(k[1], len(order)), k))
    for key in keys:
        a, c = assigned.get(key), checkins.get(key)
        moods = int(c.moods) if c else 0
        table.rows.append((
            (a or c).title, names.get(key[1], NOT_ENROLLED),
            int(a.assignments) if a else 0, int(a.patients) if a else 0, int(a.unchecked or 0) if a else 0,
            int(c.done or 0) if c else 0, int(c.partly or 0) if c else 0, int(c.not_done or 0) if c else 0,
            moods, half_up(float(c.change) / moods, 1) if moods else None,
        ))

    goal = target()
    weeks = judged_weeks(start, end, today)
    dose_rows = _dose(weeks, scope, filters.track_id, in_force) if weeks else []
    per_track: dict[int, dict[str, int]] = {t.id: {"patients": 0, "weeks": 0, "acts": 0, "below": 0, "within": 0,
                                                   "above": 0} for t in tracks}
    for track_id, acts, number in dose_rows:
        if track_id not in per_track:
            continue
        figures = per_track[track_id]
        if acts == -1:
            figures["patients"] += int(number)
            continue
        figures["weeks"] += int(number)
        figures["acts"] += int(acts) * int(number)
        figures[goal.verdict(int(acts))] += int(number)
    dose = Table(
        "dose", f"Kindness dose per track (target {goal.text})",
        (Column("Track"), Column("Patients", "int"), Column("Patient-weeks", "int"), Column("Acts", "int"),
         Column("Acts per patient per week", "decimal"), Column("Weeks below target", "int"),
         Column("Weeks within target", "int"), Column("Weeks above target", "int"),
         Column("Share of weeks within or above target", "percent")),
        empty="There are no tracks.",
    )
    for t in tracks:
        f = per_track[t.id]
        dose.rows.append((t.name, f["patients"], f["weeks"], f["acts"],
                          half_up(f["acts"] / f["weeks"], 1) if f["weeks"] else None,
                          f["below"], f["within"], f["above"],
                          (f["within"] + f["above"]) / f["weeks"] if f["weeks"] else None))
    notes = [
        "Track: where the work was done. A check-in counts in the track of the patient's enrolment on its day, "
        "an assignment in the track of the enrolment on the first day it ran in the period; outside any "
        "enrolment: not enrolled.",
        "Assignments: those that ran during the period (started by its end, and checked in during it, started "
        "in it, or still active or paused and not due before it). Patients with an assignment and no check-in "
        "are counted, in the column of assignments with no check-in.",
        "Check-ins dated in the period by outcome. Mood change: mood after minus mood before, averaged over the "
        "check-ins with both.",
        f"Kindness dose: an act is a check-in done (partly is not an act). Target {goal.text}. Counted over "
        "the whole weeks (Monday to Sunday) inside the period that are over: each week of a patient enrolled on "
        "its Monday and Sunday, in the track of the Monday, holding an exercise begun by the Monday that was "
        "active or paused then or checked in during the week. A week with no check-in counts as 0 acts.",
    ]
    if not weeks:
        notes.append("No whole week inside the period is over yet: the kindness dose has no weeks to judge.")
    if not sees_everyone(user):
        notes.append("Your caseload only: patients you are responsible for today.")
    return Report(
        key="exercises", title="Exercises", period=period_words(start, end), notes=notes, tables=[table, dose],
        filters={"from": start.isoformat(), "to": end.isoformat(),
                 **({"track": filters.track_id} if filters.track_id is not None else {})},
    )


__all__ = ["NOT_ENROLLED", "build", "judged_weeks", "track_on"]

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

from ...extensions import db
from ...models import Assignment, Enrolment, ExerciseCheckin, KindnessExercise, Track
from ..access import patient_filter, sees_everyone
from ..kindness_dose import ACT_OUTCOME, target
from ..membership import covers
from ..participation import monday_of
from . import Column, Report, ReportFilters, Table, period_words

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


def _day_after(day):
    """SQL: the date after ``day`` (a date column), on PostgreSQL and SQLite."""
    if db.session.get_bind().dialect.name == "postgresql":
        return day + sa.literal(1)
    return sa.func.date(day, "+1 day")


def _spans(start: date, end: date):
    """CTE ``spans``: (patient_id, first, next, track_id), each patient's days from ``first`` up to
    ``next`` (excluded; NULL: open-ended) on which the same enrolments are in force, with the
    track of the one begun last (as ``track_on``); days covered by no enrolment have no span.

    Only the enrolments in force on some day of ``start`` to ``end`` are read, so the spans are
    right for the days of that period, the only ones asked about. The spans of a patient do
    not overlap: a day joins at most one of them, and a row read once per day it is about
    finds its track by a range join instead of a subquery per row.
    """
    overlapping = (Enrolment.start_date <= end, sa.or_(Enrolment.end_date.is_(None), Enrolment.end_date >= start))
    points = sa.union(
        sa.select(Enrolment.patient_id, Enrolment.start_date.label("day")).where(*overlapping),
        sa.select(Enrolment.patient_id, _day_after(Enrolment.end_date).label("day"))
        .where(*overlapping, Enrolment.end_date.is_not(None)),
    ).subquery("points")
    bounds = sa.select(
        points.c.patient_id, points.c.day.label("first"),
        sa.func.lead(points.c.day).over(partition_by=points.c.patient_id, order_by=points.c.day).label("next"),
    ).subquery("bounds")
    # The enrolments in force on a span's first day, among those read: on the days of the
    # period the same as among all of them.
    ranked = (
        sa.select(bounds.c.patient_id, bounds.c.first, bounds.c.next, Enrolment.track_id,
                  sa.func.row_number().over(partition_by=(bounds.c.patient_id, bounds.c.first),
                                            order_by=(Enrolment.start_date.desc(), Enrolment.id.desc())).label("n"))
        .join(Enrolment, sa.and_(Enrolment.patient_id == bounds.c.patient_id, covers(Enrolment, bounds.c.first)))
        .where(*overlapping)
        .subquery("ranked")
    )
    return (sa.select(ranked.c.patient_id, ranked.c.first, ranked.c.next, ranked.c.track_id)
            .where(ranked.c.n == 1).cte("spans"))


def _on(spans, patient_id, day):
    """SQL: the span of ``spans`` holds ``patient_id`` on ``day``."""
    return sa.and_(spans.c.patient_id == patient_id, spans.c.first <= day,
                   sa.or_(spans.c.next.is_(None), spans.c.next > day))


def _ran(start: date, end: date, checked):
    """Subquery of the ids of the assignments that ran during ``start`` to ``end``
    (``period_progress.ran_during``), as one part per way of having run, each read by an index:
    checked in during the period (``checked``: their ids), started in it, or active or paused
    and not due before it (and started by its end)."""
    return sa.union(
        sa.select(checked.c.assignment_id.label("id")),
        sa.select(Assignment.id).where(Assignment.start_date >= start, Assignment.start_date <= end),
        sa.select(Assignment.id).where(Assignment.status.in_(("active", "paused")), Assignment.start_date <= end,
                                       sa.or_(Assignment.due_date.is_(None), Assignment.due_date >= start)),
    ).subquery("ran_ids")


def _dose(weeks: list[tuple[date, date]], scope: list, track_id: int | None, spans):
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
    on_monday, on_sunday = spans.alias("on_monday"), spans.alias("on_sunday")
    per_week = (
        sa.select(on_monday.c.track_id, held.c.patient_id, sa.func.coalesce(acts.c.acts, 0).label("acts"))
        .select_from(held)
        .join(on_monday, _on(on_monday, held.c.patient_id, held.c.monday))
        .join(on_sunday, _on(on_sunday, held.c.patient_id, held.c.sunday))
        .outerjoin(acts, sa.and_(acts.c.patient_id == held.c.patient_id, acts.c.monday == held.c.monday))
        .where(*((on_monday.c.track_id == track_id,) if track_id is not None else ()))
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
    checked = (sa.select(ExerciseCheckin.assignment_id).where(ExerciseCheckin.on_date >= start,
                                                              ExerciseCheckin.on_date <= end)
               .distinct().cte("checked"))
    ran_ids = _ran(start, end, checked)
    spans = _spans(start, end)
    first_day = sa.case((Assignment.start_date > start, Assignment.start_date), else_=sa.literal(start, sa.Date))
    ran = (
        sa.select(Assignment.exercise_id, Assignment.patient_id, spans.c.track_id,
                  sa.case((checked.c.assignment_id.is_not(None), 1), else_=0).label("checked"))
        .select_from(ran_ids)
        .join(Assignment, Assignment.id == ran_ids.c.id)
        .outerjoin(checked, checked.c.assignment_id == Assignment.id)
        .outerjoin(spans, _on(spans, Assignment.patient_id, first_day))
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
    done = (
        sa.select(Assignment.exercise_id, ExerciseCheckin.outcome, spans.c.track_id,
                  sa.case((both, ExerciseCheckin.mood_after - ExerciseCheckin.mood_before)).label("change"))
        .join(Assignment, Assignment.id == ExerciseCheckin.assignment_id)
        .outerjoin(spans, _on(spans, Assignment.patient_id, ExerciseCheckin.on_date))
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
            moods, round(float(c.change) / moods, 1) if moods else None,
        ))

    goal = target()
    weeks = judged_weeks(start, end, today)
    dose_rows = _dose(weeks, scope, filters.track_id, spans) if weeks else []
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
                          round(f["acts"] / f["weeks"], 1) if f["weeks"] else None,
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

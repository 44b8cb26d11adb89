"""One or many patients' participation over a period (the progress sheets), in fourteen statements.

Builds the lines of ``period_lines`` from the definitions of ``participation``: a session
is offered when it is not cancelled, falls in the period on or before today and the
patient was a member of its group that day (or has an attendance entry for it).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from ..extensions import db
from ..models import (
    Activity,
    Assignment,
    Attendance,
    CareGroup,
    Enrolment,
    ExerciseCheckin,
    GroupMembership,
    GroupSession,
    KindnessExercise,
    Patient,
)
from . import measure_trend, safety, treatment_plan
from .chart import mood_chart, mood_days
from .kindness_dose import weekly_dose
from .participation import member_on_session_day, midnight, monday_of, not_cancelled
from .period_lines import ExerciseLine, MoodSummary, PatientProgress, SessionLine, TrackStep, WeekLine


# Loading, a fixed number of statements for any number of patients ---------------------
def _history(patient_ids: list[int]) -> dict[int, list[TrackStep]]:
    rows = db.session.scalars(
        sa.select(Enrolment)
        .where(Enrolment.patient_id.in_(patient_ids))
        .options(joinedload(Enrolment.track), joinedload(Enrolment.primary_counselor))
        .order_by(Enrolment.patient_id, Enrolment.start_date, Enrolment.id)
    )
    history: dict[int, list[TrackStep]] = defaultdict(list)
    for e in rows:
        history[e.patient_id].append(
            TrackStep(
                track_name=e.track.name,
                care_level=e.track.care_level,
                start_date=e.start_date,
                end_date=e.end_date,
                status=e.status,
                reason=e.end_reason or "",
                counselor=e.primary_counselor.full_name if e.primary_counselor else "",
                weekly_min_minutes=e.track.weekly_min_minutes or 0,
                weekly_min_days=e.track.weekly_min_days or 0,
            )
        )
    return history


def _sessions(patient_ids: list[int], start: date, end: date, today: date) -> dict[int, list[SessionLine]]:
    """Sessions offered (member on the day, not cancelled, up to today) or attended in the period."""
    offered_until = min(end, today)
    lines: dict[tuple[int, int], SessionLine] = {}
    if offered_until >= start:
        offered = db.session.execute(
            sa.select(
                GroupMembership.patient_id,
                GroupSession.id,
                GroupSession.starts_at,
                GroupSession.duration_minutes,
                GroupSession.recorded_at,
                CareGroup.name.label("group_name"),
                Activity.name.label("activity_name"),
            )
            .select_from(GroupSession)
            .join(GroupMembership, member_on_session_day())
            .join(CareGroup, CareGroup.id == GroupSession.group_id)
            .outerjoin(Activity, Activity.id == GroupSession.activity_id)
            .where(
                GroupMembership.patient_id.in_(patient_ids),
                not_cancelled(),
                GroupSession.starts_at >= midnight(start),
                GroupSession.starts_at < midnight(offered_until + timedelta(days=1)),
            )
        )
        for row in offered:
            lines[(row.patient_id, row.id)] = SessionLine(
                session_id=row.id,
                starts_at=row.starts_at,
                group_name=row.group_name,
                activity_name=row.activity_name or "",
                duration_minutes=row.duration_minutes,
                status="not_recorded" if row.recorded_at is None else "no_entry",
                minutes_attended=0,
                engagement=None,
                note="",
            )
    attended = db.session.execute(
        sa.select(
            Attendance.patient_id,
            GroupSession.id,
            GroupSession.starts_at,
            GroupSession.duration_minutes,
            CareGroup.name.label("group_name"),
            Activity.name.label("activity_name"),
            Attendance.status,
            Attendance.minutes_attended,
            Attendance.engagement,
            Attendance.note,
        )
        .select_from(Attendance)
        .join(GroupSession, GroupSession.id == Attendance.session_id)
        .join(CareGroup, CareGroup.id == GroupSession.group_id)
        .outerjoin(Activity, Activity.id == GroupSession.activity_id)
        .where(
            Attendance.patient_id.in_(patient_ids),
            not_cancelled(),
            GroupSession.starts_at >= midnight(start),
            GroupSession.starts_at < midnight(end + timedelta(days=1)),
        )
    )
    for row in attended:
        lines[(row.patient_id, row.id)] = SessionLine(
            session_id=row.id,
            starts_at=row.starts_at,
            group_name=row.group_name,
            activity_name=row.activity_name or "",
            duration_minutes=row.duration_minutes,
            status=row.status,
            minutes_attended=row.minutes_attended or 0,
            engagement=row.engagement,
            note=(row.note or "").strip(),
        )
    by_patient: dict[int, list[SessionLine]] = defaultdict(list)
    for (patient_id, _), line in lines.items():
        by_patient[patient_id].append(line)
    for patient_lines in by_patient.values():
        patient_lines.sort(key=lambda s: (s.starts_at, s.session_id))
    return by_patient


def _exercises(patient_ids: list[int], start: date, end: date) -> dict[int, list[ExerciseLine]]:
    """Every assignment of the patients with its check-in counts in the period."""
    in_period = sa.and_(ExerciseCheckin.on_date >= start, ExerciseCheckin.on_date <= end)

    def count(outcome: str):
        return sa.func.coalesce(
            sa.func.sum(sa.case((sa.and_(in_period, ExerciseCheckin.outcome == outcome), 1), else_=0)), 0
        )

    rows = db.session.execute(
        sa.select(
            Assignment.id,
            Assignment.patient_id,
            KindnessExercise.title,
            KindnessExercise.summary,
            Assignment.start_date,
            Assignment.due_date,
            Assignment.times_per_week,
            Assignment.status,
            Assignment.source,
            Assignment.exercise_id,
            count("done").label("done"),
            count("partly").label("partly"),
            count("not_done").label("not_done"),
        )
        .join(KindnessExercise, KindnessExercise.id == Assignment.exercise_id)
        .outerjoin(ExerciseCheckin, ExerciseCheckin.assignment_id == Assignment.id)
        .where(Assignment.patient_id.in_(patient_ids))
        .group_by(
            Assignment.id, Assignment.patient_id, KindnessExercise.title, KindnessExercise.summary,
            Assignment.start_date, Assignment.due_date, Assignment.times_per_week, Assignment.status,
            Assignment.source, Assignment.exercise_id,
        )
        .order_by(Assignment.patient_id, KindnessExercise.title, Assignment.start_date, Assignment.id)
    )
    result: dict[int, list[ExerciseLine]] = defaultdict(list)
    for row in rows:
        result[row.patient_id].append(
            ExerciseLine(
                assignment_id=row.id, title=row.title, summary=row.summary or "",
                start_date=row.start_date, due_date=row.due_date, times_per_week=row.times_per_week,
                status=row.status, source=row.source, done=int(row.done), partly=int(row.partly),
                not_done=int(row.not_done), exercise_id=row.exercise_id,
            )
        )
    return result


def _in_period(line: ExerciseLine, start: date, end: date) -> bool:
    """An assignment belongs on the sheet when it ran during the period as far as we can tell.

    It must have started by the end of the period, and have check-ins in the period,
    or have started within it, or still be active or paused and not be due before it.
    (A stopped assignment keeps no end date, so one with neither is left out.)
    ``ran_during`` is the same rule in SQL.
    """
    if line.start_date > end:
        return False
    if line.checkins or line.start_date >= start:
        return True
    return line.status in ("active", "paused") and (line.due_date is None or line.due_date >= start)


def ran_during(start: date, end: date):
    """SQL: an ``Assignment`` ran during ``start`` to ``end`` as far as we can tell: the rule of
    ``_in_period``, for set-based readers (the exercises report)."""
    checked_in = sa.exists().where(ExerciseCheckin.assignment_id == Assignment.id,
                                   ExerciseCheckin.on_date >= start, ExerciseCheckin.on_date <= end)
    return sa.and_(
        Assignment.start_date <= end,
        sa.or_(checked_in, Assignment.start_date >= start,
               sa.and_(Assignment.status.in_(("active", "paused")),
                       sa.or_(Assignment.due_date.is_(None), Assignment.due_date >= start))),
    )


def _current(line: ExerciseLine, today: date) -> bool:
    """An exercise the patient is working on now: active and not past its due date."""
    return line.status == "active" and (line.due_date is None or line.due_date >= today)


def _moods(patient_ids: list[int], start: date, end: date) -> dict[int, MoodSummary]:
    both = sa.and_(ExerciseCheckin.mood_before.is_not(None), ExerciseCheckin.mood_after.is_not(None))
    rows = db.session.execute(
        sa.select(
            Assignment.patient_id,
            sa.func.count(ExerciseCheckin.id).label("count"),
            sa.func.coalesce(sa.func.sum(ExerciseCheckin.mood_before), 0).label("before"),
            sa.func.coalesce(sa.func.sum(ExerciseCheckin.mood_after), 0).label("after"),
            sa.func.coalesce(
                sa.func.sum(sa.case((ExerciseCheckin.mood_after > ExerciseCheckin.mood_before, 1), else_=0)), 0
            ).label("lifted"),
        )
        .join(Assignment, Assignment.id == ExerciseCheckin.assignment_id)
        .where(
            Assignment.patient_id.in_(patient_ids),
            ExerciseCheckin.on_date >= start,
            ExerciseCheckin.on_date <= end,
            both,
        )
        .group_by(Assignment.patient_id)
    )
    return {
        row.patient_id: MoodSummary(int(row.count), int(row.before), int(row.after), int(row.lifted))
        for row in rows
    }


def _weeks(history: list[TrackStep], sessions: list[SessionLine], start: date, end: date,
           today: date) -> list[WeekLine]:
    weeks = []
    monday = monday_of(start)
    while monday <= end:
        sunday = monday + timedelta(days=6)
        first, last = max(monday, start), min(sunday, end)
        enrolment = next((e for e in reversed(history) if e.covers(last)), None) or next(
            (e for e in reversed(history) if e.covers(first)), None
        )
        in_week = [s for s in sessions if first <= s.day <= last]
        attended = [s for s in in_week if s.attended]
        partial = (
            first != monday or last != sunday or sunday > today
            or enrolment is None or not (enrolment.covers(monday) and enrolment.covers(sunday))
        )
        weeks.append(
            WeekLine(
                monday=monday, first=first, last=last,
                track_name=enrolment.track_name if enrolment else "",
                min_minutes=enrolment.weekly_min_minutes if enrolment else None,
                min_days=enrolment.weekly_min_days if enrolment else None,
                offered=len(in_week), attended=len(attended),
                offered_minutes=sum(s.duration_minutes for s in in_week),
                minutes=sum(s.minutes_attended for s in attended),
                days=len({s.day for s in attended}),
                partial=partial,
            )
        )
        monday += timedelta(days=7)
    return weeks


def period_progress(patients: list[Patient], start: date, end: date,
                  today: date | None = None) -> dict[int, PatientProgress]:
    """Each patient's progress over ``start`` to ``end``, by patient id, in fourteen statements.

    Sessions count as offered when they are not cancelled, fall in the period on or
    before ``today``, and the patient was a member of the group that day (or has an
    attendance entry for them). Attended means present, late or left early. Statements:
    enrolments, offered sessions, attendance rows, assignments with check-in counts,
    mood per day (the chart), the mood summary, the kindness dose's first exercise days,
    check-ins and connectedness ratings per week (``kindness_dose.weekly_dose``), the item 9
    safety tasks and the PHQ-9 / GAD-7 scores (``measure_trend.scores``).
    """
    today = today or date.today()
    ids = [p.id for p in patients]
    if not ids:
        return {}
    history = _history(ids)
    sessions = _sessions(ids, start, end, today)
    exercises = _exercises(ids, start, end)
    days = mood_days(ids, start, end)
    moods = _moods(ids, start, end)
    tasks = safety.period_tasks(ids, start, end)
    goals = treatment_plan.period_goals(ids, start, end)
    dose = weekly_dose(ids, start, end, today)
    # The PHQ-9 and GAD-7 scores up to the period's end (the staff sheet's trend charts).
    trend_end = min(end, today)
    measured = measure_trend.scores(ids, trend_end)
    result = {}
    for patient in patients:
        steps = history.get(patient.id, [])
        lines = sessions.get(patient.id, [])
        all_exercises = exercises.get(patient.id, [])
        result[patient.id] = PatientProgress(
            patient=patient,
            start=start,
            end=end,
            today=today,
            history=tuple(steps),
            sessions=tuple(lines),
            weeks=tuple(_weeks(steps, lines, start, end, today)),
            exercises=tuple(e for e in all_exercises if _in_period(e, start, end)),
            current_exercises=tuple(e for e in all_exercises if _current(e, today)),
            chart=mood_chart(days.get(patient.id, []), start, end, chart_id=f"mood-chart-{patient.id}"),
            mood=moods.get(patient.id, MoodSummary()),
            safety=tuple(tasks.get(patient.id, ())),
            goals=tuple(goals.get(patient.id, ())),
            dose=dose.get(patient.id, ()),
            trends=measure_trend.trends(patient.id, measured.get(patient.id, []), steps, trend_end),
        )
    return result


__all__ = ["period_progress", "ran_during"]

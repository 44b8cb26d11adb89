"""The kindness dose: acts of kindness done per ISO week against the weekly target, and the
weekly social-connectedness rating beside them.

The one home of these definitions; the patient page (``patient_dose``), the progress sheets
(``period_progress`` calls ``weekly_dose``) and the demo build on them, so they agree.

- An **act of kindness** is an exercise check-in with the outcome **done**, counted on the
  day it is for. An exercise whose direction is "others" gives an act for others, "self"
  an act for oneself; the two are shown apart and added up for the target.
- **Partly** is not an act: it is counted apart ("partly") and shown beside the acts, and
  it does not count towards the target. **Not done** counts nowhere. (The completion rate
  of ``participation`` still counts partly as a half: that figure is about effort on the
  exercises, this one about the number of acts.)
- A **week** runs Monday to Sunday (``participation.monday_of``). A week with nothing
  recorded shows 0, never a gap.
- The **target** is 3 to 5 acts a week (the programme's seed and the literature on
  kindness interventions), set by ``CLINIC_KINDNESS_WEEKLY_TARGET_MIN`` and ``_MAX``. The
  verdict says it plainly: **below target**, **within target** or **above target** (above
  is fine, not a warning). A week that is not over yet is "below" only once it is over: until
  then it reads "week not over yet"; a week cut by the edge of a printed period reads "part
  week" (within and above are said as soon as they are true). Weeks before the patient's
  first kindness exercise read "before the first exercise": nothing was asked of them then.
- **Connectedness**: one answer a week to "This week, how connected did you feel to other
  people?", 0 (not at all) to 10 (very), entered by staff (``record_connectedness``), one
  per patient and week (unique in the database), changed only with the version the form
  showed, audited like every row.

Three statements whatever the number of weeks, patients or check-ins: each patient's first
exercise day, the check-ins counted per patient, day, direction and outcome, and the ratings
of the weeks.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

import sqlalchemy as sa
from flask import current_app, has_app_context

from ..extensions import db
from ..models import (
    CONNECTEDNESS_MAX,
    CONNECTEDNESS_MIN,
    Assignment,
    ConnectednessRating,
    ExerciseCheckin,
    KindnessExercise,
)
from ..models._types import utcnow
from . import limits
from .access import may_see_patient
from .errors import RuleViolation
from .limits import FieldViolation
from .locking import UNCHECKED, add_unless_taken, check_optional_version, flush_unless_stale
from .participation import monday_of

#: The question staff ask once a week, and its scale.
QUESTION = "This week, how connected did you feel to other people?"
SCALE = f"{CONNECTEDNESS_MIN} = not at all connected, {CONNECTEDNESS_MAX} = very connected"
#: The weekly target when the settings do not say otherwise.
DEFAULT_TARGET_MIN = 3
DEFAULT_TARGET_MAX = 5
#: Weeks the patient page shows, the current one included.
PAGE_WEEKS = 6
#: The earliest week a rating may be entered for (a typo's year 0001 is refused, not stored).
EARLIEST_WEEK = date(2000, 1, 3)

#: The check-in outcome that is an act of kindness ("partly" and "not done" are not acts).
ACT_OUTCOME = "done"

NOT_YOURS = "You can record connectedness only for patients on your caseload."
VERDICT_LABELS = {"below": "below target", "within": "within target", "above": "above target"}


# The target ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Target:
    """The weekly target of acts of kindness, both ends included."""

    low: int = DEFAULT_TARGET_MIN
    high: int = DEFAULT_TARGET_MAX

    @property
    def text(self) -> str:
        """``3–5 acts a week`` (``3 acts a week`` when both ends are the same)."""
        span = str(self.low) if self.low == self.high else f"{self.low}–{self.high}"
        return f"{span} act{'s' if self.high != 1 else ''} a week"

    def verdict(self, acts: int) -> str:
        """``below``, ``within`` or ``above``: where ``acts`` in a whole week stand."""
        if acts < self.low:
            return "below"
        return "above" if acts > self.high else "within"


def target() -> Target:
    """The running app's target (``CLINIC_KINDNESS_WEEKLY_TARGET_MIN`` / ``_MAX``; 3 to 5 outside one)."""
    if not has_app_context():
        return Target()
    config = current_app.config
    return Target(int(config.get("CLINIC_KINDNESS_WEEKLY_TARGET_MIN", DEFAULT_TARGET_MIN)),
                  int(config.get("CLINIC_KINDNESS_WEEKLY_TARGET_MAX", DEFAULT_TARGET_MAX)))


# One week -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class DoseWeek:
    """One patient's ISO week: acts of kindness for others and for themselves, and connectedness."""

    monday: date
    #: The first and last day counted (the week, or its part inside a printed period).
    first: date
    last: date
    #: The day the figures are taken on: a week ending after it is not over yet.
    today: date
    target: Target = field(default_factory=Target)
    #: Check-ins done, by the direction of their exercise.
    for_others: int = 0
    for_self: int = 0
    #: Check-ins partly done (not acts) and not done.
    partly: int = 0
    not_done: int = 0
    #: The week's connectedness answer (0-10) and its row version, None when not entered.
    connectedness: int | None = None
    rating_version: int | None = None

    @property
    def acts(self) -> int:
        """Acts of kindness done in the week: for others and for oneself together."""
        return self.for_others + self.for_self

    @property
    def sunday(self) -> date:
        return self.monday + timedelta(days=6)

    @property
    def label(self) -> str:
        """The ISO week, ``2026-W11``."""
        year, week, _ = self.monday.isocalendar()
        return f"{year}-W{week:02d}"

    @property
    def over(self) -> bool:
        """True once the week's Sunday has come (it is counted as over on that Sunday)."""
        return self.sunday <= self.today

    @property
    def whole(self) -> bool:
        """True when every day of the week is counted (not cut by the edge of a period)."""
        return self.first == self.monday and self.last == self.sunday

    @property
    def before_start(self) -> bool:
        """True for a week that ended before the patient's first kindness exercise began."""
        return self.first > self.last

    @property
    def verdict(self) -> str | None:
        """``below``, ``within`` or ``above`` the target; None while "below" cannot be said yet
        (nor for a week before the first exercise: nothing was asked of the patient then)."""
        if self.before_start:
            return None
        verdict = self.target.verdict(self.acts)
        if verdict == "below" and not (self.over and self.whole):
            return None
        return verdict

    @property
    def verdict_label(self) -> str:
        """The verdict in words: below / within / above target, week not over yet, part week."""
        if self.verdict is not None:
            return VERDICT_LABELS[self.verdict]
        if self.before_start:
            return "before the first exercise"
        return "week not over yet" if not self.over else "part week"

    @property
    def version_text(self) -> str:
        """What a form carries for the week's rating: its version, or "new" when there is none."""
        return "new" if self.rating_version is None else str(self.rating_version)


# Loading ------------------------------------------------------------------------------------
def _checkins(patient_ids: list[int], start: date, end: date) -> dict[tuple[int, date], dict[str, int]]:
    """(patient, Monday) -> counts of "others", "self", "partly", "not_done": one statement."""
    rows = db.session.execute(
        sa.select(
            Assignment.patient_id,
            ExerciseCheckin.on_date,
            KindnessExercise.direction,
            ExerciseCheckin.outcome,
            sa.func.count(ExerciseCheckin.id).label("count"),
        )
        .join(Assignment, Assignment.id == ExerciseCheckin.assignment_id)
        .join(KindnessExercise, KindnessExercise.id == Assignment.exercise_id)
        .where(
            Assignment.patient_id.in_(patient_ids),
            ExerciseCheckin.on_date >= start,
            ExerciseCheckin.on_date <= end,
        )
        .group_by(Assignment.patient_id, ExerciseCheckin.on_date, KindnessExercise.direction, ExerciseCheckin.outcome)
    )
    counts: dict[tuple[int, date], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in rows:
        key = row.direction if row.outcome == ACT_OUTCOME else row.outcome
        counts[(row.patient_id, monday_of(row.on_date))][key] += int(row.count)
    return counts


def _ratings(patient_ids: list[int], first_monday: date, last_monday: date) -> dict[tuple[int, date], tuple[int, int]]:
    """(patient, Monday) -> (rating, version) of the weeks from ``first_monday`` to ``last_monday``."""
    rows = db.session.execute(
        sa.select(ConnectednessRating.patient_id, ConnectednessRating.week_start, ConnectednessRating.rating,
                  ConnectednessRating.version)
        .where(
            ConnectednessRating.patient_id.in_(patient_ids),
            ConnectednessRating.week_start >= first_monday,
            ConnectednessRating.week_start <= last_monday,
        )
    )
    return {(row.patient_id, row.week_start): (row.rating, row.version) for row in rows}


def _first_exercise_days(patient_ids: list[int]) -> dict[int, date]:
    """Patient -> the start of their first kindness exercise (any status): one statement."""
    rows = db.session.execute(
        sa.select(Assignment.patient_id, sa.func.min(Assignment.start_date))
        .where(Assignment.patient_id.in_(patient_ids))
        .group_by(Assignment.patient_id)
    )
    return {patient_id: first for patient_id, first in rows if first is not None}


def weekly_dose(patient_ids, start: date, end: date, today: date) -> dict[int, tuple[DoseWeek, ...]]:
    """Each patient's ISO weeks from the week of ``start`` to the week of ``end``, oldest first.

    Only the days from ``start`` to ``end`` are counted (a week cut by them is a part week),
    and only from the start of the patient's first kindness exercise: a week before it is
    shown as "before the first exercise", never as "below target", and the week in which the
    first exercise began is a part week. Every week is there, with zeros when nothing was
    recorded. Three statements, for any number of patients, weeks and check-ins.
    """
    ids = sorted({int(pid) for pid in patient_ids})
    if not ids or end < start:
        return {pid: () for pid in ids}
    goal = target()
    began = _first_exercise_days(ids)
    counts = _checkins(ids, start, end)
    ratings = _ratings(ids, monday_of(start), monday_of(end))
    result = {}
    for pid in ids:
        weeks = []
        monday = monday_of(start)
        while monday <= end:
            found = counts.get((pid, monday), {})
            rating, version = ratings.get((pid, monday), (None, None))
            weeks.append(DoseWeek(
                monday=monday, first=max(monday, start, began.get(pid, start)),
                last=min(monday + timedelta(days=6), end),
                today=today, target=goal, for_others=found.get("others", 0), for_self=found.get("self", 0),
                partly=found.get("partly", 0), not_done=found.get("not_done", 0),
                connectedness=rating, rating_version=version,
            ))
            monday += timedelta(days=7)
        result[pid] = tuple(weeks)
    return result


@dataclass(frozen=True)
class PageDose:
    """The patient page's "Kindness dose" block: the latest weeks, oldest first, and the question."""

    today: date
    target: Target
    weeks: tuple[DoseWeek, ...]
    question: str = QUESTION
    scale: str = SCALE
    low: int = CONNECTEDNESS_MIN
    high: int = CONNECTEDNESS_MAX

    @property
    def this_week(self) -> DoseWeek:
        return self.weeks[-1]

    @property
    def mondays(self) -> list[date]:
        """The weeks' Mondays, newest first (the form's choice of week)."""
        return [w.monday for w in reversed(self.weeks)]

    @property
    def versions(self) -> dict[date, str]:
        """Monday -> the version of the week's answer as shown ("new": none), carried by the form."""
        return {w.monday: w.version_text for w in self.weeks}


def patient_dose(patient_id: int, today: date, weeks: int = PAGE_WEEKS) -> PageDose:
    """The last ``weeks`` ISO weeks of ``patient_id``, this week included (three statements)."""
    start = monday_of(today) - timedelta(days=7 * (weeks - 1))
    end = monday_of(today) + timedelta(days=6)
    return PageDose(today=today, target=target(), weeks=weekly_dose([patient_id], start, end, today)[patient_id])


# The connectedness rating ---------------------------------------------------------------------
def week_of(value) -> date:
    """The Monday of the week a form or caller named (a date or ``YYYY-MM-DD``); ``FieldViolation`` if none."""
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value.strip())
        except ValueError:
            value = None
    if not isinstance(value, date):
        raise FieldViolation("week", "Give the week the answer is about.")
    if value < EARLIEST_WEEK:
        raise FieldViolation("week", f"Give a week from {EARLIEST_WEEK.year} on.")
    return monday_of(value)


def rating_of(patient_id: int, week: date) -> ConnectednessRating | None:
    """The saved answer of ``patient_id`` for the week starting ``week`` (a Monday)."""
    return db.session.scalar(sa.select(ConnectednessRating).where(
        ConnectednessRating.patient_id == patient_id, ConnectednessRating.week_start == week,
    ))


def record_connectedness(user, patient_id: int, week, rating, version=UNCHECKED,
                         today: date | None = None) -> ConnectednessRating:
    """Keep ``rating`` as the answer of ``patient_id`` for the week of ``week``; flushed, not committed.

    ``version`` is what the form carried for that week: "new" when it showed no answer,
    else the answer's version. The first answer of a week creates the row; another one
    changes it (who and when become the writer's and now), an unchanged one leaves it
    alone. Refuses with ``RuleViolation``: a patient not on a counselor's caseload, a week
    that has not begun (``FieldViolation`` "week"), an answer out of 0-10 (``FieldViolation``
    "rating"), a version older than the saved answer, or a missing one (``StaleEdit``). The
    audit listener records the create or change with old and new values.
    """
    if user is not None and not may_see_patient(user, patient_id):
        raise RuleViolation(NOT_YOURS)
    today = today or date.today()
    monday = week_of(week)
    if monday > today:
        raise FieldViolation("week", "That week has not begun yet.")
    value = limits.whole({"rating": rating}, "rating", "answer", CONNECTEDNESS_MIN, CONNECTEDNESS_MAX)
    row = rating_of(patient_id, monday)
    if version is not UNCHECKED:
        check_optional_version(row, version)
    recorder = getattr(user, "id", None)
    if row is None:  # someone may have entered the same week a moment ago: then StaleEdit
        return add_unless_taken(ConnectednessRating(patient_id=patient_id, week_start=monday, rating=value,
                                                    recorded_by_id=recorder, recorded_at=utcnow()))
    if row.rating == value:
        return row
    row.rating, row.recorded_by_id, row.recorded_at = value, recorder, utcnow()
    flush_unless_stale()
    return row


__all__ = [
    "ACT_OUTCOME",
    "DEFAULT_TARGET_MAX",
    "DEFAULT_TARGET_MIN",
    "DoseWeek",
    "PAGE_WEEKS",
    "PageDose",
    "QUESTION",
    "SCALE",
    "Target",
    "patient_dose",
    "rating_of",
    "record_connectedness",
    "target",
    "week_of",
    "weekly_dose",
]

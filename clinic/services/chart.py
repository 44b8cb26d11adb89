"""The mood chart: mood before and after kindness exercises over time, as inline SVG.

One implementation serves the patient page in the admin and both progress sheets:

- ``mood_days`` reads the check-ins of one or many patients over a period, averaged per
  check-in day, in one statement;
- ``mood_chart`` turns those days into a ``MoodChart``: the picture's geometry (points,
  paths, ticks) plus its accessible title and description, all plain numbers and text;
- ``templates/admin/chart/_mood.html`` draws a ``MoodChart`` (in the variable ``chart``)
  as an ``<svg>``, so the admin page and the PDFs include the same template and get the
  same markup. No script, no external file, nothing typed by a person in it.

The legend does not rely on colour: "before" is a dashed line with hollow circles,
"after" a solid line with filled squares.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa

from ..extensions import db
from ..models import Assignment, ExerciseCheckin

#: Days the patient page's chart looks back over, today included (the figures' window).
PAGE_WINDOW_DAYS = 28

# The drawing, in SVG user units (the picture scales to the width it is given).
WIDTH = 640
HEIGHT = 272
PLOT_LEFT = 60
PLOT_RIGHT = 624
PLOT_TOP = 40
PLOT_BOTTOM = 216
#: Space between the plot's edges and the first and last day, so markers are not cut.
INSET = 12
MOOD_MAX = 10
Y_TICKS = (0, 2, 4, 6, 8, 10)
#: Steps (in days) tried for the date labels; the first that gives at most MAX_X_TICKS wins.
X_STEPS = (1, 2, 3, 7, 14, 28, 56, 91, 182, 364)
MAX_X_TICKS = 8

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August",
               "September", "October", "November", "December")


def _short(day: date) -> str:
    return f"{day.day} {MONTHS[day.month - 1]}"


def _long(day: date) -> str:
    return f"{day.day} {MONTH_NAMES[day.month - 1]} {day.year}"


@dataclass(frozen=True)
class MoodDay:
    """A check-in day: average mood before and after (None when none was noted)."""

    day: date
    before: float | None
    after: float | None
    #: Check-ins that day with at least one mood.
    checkins: int


def mood_days(patient_ids: list[int], start: date, end: date) -> dict[int, list[MoodDay]]:
    """Each patient's check-in days from ``start`` to ``end`` with a mood, oldest first.

    Check-ins of all the patient's assignments on the same day are averaged: the
    chart has one point per day and line. One statement, whatever the number of
    patients and check-ins.
    """
    if not patient_ids:
        return {}
    rows = db.session.execute(
        sa.select(
            Assignment.patient_id,
            ExerciseCheckin.on_date,
            sa.func.avg(ExerciseCheckin.mood_before).label("before"),
            sa.func.avg(ExerciseCheckin.mood_after).label("after"),
            sa.func.count(ExerciseCheckin.id).label("checkins"),
        )
        .join(Assignment, Assignment.id == ExerciseCheckin.assignment_id)
        .where(
            Assignment.patient_id.in_(patient_ids),
            ExerciseCheckin.on_date >= start,
            ExerciseCheckin.on_date <= end,
            sa.or_(ExerciseCheckin.mood_before.is_not(None), ExerciseCheckin.mood_after.is_not(None)),
        )
        .group_by(Assignment.patient_id, ExerciseCheckin.on_date)
        .order_by(Assignment.patient_id, ExerciseCheckin.on_date)
    )
    days: dict[int, list[MoodDay]] = defaultdict(list)
    for row in rows:
        days[row.patient_id].append(
            MoodDay(
                day=row.on_date,
                before=None if row.before is None else round(float(row.before), 1),
                after=None if row.after is None else round(float(row.after), 1),
                checkins=int(row.checkins),
            )
        )
    return dict(days)


class PlotFrame:
    """The middles of a chart's plot area, where the axis titles sit (``_axes.html``); shared by
    every chart that has ``plot_left``/``plot_right``/``plot_top``/``plot_bottom``."""

    @property
    def plot_middle(self) -> float:
        """The vertical middle of the plot (where the y-axis title sits)."""
        return (self.plot_top + self.plot_bottom) / 2

    @property
    def x_middle(self) -> float:
        """The horizontal middle of the plot (where the x-axis title sits)."""
        return (self.plot_left + self.plot_right) / 2


@dataclass(frozen=True)
class Point:
    """A marker on the chart: where it is drawn and the value it stands for."""

    x: float
    y: float
    value: float


@dataclass(frozen=True)
class Tick:
    """An axis label and where it goes."""

    at: float
    label: str
    #: The day a date label stands for (so a printed sheet can word it in its own language).
    day: date | None = None


@dataclass(frozen=True)
class Series:
    """One line of the chart (before or after)."""

    key: str
    label: str
    points: tuple[Point, ...]

    @property
    def path(self) -> str:
        """The SVG path joining the points in day order ("" for fewer than two)."""
        if len(self.points) < 2:
            return ""
        return " ".join(f"{'M' if i == 0 else 'L'}{p.x:.1f},{p.y:.1f}" for i, p in enumerate(self.points))


@dataclass(frozen=True)
class MoodChart(PlotFrame):
    """Everything ``admin/chart/_mood.html`` draws; ``chart_id`` keeps ids unique on a page."""

    chart_id: str
    start: date
    end: date
    title: str
    description: str
    days: tuple[MoodDay, ...]
    before: Series
    after: Series
    x_ticks: tuple[Tick, ...]
    y_ticks: tuple[Tick, ...]
    #: The axis titles (English on staff pages; a patient's sheet words them in the patient's language).
    y_title: str = "Mood (0–10)"
    x_title: str = "Day of check-in"
    width: int = WIDTH
    height: int = HEIGHT
    plot_left: int = PLOT_LEFT
    plot_right: int = PLOT_RIGHT
    plot_top: int = PLOT_TOP
    plot_bottom: int = PLOT_BOTTOM

    @property
    def has_data(self) -> bool:
        """True when at least one day has a mood to draw."""
        return bool(self.before.points or self.after.points)


def _x_ticks(start: date, end: date, x_of) -> tuple[Tick, ...]:
    span = (end - start).days
    step = next((s for s in X_STEPS if span // s + 1 <= MAX_X_TICKS), X_STEPS[-1])
    return tuple(
        Tick(x_of(start + timedelta(days=offset)), _short(start + timedelta(days=offset)),
             start + timedelta(days=offset))
        for offset in range(0, span + 1, step)
    )


def _describe(start: date, end: date, days: list[MoodDay]) -> str:
    """A plain-words summary of the chart (its ``desc`` and caption)."""
    period = f"from {_long(start)} to {_long(end)}"
    if not days:
        return f"No moods were noted {period}."
    parts = [f"{len(days)} day{'s' if len(days) != 1 else ''} with a mood noted {period}."]
    for key, label in (("before", "Mood before"), ("after", "Mood after")):
        noted = [d for d in days if getattr(d, key) is not None]
        if not noted:
            continue
        values = [getattr(d, key) for d in noted]
        first, last = noted[0], noted[-1]
        if len(noted) == 1:
            parts.append(f"{label}: {values[0]:.1f} on {_short(first.day)}.")
        else:
            parts.append(
                f"{label}: between {min(values):.1f} and {max(values):.1f}, "
                f"{getattr(first, key):.1f} on {_short(first.day)} and {getattr(last, key):.1f} on {_short(last.day)}."
            )
    return " ".join(parts)


def mood_chart(days: list[MoodDay], start: date, end: date, chart_id: str = "mood-chart") -> MoodChart:
    """The chart of ``days`` (from ``mood_days``) over the period ``start`` to ``end``.

    The x axis runs over the whole period, so weeks without check-ins show as gaps;
    the y axis runs from 0 to 10. Days outside the period are left out.
    """
    if end < start:
        start, end = end, start
    days = [d for d in days if start <= d.day <= end]
    span = (end - start).days
    left, right = PLOT_LEFT + INSET, PLOT_RIGHT - INSET

    def x_of(day: date) -> float:
        if span == 0:
            return (left + right) / 2
        return left + (day - start).days * (right - left) / span

    def y_of(value: float) -> float:
        return PLOT_BOTTOM - value * (PLOT_BOTTOM - PLOT_TOP) / MOOD_MAX

    def series(key: str, label: str) -> Series:
        points = []
        for d in days:
            value = getattr(d, key)
            if value is not None:
                points.append(Point(round(x_of(d.day), 1), round(y_of(value), 1), value))
        return Series(key, label, tuple(points))

    return MoodChart(
        chart_id=chart_id,
        start=start,
        end=end,
        title="Mood before and after kindness exercises",
        description=_describe(start, end, days),
        days=tuple(days),
        before=series("before", "Mood before"),
        after=series("after", "Mood after"),
        x_ticks=_x_ticks(start, end, lambda d: round(x_of(d), 1)),
        y_ticks=tuple(Tick(round(y_of(v), 1), str(v)) for v in Y_TICKS),
    )


def patient_mood_chart(patient_id: int, start: date, end: date) -> MoodChart:
    """One patient's chart over a period (one statement)."""
    days = mood_days([patient_id], start, end).get(patient_id, [])
    return mood_chart(days, start, end, chart_id=f"mood-chart-{patient_id}")


def page_period(today: date | None = None) -> tuple[date, date]:
    """The period the patient page's chart shows: the last four weeks, today included."""
    today = today or date.today()
    return today - timedelta(days=PAGE_WINDOW_DAYS - 1), today


def mood_chart_context(patient, today: date | None = None) -> dict:
    """What the patient page needs to draw the chart: ``{"mood_chart": MoodChart}``.

    Covers the last four weeks (the window of the page's figures), so the chart and
    the "mood change" figure beside it tell the same story. One statement.
    """
    start, end = page_period(today)
    return {"mood_chart": patient_mood_chart(patient.id, start, end)}


__all__ = [
    "MoodChart",
    "MoodDay",
    "PAGE_WINDOW_DAYS",
    "mood_chart",
    "mood_chart_context",
    "mood_days",
    "page_period",
    "patient_mood_chart",
]

"""Census: how many patients were enrolled in each track on each day of a period.

Enrolled on a day means an enrolment covering it (``membership.covers``: started on or
before it, not ended before it). Over the period, per track:

- **admissions**: enrolments starting in the period that do not continue a stay in
  another track; **transfers in**: those that do (the patient's previous enrolment ended
  stepped down or stepped up on the day before or the same day);
- **stepped down**, **stepped up**, **discharged**, **withdrew**: enrolments ending in the
  period, by how they ended;
- **average length of stay**: days from start to end, both counted, of the stays in the
  track that ended in the period (open stays have no length yet and are not averaged).

Four statements whatever the size of the clinic, each reading index ranges (migration
0033) and returning rows bounded by the period and the tracks: the tracks, the daily changes
(enrolled on the first day, starts and ends per day), the starts and the ends of the period,
each grouped by track. Counselors: ``access.enrolment_filter``.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from ...extensions import db
from ...models import Enrolment, Track
from ..access import enrolment_filter, sees_everyone
from ..chart import PlotFrame, Tick, _short, _x_ticks
from . import half_up, STAYS_NOTE, Column, Report, ReportFilters, Table, period_words

ENDINGS = (("stepped_down", "Stepped down"), ("stepped_up", "Stepped up"), ("discharged", "Discharged"),
           ("withdrawn", "Withdrew"))
#: How lines are told apart without colour: dash pattern and marker shape, by track order.
DASHES = ("", "6 4", "2 3", "10 3 2 3")
MARKERS = ("circle", "square", "diamond", "triangle")
COLOURS = ("#1d4450", "#8a4f00", "#5a2d82", "#2f6b2f")

WIDTH, HEIGHT = 680, 280
PLOT_LEFT, PLOT_RIGHT, PLOT_TOP, PLOT_BOTTOM = 56, 630, 20, 226


@dataclass(frozen=True)
class Line:
    """One track's line on the census chart."""

    label: str
    path: str
    dash: str
    colour: str
    marker: str
    last_x: float
    last_y: float
    last_value: int


@dataclass(frozen=True)
class CensusChart(PlotFrame):
    """The census as SVG geometry; drawn by ``templates/admin/reports/_census_chart.html``."""

    chart_id: str
    title: str
    description: str
    lines: tuple[Line, ...]
    x_ticks: tuple[Tick, ...]
    y_ticks: tuple[Tick, ...]
    width: int = WIDTH
    height: int = HEIGHT
    plot_left: int = PLOT_LEFT
    plot_right: int = PLOT_RIGHT
    plot_top: int = PLOT_TOP
    plot_bottom: int = PLOT_BOTTOM


def _days_between(later, earlier):
    """SQL: whole days from ``earlier`` to ``later`` (dates), on PostgreSQL and SQLite."""
    if db.session.get_bind().dialect.name == "postgresql":
        return later - earlier
    return sa.func.julianday(later) - sa.func.julianday(earlier)


def _day_before(day):
    """SQL: the date before ``day`` (a date column), on PostgreSQL and SQLite."""
    if db.session.get_bind().dialect.name == "postgresql":
        return day - sa.literal(1)
    return sa.func.date(day, "-1 day")


def _step(top: int) -> int:
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 2500, 5000, 10000):
        if top / step <= 5:
            return step
    return 10 ** len(str(top))


def census_chart(days: list[date], tracks: list[tuple[int, str]], counts: dict[int, list[int]],
                 start: date, end: date) -> CensusChart:
    """Lines of the daily counts per track over the period."""
    top = max([max(c) for c in counts.values() if c] + [1])
    step = _step(top)
    y_max = step * -(-top // step)
    span = max((end - start).days, 1)

    def x_of(day: date) -> float:
        return round(PLOT_LEFT + 8 + (day - start).days * (PLOT_RIGHT - PLOT_LEFT - 16) / span, 1)

    def y_of(value: float) -> float:
        return round(PLOT_BOTTOM - value * (PLOT_BOTTOM - PLOT_TOP) / y_max, 1)

    lines = []
    for index, (track_id, name) in enumerate(tracks):
        values = counts[track_id]
        points = [(x_of(d), y_of(v)) for d, v in zip(days, values)]
        path = " ".join(f"{'M' if i == 0 else 'L'}{x},{y}" for i, (x, y) in enumerate(points))
        lines.append(Line(name, path, DASHES[index % len(DASHES)], COLOURS[index % len(COLOURS)],
                          MARKERS[index % len(MARKERS)], points[-1][0], points[-1][1], values[-1]))
    words = [f"Patients enrolled per day from {period_words(start, end)}."]
    for (track_id, name) in tracks:
        values = counts[track_id]
        words.append(f"{name}: {values[0]} on {_short(start)}, {values[-1]} on {_short(end)}, "
                     f"between {min(values)} and {max(values)}.")
    return CensusChart(
        chart_id="census-chart", title="Patients enrolled per day, by track", description=" ".join(words),
        lines=tuple(lines), x_ticks=_x_ticks(start, end, x_of),
        y_ticks=tuple(Tick(y_of(v), str(v)) for v in range(0, y_max + 1, step)),
    )


def build(filters: ReportFilters, user: Any) -> Report:
    """The census of ``filters.start`` to ``filters.end`` (one track or all) as ``user`` may see it."""
    start, end = filters.start, filters.end
    days = [start + timedelta(days=n) for n in range((end - start).days + 1)]
    track_query = sa.select(Track.id, Track.name).order_by(Track.care_level, Track.name, Track.id)
    if filters.track_id is not None:
        track_query = track_query.where(Track.id == filters.track_id)
    tracks = [(r.id, r.name) for r in db.session.execute(track_query)]
    wanted = [c for c in (enrolment_filter(user),
                          Enrolment.track_id == filters.track_id if filters.track_id is not None else None)
              if c is not None]

    # Daily counts as changes per (track, day), so the rows read back are bounded by the
    # period and the tracks, not by the clinic: those enrolled on the first day (started
    # before it, open or ending on or after it), the starts of each day, and the ends of each
    # day but the last (they leave the next day). Each branch is an index range
    # (``ix_enrolment_end_date_census``, ``ix_enrolment_start_date_census``, migration 0033).
    def changes_of(kind: str, day, *where, group=()):
        return (sa.select(Enrolment.track_id.label("track_id"), day.label("day"), sa.literal(kind).label("kind"),
                          sa.func.count().label("number"))
                .where(*where, *wanted).group_by(Enrolment.track_id, *group))

    first_day = sa.literal(start, sa.Date)
    spans = db.session.execute(sa.union_all(
        changes_of("in", first_day, Enrolment.start_date < start, Enrolment.end_date.is_(None)),
        changes_of("in", first_day, Enrolment.start_date < start, Enrolment.end_date >= start),
        changes_of("in", Enrolment.start_date, Enrolment.start_date >= start, Enrolment.start_date <= end,
                   group=(Enrolment.start_date,)),
        changes_of("out", Enrolment.end_date, Enrolment.end_date >= start, Enrolment.end_date < end,
                   group=(Enrolment.end_date,)),
    )).all()
    changes: dict[int, list[int]] = {track_id: [0] * (len(days) + 1) for track_id, _ in tracks}
    for track_id, day, kind_of, number in spans:
        if track_id not in changes:
            continue
        if isinstance(day, str):  # SQLite hands back a literal date as text
            day = date.fromisoformat(day)
        if kind_of == "in":
            changes[track_id][(day - start).days] += number
        else:
            changes[track_id][(day - start).days + 1] -= number
    counts: dict[int, list[int]] = {}
    for track_id, delta in changes.items():
        running, values = 0, []
        for d in delta[:-1]:
            running += d
            values.append(running)
        counts[track_id] = values

    # Starts in the period, and which of them continue a stay in another track.
    before = aliased(Enrolment)
    transfer = sa.exists().where(
        before.patient_id == Enrolment.patient_id, before.id != Enrolment.id,
        before.status.in_(("stepped_down", "stepped_up")),
        before.end_date <= Enrolment.start_date, before.end_date >= _day_before(Enrolment.start_date),
    )
    starts = {r[0]: (int(r[1]), int(r[2] or 0)) for r in db.session.execute(
        sa.select(Enrolment.track_id, sa.func.count(), sa.func.sum(sa.case((transfer, 1), else_=0)))
        .where(Enrolment.start_date >= start, Enrolment.start_date <= end, *wanted)
        .group_by(Enrolment.track_id)
    )}
    # Ends in the period, by how they ended, with the days of those stays.
    ends: dict[int, dict[str, int]] = defaultdict(dict)
    stay_days: dict[int, list[float]] = defaultdict(lambda: [0, 0])
    for track_id, status, number, total_days in db.session.execute(
        sa.select(Enrolment.track_id, Enrolment.status, sa.func.count(),
                  sa.func.sum(_days_between(Enrolment.end_date, Enrolment.start_date) + 1))
        .where(Enrolment.end_date >= start, Enrolment.end_date <= end, *wanted)
        .group_by(Enrolment.track_id, Enrolment.status)
    ):
        ends[track_id][status] = int(number)
        stay_days[track_id][0] += int(number)
        stay_days[track_id][1] += float(total_days or 0)

    summary = Table(
        "summary", "Per track over the period",
        (Column("Track"), Column("Enrolled on the first day", "int"), Column("Enrolled on the last day", "int"),
         Column("Average enrolled per day", "decimal"), Column("Admissions", "int"),
         Column("Transfers in (step-down or step-up)", "int"),
         *(Column(label, "int") for _, label in ENDINGS),
         Column("Average length of stay, days (stays ended in the period)", "decimal")),
        empty="There are no tracks.",
    )
    for track_id, name in tracks:
        values = counts[track_id]
        begun, transferred = starts.get(track_id, (0, 0))
        ended = ends.get(track_id, {})
        stays, stay_total = stay_days.get(track_id, (0, 0))
        row = (name, values[0], values[-1], half_up(sum(values) / len(values), 1), begun - transferred, transferred,
               *(ended.get(status, 0) for status, _ in ENDINGS),
               half_up(stay_total / stays, 1) if stays else None)
        summary.rows.append(row)
    if len(tracks) > 1:
        daily_totals = [sum(counts[t][i] for t, _ in tracks) for i in range(len(days))]
        all_stays = sum(stay_days.get(t, (0, 0))[0] for t, _ in tracks)
        all_days = sum(stay_days.get(t, (0, 0))[1] for t, _ in tracks)
        summary.footer = ("All tracks", daily_totals[0], daily_totals[-1],
                          half_up(sum(daily_totals) / len(days), 1),
                          *(sum(r[i] for r in summary.rows) for i in range(4, 6 + len(ENDINGS))),
                          half_up(all_days / all_stays, 1) if all_stays else None)
    daily = Table("daily", "Enrolled per day",
                  (Column("Day", "date"), *(Column(name, "int") for _, name in tracks),
                   *((Column("All tracks", "int"),) if len(tracks) > 1 else ())))
    for i, day in enumerate(days):
        row = [day, *(counts[t][i] for t, _ in tracks)]
        if len(tracks) > 1:
            row.append(sum(counts[t][i] for t, _ in tracks))
        daily.rows.append(tuple(row))
    notes = ["Enrolled on a day: an enrolment that has started and not ended by that day. A patient who "
             "moves between tracks counts in each track for the days they were in it; the move is a transfer "
             "in, not an admission."]
    if not sees_everyone(user):
        notes.append(STAYS_NOTE)
    return Report(
        key="census", title="Census", period=period_words(start, end), notes=notes,
        tables=[summary, daily], chart=census_chart(days, tracks, counts, start, end) if tracks else None,
        filters={"from": start.isoformat(), "to": end.isoformat(),
                 **({"track": filters.track_id} if filters.track_id is not None else {})},
    )

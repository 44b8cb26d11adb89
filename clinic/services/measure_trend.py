"""PHQ-9 and GAD-7 scores over time: the trend chart and its words (issue 12 item 4).

One implementation serves the patient page and the staff progress sheet (never the patient
sheet), like the mood chart (``chart.py``):

- ``scores`` reads the administrations of one or many patients up to a day, each with its
  total as it now stands (the latest addendum's, else as entered), in one statement;
- ``trend`` turns one instrument's scores into a ``MeasureTrend``: the picture's geometry
  (points, the severity bands shaded and labelled, ticks), a title, a description and the
  words: baseline, latest, change since baseline, response and remission;
- ``templates/admin/chart/_measure.html`` draws it as inline SVG with a table beside it, the
  same include on screen and in the PDF (WeasyPrint renders inline SVG).

Definitions
-----------
- Only signed administrations are drawn and judged (a draft can still change); drafts
  are counted in the description ("1 draft not shown").
- **Baseline**: the first signed administration of the instrument in the patient's current
  stay: the enrolment in force (on the day the chart ends) and the enrolments it continues by
  step-down or step-up without a gap. A patient never enrolled by then: the first on record.
  The words say which ("the first PHQ-9 of this stay, since 2 Mar 2026" / "the first on record").
- **Change since baseline**: latest minus baseline, in points and as a percentage of the
  baseline ("down 9 points, 56 %"); no percentage when the baseline is 0.
- **Response**: the latest score is at least 50 % below the baseline (a drop of at least half
  the baseline; judged from two administrations on, and not for a baseline of 0).
- **Remission** (PHQ-9 only): the latest PHQ-9 is below 5, from a baseline of 5 or more
  (a baseline already below 5 is not called a remission).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from ..extensions import db
from ..models import MeasureAddendum, MeasureAdministration
from . import instruments
from .chart import PlotFrame, _long, _x_ticks

WIDTH = 680
HEIGHT = 250
PLOT_LEFT = 52
PLOT_RIGHT = 508
PLOT_TOP = 16
PLOT_BOTTOM = 206
INSET = 14
#: With at most this many points each one carries its score as a label.
LABELLED_POINTS = 14
STEPPED = ("stepped_down", "stepped_up")
#: The shading of the bands, lightest for minimal; their labels are written in, so colour is not needed.
BAND_FILLS = {
    "minimal": "#eef5ee", "mild": "#f6f4e4", "moderate": "#fbeede",
    "moderately_severe": "#f9e3dc", "severe": "#f4d8d8",
}


@dataclass(frozen=True)
class Score:
    """One administration as it now stands."""

    patient_id: int
    instrument: str
    day: date
    total: int
    prorated: bool
    signed: bool


def scores(patient_ids: list[int] | sa.Select, until: date, *, instrument: str | None = None,
           signed_only: bool = False) -> dict[int, list[Score]]:
    """Each patient's administrations up to ``until``, oldest first, with the current totals (one statement).

    ``patient_ids``: a list of ids, or a ``select`` of them (for many patients: no list of
    parameters that grows with them; read through the patients' index, ``access.among``).
    ``instrument``: only that instrument's; ``signed_only``: only the signed ones (for readers
    that judge signed scores only, such as ``stay_scores``: the same scores shown, fewer rows read)."""
    from .access import among

    if not isinstance(patient_ids, sa.Select) and not patient_ids:
        return {}
    later = aliased(MeasureAddendum)
    latest = (
        sa.select(later.id)
        .where(later.administration_id == MeasureAdministration.id)
        .order_by(later.id.desc()).limit(1)
        .correlate(MeasureAdministration)
        .scalar_subquery()
    )
    whose = (among(MeasureAdministration.patient_id, patient_ids) if isinstance(patient_ids, sa.Select)
             else MeasureAdministration.patient_id.in_(patient_ids))
    narrowed = [c for c in (MeasureAdministration.instrument == instrument if instrument is not None else None,
                            MeasureAdministration.signed_at.is_not(None) if signed_only else None) if c is not None]
    rows = db.session.execute(
        sa.select(
            MeasureAdministration.patient_id, MeasureAdministration.instrument, MeasureAdministration.administered_on,
            sa.func.coalesce(MeasureAddendum.total, MeasureAdministration.total).label("total"),
            sa.func.coalesce(MeasureAddendum.prorated, MeasureAdministration.prorated).label("prorated"),
            MeasureAdministration.signed_at,
        )
        .outerjoin(MeasureAddendum, MeasureAddendum.id == latest)
        .where(whose, MeasureAdministration.administered_on <= until, *narrowed)
        .order_by(MeasureAdministration.patient_id, MeasureAdministration.administered_on, MeasureAdministration.id)
    )
    found: dict[int, list[Score]] = defaultdict(list)
    for patient_id, instrument_code, day, total, prorated, signed_at in rows:
        found[patient_id].append(Score(patient_id, instrument_code, day, int(total), bool(prorated),
                                       signed_at is not None))
    return dict(found)


def stay_start(history, on: date) -> date | None:
    """The first day of the stay in force on ``on``: the enrolment begun last by then, followed back
    through the enrolments it continues by step-down or step-up (no gap). None: not enrolled by then.

    ``history`` is the patient's enrolments (anything with ``start_date``, ``end_date``, ``status``).
    """
    begun = sorted((e for e in history if e.start_date <= on), key=lambda e: e.start_date)
    if not begun:
        return None
    first = begun[-1].start_date
    for earlier in reversed(begun[:-1]):
        if earlier.status in STEPPED and earlier.end_date is not None and (first - earlier.end_date).days <= 1:
            first = earlier.start_date
        else:
            break
    return first


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    day: date
    total: int
    band: str
    prorated: bool
    #: Points from the baseline (positive: lower, better), for the table.
    change: int | None

    @property
    def band_label(self) -> str:
        return instruments.BAND_LABELS[self.band]


@dataclass(frozen=True)
class BandArea:
    """A severity band drawn behind the points."""

    key: str
    label: str
    low: int
    high: int
    y_top: float
    y_bottom: float
    fill: str

    @property
    def height(self) -> float:
        return round(self.y_bottom - self.y_top, 1)

    @property
    def label_y(self) -> float:
        return round((self.y_top + self.y_bottom) / 2 + 4, 1)


@dataclass(frozen=True)
class Tick:
    at: float
    label: str


@dataclass(frozen=True)
class MeasureTrend(PlotFrame):
    """Everything ``admin/chart/_measure.html`` draws and says for one instrument."""

    chart_id: str
    instrument: str
    name: str
    max_score: int
    title: str
    description: str
    #: The judgement in plain sentences (baseline, latest, change, response, remission).
    words: tuple[str, ...]
    points: tuple[Point, ...]
    bands: tuple[BandArea, ...]
    x_ticks: tuple[Tick, ...]
    y_ticks: tuple[Tick, ...]
    baseline: Point | None
    latest: Point | None
    #: "down 9 points, 56 %", "up 2 points, 20 %", "no change" (None with fewer than two).
    change_words: str | None
    response: bool | None
    remission: bool | None
    drafts: int
    width: int = WIDTH
    height: int = HEIGHT
    plot_left: int = PLOT_LEFT
    plot_right: int = PLOT_RIGHT
    plot_top: int = PLOT_TOP
    plot_bottom: int = PLOT_BOTTOM

    @property
    def has_data(self) -> bool:
        return bool(self.points)

    @property
    def path(self) -> str:
        if len(self.points) < 2:
            return ""
        return " ".join(f"{'M' if i == 0 else 'L'}{p.x:.1f},{p.y:.1f}" for i, p in enumerate(self.points))

    @property
    def labelled(self) -> bool:
        return len(self.points) <= LABELLED_POINTS


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"


def change_words(baseline: int, latest: int) -> str:
    """"down 9 points, 56 %" / "up 2 points, 20 %" / "no change"; no percentage from a baseline of 0."""
    diff = latest - baseline
    if diff == 0:
        return "no change"
    way = "down" if diff < 0 else "up"
    words = f"{way} {_plural(abs(diff), 'point')}"
    if baseline > 0:
        words += f", {round(100 * abs(diff) / baseline)} %"
    return words


#: Remission: the latest PHQ-9 is below this (from a baseline at or above it).
REMISSION_BELOW = 5


def is_response(baseline: int, latest: int) -> bool | None:
    """Response: the latest score is at least 50 % below the baseline; None (not judged) from a baseline of 0."""
    if baseline == 0:
        return None
    return 2 * (baseline - latest) >= baseline


def is_remission(baseline: int, latest: int) -> bool | None:
    """PHQ-9 remission: the latest is below 5; None (not judged) when the baseline was already below 5."""
    if baseline < REMISSION_BELOW:
        return None
    return latest < REMISSION_BELOW


def stay_scores(code: str, patient_scores: list[Score], history, end: date) -> tuple[list[Score], int, date | None]:
    """The signed scores of instrument ``code`` judged on ``end``: those of the stay in force then (all on
    record when not enrolled by then), up to ``end``, oldest first; with the number of drafts left out and
    the first day of the stay (None: not enrolled). The first is the baseline, the last the latest."""
    mine = [s for s in patient_scores if s.instrument == code and s.day <= end]
    start_of_stay = stay_start(history, end)
    if start_of_stay is not None:
        mine = [s for s in mine if s.day >= start_of_stay]
    shown = [s for s in mine if s.signed]
    return shown, len(mine) - len(shown), start_of_stay


def _judge(form: instruments.Instrument, shown: list[Score], scope: str) -> tuple[tuple[str, ...], str | None, bool | None, bool | None]:
    """The words of a trend: (sentences, change words, response, remission)."""
    name = form.name
    if not shown:
        return (f"No signed {name} {scope}.",), None, None, None
    base, last = shown[0], shown[-1]
    base_band = instruments.BAND_LABELS[form.band(base.total)].lower()
    last_band = instruments.BAND_LABELS[form.band(last.total)].lower()
    which = f"the first {name} {scope}"
    if len(shown) == 1:
        return (f"One {name} so far: {base.total} ({base_band}) on {_long(base.day)}, {which}: the baseline. "
                "A change, a response or a remission is judged from the next one.",), None, None, None
    words = [f"Baseline: {base.total} ({base_band}) on {_long(base.day)}, {which}.",
             f"Latest: {last.total} ({last_band}) on {_long(last.day)}, {_plural(len(shown), 'score')} in all."]
    change = change_words(base.total, last.total)
    words.append(f"Change since baseline: {change}.")
    response: bool | None
    response = is_response(base.total, last.total)
    if response is None:
        words.append("Response is not judged from a baseline of 0.")
    else:
        words.append("Response: yes, the score fell by at least 50 % of the baseline." if response
                     else "No response yet: the score has not fallen by 50 % of the baseline.")
    remission: bool | None = None
    if form.code == "phq9":
        remission = is_remission(base.total, last.total)
        if remission is None:
            words.append("Remission is not judged: the baseline was already below 5.")
        else:
            words.append("Remission: yes, the latest PHQ-9 is below 5." if remission
                         else "No remission yet: the latest PHQ-9 is 5 or more (remission is below 5).")
    return tuple(words), change, response, remission


def trend(code: str, patient_scores: list[Score], history, end: date, chart_id: str) -> MeasureTrend:
    """The trend of instrument ``code`` up to ``end`` for one patient (from ``scores``), in the stay in force then."""
    form = instruments.instrument(code)
    shown, drafts, start_of_stay = stay_scores(code, patient_scores, history, end)
    scope = f"of this stay (since {_long(start_of_stay)})" if start_of_stay is not None else "on record"
    words, change, response, remission = _judge(form, shown, scope)
    first = start_of_stay or (shown[0].day if shown else end)
    if first > end:
        first = end
    span = (end - first).days
    left, right = PLOT_LEFT + INSET, PLOT_RIGHT - INSET
    top = form.max_total

    def x_of(day: date) -> float:
        if span == 0:
            return round((left + right) / 2, 1)
        return round(left + (day - first).days * (right - left) / span, 1)

    def y_of(value: float) -> float:
        return round(PLOT_BOTTOM - value * (PLOT_BOTTOM - PLOT_TOP) / top, 1)

    base = shown[0].total if shown else None
    points = tuple(
        Point(x_of(s.day), y_of(s.total), s.day, s.total, form.band(s.total), s.prorated,
              None if base is None else base - s.total)
        for s in shown
    )
    bands = []
    for (low, key), (_, high, label) in zip(form.bands, form.band_ranges()):
        bands.append(BandArea(key, label, low, high, y_of(min(high + 1, top)), y_of(low), BAND_FILLS[key]))
    step = 3
    y_ticks = tuple(Tick(y_of(v), str(v)) for v in range(0, top + 1, step))
    period = f"from {_long(first)} to {_long(end)}"
    if points:
        description = (f"{form.name} total scores {period}, {_plural(len(points), 'point')} drawn over the "
                       f"severity bands (0 to {top}; lower is better). " + " ".join(words))
    else:
        description = " ".join(words)
    if drafts:
        description += f" {_plural(drafts, 'draft')} not shown until signed."
    return MeasureTrend(
        chart_id=chart_id, instrument=code, name=form.name, max_score=top,
        title=f"{form.name} scores over time", description=description, words=words, points=points,
        bands=tuple(bands), x_ticks=tuple(Tick(t.at, t.label) for t in _x_ticks(first, end, x_of)),
        y_ticks=y_ticks, baseline=points[0] if points else None, latest=points[-1] if points else None,
        change_words=change, response=response, remission=remission, drafts=drafts,
    )


def trends(patient_id: int, patient_scores: list[Score], history, end: date) -> tuple[MeasureTrend, ...]:
    """PHQ-9 then GAD-7 for one patient (no statement: ``scores`` was read)."""
    return tuple(trend(code, patient_scores, history, end, f"measure-chart-{patient_id}-{code}")
                 for code in instruments.INSTRUMENT_CODES)


def patient_trends(patient_id: int, history, today: date | None = None) -> tuple[MeasureTrend, ...]:
    """The patient page's two charts up to today (one statement; ``history``: the enrolments, loaded)."""
    today = today or date.today()
    return trends(patient_id, scores([patient_id], today).get(patient_id, []), history, today)


__all__ = ["MeasureTrend", "REMISSION_BELOW", "Score", "change_words", "is_remission", "is_response", "patient_trends",
           "scores", "stay_scores", "stay_start", "trend", "trends"]

"""The programme's reports: the questions a programme manager asks every Monday.

Each report is built by one function of this package from the filters a person chose
(``ReportFilters``: a period or a week, a track) and the user asking, and returns a
``Report``: a title, the words that say what it counts, one or more ``Table`` s and, where
people would rather look, a chart. The same ``Report`` is drawn as a page
(``clinic/admin/reports.py``), written as CSV (``files.csv_bytes``: cells neutralised for
spreadsheets, UTF-8 with a byte-order mark) and printed as PDF (``files.pdf_bytes``,
through the existing renderer), so the three never disagree.

Rules kept here, for every report:

- **Whose data.** Counselors see only their caseload (``access.patient_filter``): their
  reports count and name only those patients; admins and planners see everyone. The reports
  built on enrolments (census, hours, outcomes) also keep the stays the counselor was primary
  counselor of (``access.enrolment_filter``), so a patient discharged from their care stays
  in their figures for that period.
- **Constant SQL.** Each report reads what it shows in a fixed number of statements,
  whatever the size of the clinic; long tables are paged on the page (``PageWindow``)
  and complete in the files.
- **Nobody vanishes.** A patient counts where they were enrolled, also with no attendance,
  no check-in or no second measurement.
- **Audit.** A page that names patients is recorded as a "view" of them; every file is
  recorded as an "export" naming the report, its filters and the patients in it.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Callable

from ..errors import RuleViolation
from ..page_window import PageWindow

#: The longest period a report covers (a year, so a census stays one readable chart).
MAX_PERIOD_DAYS = 366
#: The period a report covers when none is chosen: the last four weeks, today included.
DEFAULT_PERIOD_DAYS = 28
#: Rows of a long table per page (the files always hold every row).
PAGE_SIZE = 50
#: What a counselor's census, hours and outcomes cover (``access.enrolment_filter``).
STAYS_NOTE = ("Your caseload only: the stays you were primary counselor of, and the patients you are "
              "responsible for today.")


@dataclass(frozen=True)
class Column:
    """A table column: its heading and how its cells read ("text", "int", "hours", "date", "percent")."""

    label: str
    kind: str = "text"


@dataclass
class Table:
    """One table of a report. ``rows`` hold plain values (text, numbers, dates, None)."""

    key: str
    title: str
    columns: tuple[Column, ...]
    rows: list[tuple] = field(default_factory=list)
    #: For a paged table on the page: which rows are shown (None: all of them).
    window: PageWindow | None = None
    #: What to say when there are no rows.
    empty: str = "Nothing to show."
    #: A closing row (totals), drawn apart from the rows.
    footer: tuple | None = None
    #: What one row is, for the pager ("3 of 120 patients").
    noun: str = "patient"
    #: True for the table the page shows a page of (``window``), also when built whole.
    paged: bool = False
    #: A paged table's patient per row (parallel to ``rows``), so a stored page names only its
    #: own patients in the audit trail (``runs.page_of``); None when its rows name nobody.
    row_patients: list[int] | None = field(default=None, compare=False, repr=False)


@dataclass
class Report:
    """What one report says, whatever it is drawn as."""

    key: str
    title: str
    #: The period or week in words ("1 November 2026 to 28 November 2026").
    period: str
    #: Sentences that say what is counted and how (shown above the tables and in the PDF).
    notes: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    #: An SVG chart (see ``census.CensusChart``), or None.
    chart: Any = None
    #: The patients the report names (for the audit trail).
    patient_ids: list[int] = field(default_factory=list)
    #: The filters in plain values, for the audit trail and the download links.
    filters: dict = field(default_factory=dict)

    def table(self, key: str) -> Table:
        return next(t for t in self.tables if t.key == key)


@dataclass(frozen=True)
class ReportFilters:
    """What a person chose: a period (``start`` to ``end``), a week (its Monday), a track."""

    start: date
    end: date
    week: date
    track_id: int | None = None
    page: int = 1


def _day(value: str | None, what: str) -> date | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise RuleViolation(f"The {what} must be a date like 2026-11-30.") from None


def parse_filters(args, today: date | None = None, track_ids: set[int] | None = None) -> ReportFilters:
    """Read ``from``, ``to``, ``week``, ``track`` and ``page`` from ``args`` (a mapping).

    Empty values take the defaults (the last four weeks; the last complete week). A date
    that is not a date, a period that ends before it starts or is longer than a year, or a
    track that does not exist raises ``RuleViolation`` with a message for the form.
    """
    from ..page_window import page_number

    today = today or date.today()
    end = _day(args.get("to"), "end of the period") or today
    start = _day(args.get("from"), "start of the period") or end - timedelta(days=DEFAULT_PERIOD_DAYS - 1)
    if end < start:
        raise RuleViolation("The period ends before it starts: choose an end on or after the start.")
    if (end - start).days + 1 > MAX_PERIOD_DAYS:
        raise RuleViolation(f"A report covers at most {MAX_PERIOD_DAYS} days: choose a shorter period.")
    week_day = _day(args.get("week"), "week")
    monday = (week_day or today - timedelta(days=7))
    monday = monday - timedelta(days=monday.weekday())
    track_raw = (args.get("track") or "").strip()
    track_id = None
    if track_raw:
        if not track_raw.isdigit() or len(track_raw) > 9 or (track_ids is not None and int(track_raw) not in track_ids):
            raise RuleViolation("Choose one of the tracks listed, or all tracks.")
        track_id = int(track_raw)
    return ReportFilters(start=start, end=end, week=monday, track_id=track_id, page=page_number(args.get("page")))


def half_up(value: float, digits: int = 1) -> float:
    """``value`` rounded as a person (or SQL's ``round``) does: halves away from zero, so
    45.25 days reads 45.3 and 8.25 h reads 8.3 (Python's ``round`` gives 45.2 and 8.2)."""
    return float(Decimal(str(value)).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP))


def long_date(day: date) -> str:
    return f"{day.day} {day.strftime('%B')} {day.year}"


def period_words(start: date, end: date) -> str:
    return long_date(start) if start == end else f"{long_date(start)} to {long_date(end)}"


@dataclass(frozen=True)
class ReportKind:
    """A report offered in the menu: its key, title, one-line purpose and builder."""

    key: str
    title: str
    purpose: str
    #: "period" (from/to) or "week".
    takes: str
    build: Callable[..., Report]
    #: The tables whose size says how long the whole-clinic report takes (``runs.estimate``).
    reads: tuple[str, ...] = ()

    @property
    def pages(self) -> bool:
        """True when the builder pages a long table (it takes ``everything``: all rows, for the files)."""
        return "everything" in inspect.signature(self.build).parameters


def kinds() -> list[ReportKind]:
    """Every report, in menu order."""
    from . import census, exercises, hours, outcomes, utilisation

    return [
        ReportKind("census", "Census", "Patients enrolled per track per day; admissions, step-downs, "
                   "discharges and average length of stay.", "period", census.build, ("enrolment",)),
        ReportKind("hours", "Hours against the minimum", "Who attended less than their track's weekly minimum "
                   "in a week, and who is at risk of it this week.", "week", hours.build, ("attendance",)),
        ReportKind("utilisation", "Utilisation", "Per group and activity: sessions held and cancelled, "
                   "attendance against capacity, no-shows, minutes lost to late arrival and early leaving.",
                   "period", utilisation.build, ("attendance",)),
        ReportKind("exercises", "Exercises", "Per exercise and track: assignments, check-ins done, partly and "
                   "not done, mood change; the kindness dose per track against the weekly target.",
                   "period", exercises.build, ("exercise_checkin", "assignment")),
        ReportKind("outcomes", "Outcomes by track", "Per track: patients discharged, baseline and latest "
                   "PHQ-9, response and remission, and who had no second measurement.", "period",
                   outcomes.build, ("measure_administration", "enrolment")),
    ]


def kind(key: str) -> ReportKind | None:
    return next((k for k in kinds() if k.key == key), None)


__all__ = ["Column", "Report", "ReportFilters", "ReportKind", "Table", "kind", "kinds", "parse_filters",
           "period_words", "long_date", "half_up", "MAX_PERIOD_DAYS", "PAGE_SIZE"]

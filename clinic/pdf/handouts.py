"""Take-home paper: a handout per kindness exercise and a patient's personal kindness plan.

Both functions render, then add an audit "export" event to the transaction and commit
it (unless told ``commit=False``: the caller commits, e.g. once the file is written), so
a document that could not be rendered leaves no trace and every one that was leaves
exactly one. The plan is addressed by ``Patient.display_name`` only: no record
number, no last name, nobody else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta

from ..extensions import db
from ..models import Assignment, KindnessExercise, Patient
from ..services import audit
from ..services.participants import week_assignments
from ..services.participation import monday_of
from .render import day_month, period_text, render_pdf

#: Column heads of a week, Monday first.
WEEKDAY_SHORT = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

DIRECTION_LABELS = {"others": "Kindness toward others", "self": "Kindness toward yourself"}
ENERGY_LABELS = {
    "low": "Needs little energy",
    "medium": "Needs some energy",
    "high": "Needs more energy",
}

PLAN_TITLE = "My kindness plan"

_STEP = re.compile(r"^\s*\d{1,2}[.)]\s+")
_BULLET = re.compile(r"^\s*[-*•]\s+")


# Text typed into the catalogue ------------------------------------------------------------
@dataclass(frozen=True)
class TextBlock:
    """A run of lines between blank lines: numbered ``steps``, ``bullets`` or ``paragraphs``."""

    kind: str
    lines: tuple[str, ...]


def text_blocks(text: str | None) -> list[TextBlock]:
    """Split typed text into blocks; numbered lines become steps, dashed lines bullets.

    The lines stay plain strings: the template escapes them like any other text.
    """
    blocks: list[TextBlock] = []
    for chunk in re.split(r"\n\s*\n", (text or "").replace("\r\n", "\n").strip()):
        lines = [line.strip() for line in chunk.split("\n") if line.strip()]
        if not lines:
            continue
        if all(_STEP.match(line) for line in lines):
            blocks.append(TextBlock("steps", tuple(_STEP.sub("", line) for line in lines)))
        elif all(_BULLET.match(line) for line in lines):
            blocks.append(TextBlock("bullets", tuple(_BULLET.sub("", line) for line in lines)))
        else:
            blocks.append(TextBlock("paragraphs", tuple(lines)))
    return blocks


def prompt_lines(text: str | None) -> list[str]:
    """Reflection prompts: one per non-empty line."""
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def times_text(times: int, unit: str = "week", this: bool = False) -> str:
    """``once this week``, ``3 times a week`` ..."""
    when = f"this {unit}" if this else f"a {unit}"
    if times == 1:
        return f"once {when}"
    if times == 2:
        return f"twice {when}"
    return f"{times} times {when}"


# Exercise handout ------------------------------------------------------------------------
@dataclass(frozen=True)
class HandoutSheet:
    """What the handout template shows besides the exercise's own fields."""

    why: list[TextBlock]
    how: list[TextBlock]
    prompts: list[str]
    direction_label: str
    energy_label: str
    times_label: str
    day_names: tuple[str, ...] = WEEKDAY_SHORT


def handout_sheet(exercise: KindnessExercise) -> HandoutSheet:
    """The handout's content for ``exercise``."""
    return HandoutSheet(
        why=text_blocks(exercise.why_it_helps),
        how=text_blocks(exercise.how_to),
        prompts=prompt_lines(exercise.reflection_prompts),
        direction_label=DIRECTION_LABELS.get(exercise.direction, exercise.direction),
        energy_label=ENERGY_LABELS.get(exercise.energy, exercise.energy),
        times_label="Usually " + times_text(exercise.default_times_per_week or 1),
    )


def handout_html_context(exercise: KindnessExercise, large_print: bool = False) -> dict:
    """Template name, title and context of a handout (shared with the benchmark)."""
    return {
        "template_name": "pdf/handout.html",
        "title": exercise.title,
        "subtitle": "Kindness exercise",
        "exercise": exercise,
        "handout": handout_sheet(exercise),
        "large_print": bool(large_print),
    }


def exercise_handout(exercise: KindnessExercise, large_print: bool = False, *, commit: bool = True) -> bytes:
    """A take-home handout for one exercise, with a week grid to tick by hand; audited.

    The export event is added once the PDF exists and committed unless ``commit`` is False.
    """
    pdf = render_pdf(**handout_html_context(exercise, large_print))
    audit.record(
        "export",
        entity="kindness_exercise",
        entity_id=exercise.id,
        changes={"document": "exercise_handout", "large_print": bool(large_print)},
    )
    if commit:
        db.session.commit()
    return pdf


# Personal kindness plan -----------------------------------------------------------------
@dataclass(frozen=True)
class PlanDay:
    """A column of the plan's grid."""

    name: str
    date: str


@dataclass(frozen=True)
class PlanRow:
    """One active exercise on the plan; ``open_days`` is False before it starts or after it is due."""

    title: str
    aim: str
    summary: str
    open_days: tuple[bool, ...]


@dataclass(frozen=True)
class PlanSheet:
    """Everything one patient's plan prints. ``name`` is the display name, nothing more."""

    name: str
    title: str
    period: str
    week_start: date
    days: tuple[PlanDay, ...]
    rows: tuple[PlanRow, ...] = field(default_factory=tuple)


def plan_sheet(patient: Patient, week_start: date, assignments: list[Assignment],
               name: str | None = None) -> PlanSheet:
    """One patient's plan for the week starting on ``week_start`` (a Monday).

    ``name`` is the name to print when the plan is printed with others' (a packet: see
    ``services.printed_names``); by default the patient's display name.
    """
    days = [week_start + timedelta(days=offset) for offset in range(7)]
    rows = []
    for assignment in assignments:
        exercise = assignment.exercise
        rows.append(
            PlanRow(
                title=exercise.title,
                aim=times_text(assignment.times_per_week, this=True),
                summary=exercise.summary or "",
                open_days=tuple(
                    assignment.start_date <= day
                    and (assignment.due_date is None or day <= assignment.due_date)
                    for day in days
                ),
            )
        )
    return PlanSheet(
        name=name or patient.display_name,
        title=PLAN_TITLE,
        period="Week of " + period_text(days[0], days[-1]),
        week_start=week_start,
        days=tuple(PlanDay(WEEKDAY_SHORT[i], day_month(day)) for i, day in enumerate(days)),
        rows=tuple(rows),
    )


def plan_html_context(patient: Patient, week_start: date, large_print: bool = False) -> dict:
    """Template name, title and context of a patient's plan (one query; shared with the benchmark)."""
    week_start = monday_of(week_start)
    assignments = week_assignments([patient.id], week_start).get(patient.id, [])
    return {
        "template_name": "pdf/plan.html",
        "title": PLAN_TITLE,
        "plan": plan_sheet(patient, week_start, assignments),
        "large_print": bool(large_print),
    }


def kindness_plan(patient: Patient, week_start: date, large_print: bool = False, *,
                  commit: bool = True) -> bytes:
    """A patient's personal kindness plan for the week containing ``week_start``; audited.

    Lists the patient's active exercises with a tick box per day and the times per
    week, addressed by the display name only. The export event is added once the PDF
    exists and committed unless ``commit`` is False.
    """
    pdf = render_pdf(**plan_html_context(patient, week_start, large_print))
    audit.record(
        "export",
        entity="patient",
        entity_id=patient.id,
        changes={"document": "kindness_plan", "large_print": bool(large_print), "patients": [patient.id]},
    )
    if commit:
        db.session.commit()
    return pdf


__all__ = [
    "PlanSheet",
    "exercise_handout",
    "handout_html_context",
    "kindness_plan",
    "plan_html_context",
    "plan_sheet",
    "text_blocks",
]

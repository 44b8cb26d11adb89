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

from flask_babel import force_locale, gettext, ngettext, pgettext

from ..extensions import db
from ..i18n import N_
from ..models import Assignment, KindnessExercise, Patient
from ..services import audit, languages
from ..services.exercise_texts import ExerciseWords, words_for
from ..services.participants import week_assignments
from ..services.participation import monday_of
from .render import (
    day_month,
    period_text,
    printed_text,
    printing_language,
    printing_locale,
    render_pdf,
    weekday_short_names,
)

#: The labels are catalogue entries, translated where they are printed.
DIRECTION_LABELS = {"others": N_("Kindness toward others"), "self": N_("Kindness toward yourself")}
ENERGY_LABELS = {
    "low": N_("Needs little energy"),
    "medium": N_("Needs some energy"),
    "high": N_("Needs more energy"),
}

PLAN_TITLE = N_("My kindness plan")

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
    """``once this week``, ``3 times a week`` ... (``unit`` is ``week`` or another English word)."""
    if unit != "week":
        when = f"this {unit}" if this else f"a {unit}"
        return {1: f"once {when}", 2: f"twice {when}"}.get(times, f"{times} times {when}")
    if times == 2:
        return gettext("twice this week") if this else gettext("twice a week")
    if this:
        return ngettext("once this week", "%(num)d times this week", times)
    return ngettext("once a week", "%(num)d times a week", times)


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
    day_names: tuple[str, ...] = ()


def exercise_words(exercises, language: str | None = None) -> dict[int, ExerciseWords]:
    """Exercise id -> its texts in ``language`` (the language being printed by default), one query.

    The one lookup every printer asks (``services.exercise_texts.words_for``): a field not
    translated into the language prints in English.
    """
    return words_for(exercises, language or str(printing_locale()))


def handout_sheet(exercise: KindnessExercise, words: ExerciseWords | None = None) -> HandoutSheet:
    """The handout's content for ``exercise``, its texts in ``words`` (the language being printed)."""
    words = words or exercise_words([exercise])[exercise.id]
    return HandoutSheet(
        why=text_blocks(words.why_it_helps),
        how=text_blocks(words.how_to),
        prompts=prompt_lines(words.reflection_prompts),
        direction_label=gettext(DIRECTION_LABELS[exercise.direction])
        if exercise.direction in DIRECTION_LABELS else exercise.direction,
        energy_label=gettext(ENERGY_LABELS[exercise.energy]) if exercise.energy in ENERGY_LABELS else exercise.energy,
        times_label=gettext("Usually %(times)s", times=times_text(exercise.default_times_per_week or 1)),
        day_names=weekday_short_names(),
    )


def handout_html_context(exercise: KindnessExercise, large_print: bool = False) -> dict:
    """Template name, title and context of a handout in the language being printed (shared with the benchmark).

    The exercise's texts are in that language where translated, in English where not.
    """
    words = exercise_words([exercise])[exercise.id]
    return {
        "template_name": "pdf/handout.html",
        "title": words.title,
        "subtitle": gettext("Kindness exercise"),
        "exercise": exercise,
        "words": words,
        "handout": handout_sheet(exercise, words),
        "large_print": bool(large_print),
    }


def exercise_handout(exercise: KindnessExercise, large_print: bool = False, *, language: str | None = None,
                     commit: bool = True) -> bytes:
    """A take-home handout for one exercise, with a week grid to tick by hand; audited.

    ``language`` is one of ``services.languages.available()`` (English when not given;
    anything else is refused with ``FieldViolation``). The export event is added once the
    PDF exists and committed unless ``commit`` is False.
    """
    language = languages.check_language(language, "language")
    with force_locale(language):
        pdf = render_pdf(**handout_html_context(exercise, large_print))
    audit.record(
        "export",
        entity="kindness_exercise",
        entity_id=exercise.id,
        changes={"document": "exercise_handout", "large_print": bool(large_print), "language": language},
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
    #: "Aim: 3 times this week", in the plan's language.
    aim: str
    summary: str
    open_days: tuple[bool, ...]
    #: ``en`` for a title or summary printed in English as it is not translated into the plan's
    #: language (its element's ``lang``); empty when it is in the plan's language.
    title_lang: str = ""
    summary_lang: str = ""


@dataclass(frozen=True)
class PlanWords:
    """The plan's own words, in the language it was worded in (so a packet can mix languages)."""

    for_name: str
    greeting: str
    intro: str
    nothing_planned: str
    exercise: str
    noticed: str
    printed: str
    page_word: str
    page_of: str


def plan_words(name: str) -> PlanWords:
    """The words of a plan for ``name``, in the language being printed (``force_locale``)."""
    return PlanWords(
        for_name=gettext("For %(name)s", name=name),
        greeting=gettext("Hello %(name)s,", name=name),
        intro=gettext("These are the kindness exercises you are working on this week. Tick a box on "
                      "each day you do one. A small try counts, and a missed day is fine: just pick it "
                      "up again."),
        nothing_planned=gettext("There are no kindness exercises planned for you this week. Your "
                                "counselor can help you choose one when you are ready."),
        exercise=gettext("Exercise"),
        noticed=gettext("Something kind I noticed this week"),
        printed=printed_text(date.today()),
        page_word=pgettext("page footer", "Page"),
        page_of=pgettext("page footer", "of"),
    )


@dataclass(frozen=True)
class PlanSheet:
    """Everything one patient's plan prints. ``name`` is the display name, nothing more."""

    name: str
    title: str
    period: str
    week_start: date
    days: tuple[PlanDay, ...]
    rows: tuple[PlanRow, ...] = field(default_factory=tuple)
    #: The language the sheet was worded in (``<article lang>``) and its words.
    language: str = "en"
    words: PlanWords | None = None


def plan_sheet(patient: Patient, week_start: date, assignments: list[Assignment],
               name: str | None = None, words: dict[int, ExerciseWords] | None = None) -> PlanSheet:
    """One patient's plan for the week starting on ``week_start`` (a Monday).

    ``name`` is the name to print when the plan is printed with others' (a packet: see
    ``services.printed_names``); by default the patient's display name. The words are in
    the language being printed (``force_locale``), the exercises' titles and summaries too
    (``words``: the caller's ``exercise_words`` in that language, which a packet reads once
    for all its plans of a language; read here in one query when not given).
    """
    days = [week_start + timedelta(days=offset) for offset in range(7)]
    if words is None:
        words = exercise_words([assignment.exercise for assignment in assignments])
    rows = []
    for assignment in assignments:
        texts = words[assignment.exercise_id]
        rows.append(
            PlanRow(
                title=texts.title,
                title_lang="en" if "title" in texts.english else "",
                summary_lang="en" if "summary" in texts.english else "",
                aim=gettext("Aim: %(aim)s", aim=times_text(assignment.times_per_week, this=True)),
                summary=texts.summary or "",
                open_days=tuple(
                    assignment.start_date <= day
                    and (assignment.due_date is None or day <= assignment.due_date)
                    for day in days
                ),
            )
        )
    day_names = weekday_short_names()
    name = name or patient.display_name
    return PlanSheet(
        name=name,
        title=gettext(PLAN_TITLE),
        period=gettext("Week of %(period)s", period=period_text(days[0], days[-1])),
        week_start=week_start,
        days=tuple(PlanDay(day_names[i], day_month(day)) for i, day in enumerate(days)),
        rows=tuple(rows),
        language=printing_language(),
        words=plan_words(name),
    )


def patient_language(patient: Patient) -> str:
    """The language to print ``patient``'s paper in: the preferred one while its catalogue exists."""
    code = patient.preferred_language or languages.SOURCE_LANGUAGE
    return code if code in languages.available() else languages.SOURCE_LANGUAGE


def plan_html_context(patient: Patient, week_start: date, large_print: bool = False) -> dict:
    """Template name, title and context of a patient's plan (one query; shared with the benchmark)."""
    week_start = monday_of(week_start)
    assignments = week_assignments([patient.id], week_start).get(patient.id, [])
    return {
        "template_name": "pdf/plan.html",
        "title": gettext(PLAN_TITLE),
        "plan": plan_sheet(patient, week_start, assignments),
        "large_print": bool(large_print),
    }


def kindness_plan(patient: Patient, week_start: date, large_print: bool = False, *,
                  commit: bool = True) -> bytes:
    """A patient's personal kindness plan for the week containing ``week_start``; audited.

    Lists the patient's active exercises with a tick box per day and the times per
    week, addressed by the display name only, in the patient's preferred language (a
    language whose catalogue is gone prints in English). The export event is added once
    the PDF exists and committed unless ``commit`` is False.
    """
    language = patient_language(patient)
    with force_locale(language):
        pdf = render_pdf(**plan_html_context(patient, week_start, large_print))
    audit.record(
        "export",
        entity="patient",
        entity_id=patient.id,
        changes={"document": "kindness_plan", "large_print": bool(large_print), "patients": [patient.id],
                 "language": language},
    )
    if commit:
        db.session.commit()
    return pdf


__all__ = [
    "PlanSheet",
    "exercise_handout",
    "exercise_words",
    "handout_html_context",
    "kindness_plan",
    "patient_language",
    "plan_html_context",
    "plan_sheet",
    "text_blocks",
]

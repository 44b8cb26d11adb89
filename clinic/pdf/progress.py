"""Progress sheets: how a patient did over a period, in a staff version and a patient version.

Rendering only: the figures come ready from ``services.period_progress``
(one patient or many, eight statements), where "offered", "attended" and hours against the
track's minimum are defined for every page and document. ``staff_sheet`` and
``patient_sheet`` cut those figures into what each template prints; ``progress_sheet``
renders one, audits the export and commits (unless ``commit=False``: the caller commits).

The two versions are built from different objects on purpose:

- ``StaffSheet`` (``pdf/progress_staff.html``) has the full name and record number, the
  track history with its step-down path, sessions offered and attended, hours per ISO
  week against the track's minimum, engagement, every assignment with its done / partly /
  not done counts, the kindness dose per week (acts for others and for themselves against
  the weekly target, partly, connectedness), the mood chart, the individual notes (dated),
  the counselor's summary and next steps, and signature lines.
- ``PatientSheet`` (``pdf/progress_patient.html``) holds only the display name (preferred
  name, else first name and initial), a few counts phrased warmly (the week's acts of
  kindness among them, never a target, a verdict or a score), the mood chart and the
  current exercises. It never receives a note, a summary, next steps, a record number,
  a last name or any session's group note: group notes are typed by staff and may name
  other patients, so the patient version prints none of them. What a template is not
  given it cannot print.

Everything a person typed (names, notes, summary, next steps) reaches the templates as
plain strings and is escaped there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from ..extensions import db
from ..models import Patient
from ..services import audit
from ..services.chart import MoodChart
from ..services.errors import RuleViolation
from ..services.kindness_dose import DoseWeek, target
from ..services.period_lines import (
    ExerciseLine,
    MoodSummary,
    PatientProgress,
    SessionLine,
    TrackStep,
    WeekLine,
)
from ..services.period_progress import period_progress
from . import render
from .handouts import times_text
from .render import day_month, long_date, period_text

VERSIONS = ("staff", "patient")
VERSION_LABELS = {"staff": "Staff version", "patient": "Patient version"}
#: The longest period one sheet covers.
MAX_PERIOD_DAYS = 366
#: The most characters the summary and the next steps may each hold.
TEXT_LIMIT = 4000
STAFF_TITLE = "Progress sheet"
PATIENT_TITLE = "Your progress"
#: The document name audit events carry.
DOCUMENT = "progress_sheet"


def check_request(start: date, end: date, version: str, summary: str = "", next_steps: str = "") -> None:
    """Refuse a period, version or typed text a sheet cannot be made from (``RuleViolation``)."""
    if version not in VERSIONS:
        raise RuleViolation("Choose the staff version or the patient version.")
    if start is None or end is None:
        raise RuleViolation("Give the first and the last day of the period.")
    if end < start:
        raise RuleViolation("The period cannot end before it starts.")
    if (end - start).days + 1 > MAX_PERIOD_DAYS:
        raise RuleViolation(f"Choose a period of at most {MAX_PERIOD_DAYS} days.")
    for name, text in (("summary", summary), ("next steps", next_steps)):
        if len(text or "") > TEXT_LIMIT:
            raise RuleViolation(f"Keep the {name} to {TEXT_LIMIT} characters.")


# The staff version ----------------------------------------------------------------------------
@dataclass(frozen=True)
class NoteLine:
    """An individual note, with the session it was written for."""

    when: str
    group_name: str
    text: str


@dataclass(frozen=True)
class StaffSheet:
    """What the staff version prints."""

    title: str
    subtitle: str
    period: str
    full_name: str
    preferred_name: str
    record_number: str
    track_now: str
    counselor_now: str
    step_path: tuple[str, ...]
    history: tuple[TrackStep, ...]
    offered: int
    attended: int
    #: Attended over offered, in whole percent (None without any offered).
    attendance_rate: int | None
    unrecorded: int
    days_attended: int
    engagement: float | None
    engagement_count: int
    sessions: tuple[SessionLine, ...]
    weeks: tuple[WeekLine, ...]
    exercises: tuple[ExerciseLine, ...]
    done: int
    partly: int
    not_done: int
    chart: MoodChart
    mood: MoodSummary
    #: Acts of kindness per ISO week of the period against ``dose_target``, with connectedness.
    dose: tuple[DoseWeek, ...]
    dose_target: str
    notes: tuple[NoteLine, ...]
    #: PHQ-9 item 9 safety tasks of the period (services.safety.TaskLine): staff only.
    safety: tuple
    #: PHQ-9 and GAD-7 over time (services.measure_trend.MeasureTrend): staff only.
    trends: tuple
    #: The treatment plan's goals (services.treatment_plan.GoalLine) with the exercises serving each.
    goals: tuple
    #: The counselor's typed text, as paragraphs (line breaks inside are kept).
    summary: tuple[str, ...]
    next_steps: tuple[str, ...]


def paragraphs(text: str | None) -> tuple[str, ...]:
    """Typed text split at blank lines; each paragraph keeps its own line breaks."""
    chunks = re.split(r"\n\s*\n", (text or "").replace("\r\n", "\n").replace("\r", "\n"))
    return tuple("\n".join(line.rstrip() for line in chunk.strip().split("\n")) for chunk in chunks if chunk.strip())


def _session_when(line: SessionLine) -> str:
    return f"{line.starts_at:%a} {day_month(line.day)} {line.starts_at:%H:%M}"


def _track_words(progress: PatientProgress) -> str:
    """The track at the end of the period, or what happened instead: a patient discharged (or
    not yet enrolled) at the end of the period is not simply "not enrolled"."""
    now = progress.enrolment_now
    if now:
        return now.track_name
    at = min(progress.end, progress.today)
    ended = [e for e in progress.history if e.end_date is not None and e.end_date < at]
    if ended:
        last = ended[-1]
        return f"{last.track_name} until {long_date(last.end_date)} ({last.status_label})"
    coming = [e for e in progress.history if e.start_date > at]
    if coming:
        return f"not yet enrolled (joins {coming[0].track_name} on {long_date(coming[0].start_date)})"
    return "not enrolled"


def _last_counselor(progress: PatientProgress) -> str:
    """The primary counselor of the last enrolment that ended before the period's end."""
    at = min(progress.end, progress.today)
    ended = [e for e in progress.history if e.end_date is not None and e.end_date < at]
    return ended[-1].counselor if ended else ""


def staff_sheet(progress: PatientProgress, summary: str = "", next_steps: str = "",
                name: str | None = None) -> StaffSheet:
    """The staff version of ``progress``, with the counselor's typed summary and next steps.

    ``name`` is the name in the title when printed with others (``printed_names.staff_names``).
    """
    patient = progress.patient
    now = progress.enrolment_now
    engagement, rated = progress.engagement
    return StaffSheet(
        title=f"{STAFF_TITLE}: {name or patient.full_name}",
        subtitle=f"Staff version · record no. {patient.record_number} · contains clinical notes",
        period=period_text(progress.start, progress.end),
        full_name=patient.full_name,
        preferred_name=patient.preferred_name or "",
        record_number=patient.record_number,
        track_now=_track_words(progress),
        counselor_now=(now.counselor if now else _last_counselor(progress)) or "—",
        step_path=progress.step_path,
        history=progress.history,
        offered=progress.offered,
        attended=progress.attended,
        attendance_rate=progress.attendance_rate,
        unrecorded=progress.unrecorded,
        days_attended=progress.days_attended,
        engagement=engagement,
        engagement_count=rated,
        sessions=progress.sessions,
        weeks=progress.weeks,
        exercises=progress.exercises,
        done=progress.done,
        partly=progress.partly,
        not_done=progress.not_done,
        chart=progress.chart,
        mood=progress.mood,
        dose=progress.dose,
        dose_target=target().text,
        notes=tuple(
            NoteLine(when=_session_when(s), group_name=s.group_name, text=s.note)
            for s in progress.sessions if s.note
        ),
        safety=progress.safety,
        trends=progress.trends,
        goals=progress.goals,
        summary=paragraphs(summary),
        next_steps=paragraphs(next_steps),
    )


# The patient version -------------------------------------------------------------------------
@dataclass(frozen=True)
class CurrentExercise:
    """An exercise the patient is working on now."""

    title: str
    aim: str
    summary: str


@dataclass(frozen=True)
class PatientSheet:
    """What the patient version prints: the display name, kind words, the chart, exercises.

    Deliberately holds no note, summary, next steps, record number or last name.
    """

    title: str
    name: str
    period: str
    intro: str
    wins: tuple[str, ...]
    #: The acts of kindness of each week that had any, in warm words (no target, no score).
    kindness: tuple[str, ...]
    kindness_thanks: str
    chart: MoodChart
    chart_words: str
    exercises: tuple[CurrentExercise, ...]
    closing: str
    #: The treatment plan's goals in plain words (``patient_goal_words``): no dates of review, no codes.
    goals: tuple[str, ...] = ()


def _times(count: int) -> str:
    if count == 1:
        return "once"
    if count == 2:
        return "twice"
    return f"{count} times"


def patient_wins(attended: int, done: int, partly: int, lifted: int, moods_noted: int) -> tuple[str, ...]:
    """Small wins in plain, warm words; when there were few, gentle ones, never a reproach."""
    wins = []
    if attended:
        wins.append(f"You came to {attended} group session{'s' if attended != 1 else ''}. "
                    "Showing up takes energy, and you did it.")
    else:
        wins.append("Your group is there for you whenever you feel ready. There is nothing to catch up on.")
    if done:
        more = f", and gave one a try {_times(partly)} more" if partly else ""
        wins.append(f"You did a kindness exercise {_times(done)}{more}. Each one is a real act of kindness.")
    elif partly:
        wins.append(f"You gave a kindness exercise a try {_times(partly)}. "
                    "Starting is often the hardest part, and you did it.")
    else:
        wins.append("Kindness exercises can wait for a day with a little more energy. "
                    "Even noticing one kind moment counts.")
    if lifted:
        wins.append(f"Your mood lifted after an exercise {_times(lifted)}.")
    elif moods_noted:
        wins.append("Thank you for noticing how you felt. Paying attention to your mood is a skill in itself.")
    return tuple(wins)


def _acts(count: int) -> str:
    return f"{count} act{'s' if count != 1 else ''} of kindness"


def kindness_week_words(week: DoseWeek) -> str | None:
    """A week's acts of kindness as the patient reads them; None for a week without any.

    "In the week of 9 Mar you did 4 acts of kindness: 3 for others and 1 for yourself."
    Partly done exercises are thanked for as tries; nothing is measured against a target.
    """
    if not week.acts:
        return None
    if week.for_others and week.for_self:
        whom = f": {week.for_others} for others and {week.for_self} for yourself"
    else:
        whom = ", all for others" if week.for_others else ", all for yourself"
        if week.acts == 1:
            whom = " for others" if week.for_others else " for yourself"
    tried = f" You gave {week.partly} more a try." if week.partly else ""
    return f"In the week of {day_month(week.first)} you did {_acts(week.acts)}{whom}.{tried}"


def kindness_words(weeks: tuple[DoseWeek, ...]) -> tuple[tuple[str, ...], str]:
    """The patient sheet's lines about acts of kindness, and a thank-you for the connectedness answers."""
    lines = tuple(text for text in (kindness_week_words(week) for week in weeks) if text)
    if not lines:
        lines = ("When you feel ready, one small act of kindness, for someone else or for yourself, "
                 "is a good place to start.",)
    answered = any(week.connectedness is not None for week in weeks)
    thanks = ("Thank you for telling us, week by week, how connected you felt to other people."
              if answered else "")
    return lines, thanks


def patient_sheet(progress: PatientProgress, name: str | None = None) -> PatientSheet:
    """The patient version of ``progress``: addressed by the display name only.

    ``name`` is the name to print when the sheet is printed with others
    (``services.printed_names``: "Bart R." when two Barts are in the batch).
    """
    name = name or progress.patient.display_name
    kindness = kindness_words(progress.dose)
    return PatientSheet(
        title=f"{PATIENT_TITLE}, {name}",
        name=name,
        period=period_text(progress.start, progress.end),
        intro=f"Here is a look back at {period_text(progress.start, progress.end)}. "
              "Every step counts, including the small ones.",
        wins=patient_wins(progress.attended, progress.done, progress.partly, progress.mood.lifted,
                          len(progress.chart.days)),
        kindness=kindness[0],
        kindness_thanks=kindness[1],
        chart=progress.chart,
        chart_words=(
            "Each mark is a day you noted your mood: the dashed line with circles shows how you felt "
            "before an exercise, the solid line with squares how you felt after."
            if progress.chart.has_data else ""
        ),
        exercises=tuple(
            CurrentExercise(title=e.title, aim=times_text(e.times_per_week), summary=e.summary)
            for e in progress.current_exercises
        ),
        closing="Be patient with yourself: small steps add up.",
        goals=patient_goal_words(progress.goals),
    )


def patient_goal_words(goals) -> tuple[str, ...]:
    """The plan's goals as the patient reads them: what they are working towards (and by when),
    what they reached, and the exercises that help; discontinued goals are left out."""
    words = []
    for g in goals:
        helping = [e.title for e in g.exercises if e.status in ("active", "paused", "completed")]
        helps = f" The exercises that help with it: {', '.join(helping)}." if helping else ""
        if g.status == "active":
            words.append(f"You are working towards this: {g.statement} (by {long_date(g.target_date)}).{helps}")
        elif g.status == "met":
            words.append(f"You reached this goal: {g.statement}. Well done.")
    return tuple(words)


# Wording the templates use ----------------------------------------------------------------
def week_dates(week: WeekLine) -> str:
    """``2 Mar – 8 Mar`` (one day when the week's part in the period is a single day)."""
    if week.first == week.last:
        return day_month(week.first)
    return f"{day_month(week.first)} – {day_month(week.last)}"


def assigned_dates(line: ExerciseLine) -> str:
    """``from 2 Mar 2026`` or ``2 Mar 2026 – 30 Mar 2026``."""
    since = f"{day_month(line.start_date)} {line.start_date.year}"
    if line.due_date is None:
        return f"from {since}"
    return f"{since} – {day_month(line.due_date)} {line.due_date.year}"


#: Helpers every progress template receives.
WORDING = {"week_dates": week_dates, "assigned_dates": assigned_dates, "times_text": times_text}


# Rendering -----------------------------------------------------------------------------------
def sheet_html_context(progress: PatientProgress, version: str, summary: str = "",
                       next_steps: str = "", name: str | None = None) -> dict:
    """Template name, title and context of one sheet of ``version`` (``name``: as printed with others)."""
    if version == "staff":
        sheet = staff_sheet(progress, summary, next_steps, name)
        return {"template_name": "pdf/progress_staff.html", "title": sheet.title, "sheet": sheet, **WORDING}
    sheet = patient_sheet(progress, name)
    return {"template_name": "pdf/progress_patient.html", "title": sheet.title, "sheet": sheet, **WORDING}


def progress_html_context(patient: Patient, start: date, end: date, *, version: str = "staff",
                          summary: str = "", next_steps: str = "", today: date | None = None) -> dict:
    """Template name, title and context of one patient's sheet (eight statements; for the benchmark)."""
    check_request(start, end, version, summary, next_steps)
    progress = period_progress([patient], start, end, today)[patient.id]
    return sheet_html_context(progress, version, summary, next_steps)


def audit_export(patient_id: int, version: str, start: date, end: date, **extra) -> None:
    """Add the "export" event of one progress sheet to the transaction (the caller commits)."""
    audit.record(
        "export",
        entity="patient",
        entity_id=patient_id,
        changes={"document": DOCUMENT, "version": version, "from": start.isoformat(),
                 "to": end.isoformat(), "patients": [patient_id], **extra},
    )


def progress_sheet(patient: Patient, start: date, end: date, *, version: str = "staff",
                   summary: str = "", next_steps: str = "", commit: bool = True) -> bytes:
    """One patient's progress sheet over ``start`` to ``end`` as PDF bytes; audited.

    ``version`` is "staff" (everything, with ``summary`` and ``next_steps`` as typed by
    the counselor) or "patient" (display name, small wins, the chart and the current
    exercises; no notes of any kind, including group notes, which may name other
    patients; the summary and next steps are not printed on it). Refuses a bad period or
    version with ``RuleViolation``. The export event (entity "patient", document
    "progress_sheet", the version and period) is added once the PDF exists, attributed
    to the logged-in user or to the CLI's label, and committed unless ``commit`` is False.
    """
    context = progress_html_context(patient, start, end, version=version, summary=summary,
                                    next_steps=next_steps)
    pdf = render.render_pdf(**context)
    audit_export(patient.id, version, start, end)
    if commit:
        db.session.commit()
    return pdf


__all__ = [
    "DOCUMENT",
    "MAX_PERIOD_DAYS",
    "PatientSheet",
    "StaffSheet",
    "TEXT_LIMIT",
    "VERSIONS",
    "VERSION_LABELS",
    "audit_export",
    "assigned_dates",
    "check_request",
    "kindness_week_words",
    "kindness_words",
    "patient_sheet",
    "patient_wins",
    "progress_html_context",
    "progress_sheet",
    "sheet_html_context",
    "staff_sheet",
    "week_dates",
]

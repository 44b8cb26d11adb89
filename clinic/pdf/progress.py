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

Languages: the staff version is in the staff's language (English). The patient version is
in the patient's preferred language (``handouts.patient_language``): ``sheet_html_context``
words it inside ``force_locale``, and every word it prints (headings, sentences, dates,
numbers, the chart's legend and axes, the "Page X of Y" footer) travels with the
``PatientSheet``, so a batch can hold sheets in several languages, rendered in one process
or in a job's chunks alike. The exercises' titles and summaries come through one function,
``_exercise_words``, from the catalogue's translations (``services.exercise_texts``; a batch
reads them for all its sheets in one statement). A goal made from its track's default goal, and
still reading the same, prints in the track's translation (``services.track_texts``; a batch
reads those in one statement too). Other goals, names and anything else a person typed print as typed.

Everything a person typed (names, notes, summary, next steps) reaches the templates as
plain strings and is escaped there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date
from types import SimpleNamespace

from babel.dates import format_date
from babel.numbers import format_decimal
from flask_babel import force_locale, gettext, ngettext, pgettext

from ..extensions import db
from ..models import Patient
from ..i18n import SOURCE_LANGUAGE
from ..services import audit, exercise_texts, track_texts
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
from .handouts import patient_language, times_text
from .render import day_month, long_date, period_text, printed_text

VERSIONS = ("staff", "patient")
VERSION_LABELS = {"staff": "Staff version", "patient": "Patient version"}
#: The longest period one sheet covers.
MAX_PERIOD_DAYS = 366
#: The most characters the summary and the next steps may each hold.
TEXT_LIMIT = 4000
STAFF_TITLE = "Progress sheet"
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
# Worded in the patient's language (``patient_language``): ``patient_sheet`` is called inside
# ``force_locale`` (``sheet_html_context`` does it) and every word it prints, down to the page
# footer and the chart's legend, travels with the ``PatientSheet``, so a sheet renders the same
# wherever it is rendered (one process, a job's chunk) and beside sheets in other languages.
@dataclass(frozen=True)
class ExerciseWords:
    """An exercise's words as a patient's sheet prints them."""

    title: str
    summary: str = ""


def sheet_exercise_ids(progress: PatientProgress) -> set[int]:
    """The exercises a patient sheet of ``progress`` names (current ones and those under goals)."""
    lines = [*progress.current_exercises, *(e for g in progress.goals for e in g.exercises)]
    return {line.exercise_id for line in lines if getattr(line, "exercise_id", None) is not None}


def _exercise_words(exercises, language: str, rows: dict | None = None) -> dict[int, ExerciseWords]:
    """Assignment id -> the title and summary of its exercise in ``language``.

    The one place the patient sheet takes an exercise's words from (the current exercises
    and the exercises under each goal): the catalogue's translation
    (``services.exercise_texts``), each field in English where it is not translated. ``rows``
    are the translations read for a whole batch at once (``exercise_texts.translated_rows``);
    without them this sheet's are read (one statement, none in English).
    """
    first: dict[int, object] = {}
    for line in exercises:  # the first line of an assignment wins (a goal's lines carry no summary)
        first.setdefault(line.assignment_id, line)
    sources: dict[int, SimpleNamespace] = {}
    for line in first.values():
        exercise_id = getattr(line, "exercise_id", None)
        if exercise_id is not None and exercise_id not in sources:
            sources[exercise_id] = SimpleNamespace(id=exercise_id, title=line.title,
                                                   summary=getattr(line, "summary", "") or "",
                                                   why_it_helps="", how_to="", reflection_prompts="")
    if rows is None:
        rows = (exercise_texts.translated_rows(sources, [language])
                if sources and language != SOURCE_LANGUAGE else {})
    words: dict[int, ExerciseWords] = {}
    for assignment_id, line in first.items():
        summary = getattr(line, "summary", "") or ""
        source = sources.get(getattr(line, "exercise_id", None))
        if source is None:
            words[assignment_id] = ExerciseWords(line.title, summary)
            continue
        found = exercise_texts.words_from(source, language, rows.get((source.id, language)))
        # A line printed without a summary (a goal's) stays without one in every language.
        words[assignment_id] = ExerciseWords(found.title or line.title, found.summary if summary else "")
    return words


@dataclass(frozen=True)
class CurrentExercise:
    """An exercise the patient is working on now."""

    title: str
    #: "aim for 3 times a week", in the sheet's language.
    aim: str
    summary: str


@dataclass(frozen=True)
class PatientWords:
    """The patient sheet's own words (headings, greeting, footer), in the sheet's language."""

    greeting: str
    wins: str
    kindness: str
    felt: str
    goals: str
    exercises: str
    no_exercises: str
    proud: str
    printed: str
    page_word: str
    page_of: str


def patient_words(name: str) -> PatientWords:
    """The words of a patient sheet for ``name``, in the language being printed (``force_locale``)."""
    return PatientWords(
        greeting=gettext("Hello %(name)s,", name=name),
        wins=gettext("Your small wins"),
        kindness=gettext("Your acts of kindness"),
        felt=gettext("How you felt"),
        goals=gettext("Your goals"),
        exercises=gettext("Your kindness exercises now"),
        no_exercises=gettext("You have no kindness exercises at the moment. Your counselor can help you "
                             "choose one when you are ready."),
        proud=gettext("Something I am proud of"),
        printed=printed_text(date.today()),
        page_word=pgettext("page footer", "Page"),
        page_of=pgettext("page footer", "of"),
    )


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
    #: The language the sheet is worded in (``<html lang>``, ``<article lang>``) and its fixed words.
    language: str = "en"
    words: PatientWords | None = None


def _times(count: int) -> str:
    """``once``, ``twice``, ``3 times``."""
    if count == 2:
        return gettext("twice")
    return ngettext("once", "%(num)d times", count)


def patient_wins(attended: int, done: int, partly: int, lifted: int, moods_noted: int) -> tuple[str, ...]:
    """Small wins in plain, warm words; when there were few, gentle ones, never a reproach."""
    wins = []
    if attended:
        wins.append(ngettext("You came to %(num)d group session. Showing up takes energy, and you did it.",
                             "You came to %(num)d group sessions. Showing up takes energy, and you did it.",
                             attended))
    else:
        wins.append(gettext("Your group is there for you whenever you feel ready. There is nothing to catch up on."))
    if done and partly:
        wins.append(gettext("You did a kindness exercise %(done)s, and gave one a try %(partly)s more. "
                            "Each one is a real act of kindness.", done=_times(done), partly=_times(partly)))
    elif done:
        wins.append(gettext("You did a kindness exercise %(done)s. Each one is a real act of kindness.",
                            done=_times(done)))
    elif partly:
        wins.append(gettext("You gave a kindness exercise a try %(partly)s. "
                            "Starting is often the hardest part, and you did it.", partly=_times(partly)))
    else:
        wins.append(gettext("Kindness exercises can wait for a day with a little more energy. "
                            "Even noticing one kind moment counts."))
    if lifted:
        wins.append(gettext("Your mood lifted after an exercise %(times)s.", times=_times(lifted)))
    elif moods_noted:
        wins.append(gettext("Thank you for noticing how you felt. Paying attention to your mood is a skill "
                            "in itself."))
    return tuple(wins)


def _acts(count: int) -> str:
    return ngettext("%(num)d act of kindness", "%(num)d acts of kindness", count)


def kindness_week_words(week: DoseWeek) -> str | None:
    """A week's acts of kindness as the patient reads them; None for a week without any.

    "In the week of 9 Mar you did 4 acts of kindness: 3 for others and 1 for yourself."
    Partly done exercises are thanked for as tries; nothing is measured against a target.
    """
    if not week.acts:
        return None
    when, acts = day_month(week.first), _acts(week.acts)
    if week.for_others and week.for_self:
        line = gettext("In the week of %(week)s you did %(acts)s: %(others)s for others and %(own)s for "
                       "yourself.", week=when, acts=acts, others=_number(week.for_others),
                       own=_number(week.for_self))
    elif week.acts == 1:
        line = (gettext("In the week of %(week)s you did %(acts)s for others.", week=when, acts=acts)
                if week.for_others else
                gettext("In the week of %(week)s you did %(acts)s for yourself.", week=when, acts=acts))
    else:
        line = (gettext("In the week of %(week)s you did %(acts)s, all for others.", week=when, acts=acts)
                if week.for_others else
                gettext("In the week of %(week)s you did %(acts)s, all for yourself.", week=when, acts=acts))
    if week.partly:
        line += " " + gettext("You gave %(num)s more a try.", num=_number(week.partly))
    return line


def kindness_words(weeks: tuple[DoseWeek, ...]) -> tuple[tuple[str, ...], str]:
    """The patient sheet's lines about acts of kindness, and a thank-you for the connectedness answers."""
    lines = tuple(text for text in (kindness_week_words(week) for week in weeks) if text)
    if not lines:
        lines = (gettext("When you feel ready, one small act of kindness, for someone else or for yourself, "
                         "is a good place to start."),)
    answered = any(week.connectedness is not None for week in weeks)
    thanks = (gettext("Thank you for telling us, week by week, how connected you felt to other people.")
              if answered else "")
    return lines, thanks


def _number(value) -> str:
    """A count as the language writes it (``1,234`` / ``1.234``)."""
    return format_decimal(value, locale=render.printing_locale())


def _day_month_year(day: date) -> str:
    """``1 March 2026`` (``1 de marzo de 2026``)."""
    return format_date(day, gettext("d MMMM y"), locale=render.printing_locale())


def _chart_description(chart: MoodChart, before: str, after: str) -> str:
    """The chart's plain-words summary (its ``desc``, or the line printed when there is no mood),
    as ``services.chart`` words it, in the language being printed."""
    span = {"start": _day_month_year(chart.start), "end": _day_month_year(chart.end)}
    days = chart.days
    if not days:
        return gettext("No moods were noted from %(start)s to %(end)s.", **span)
    parts = [ngettext("%(num)d day with a mood noted from %(start)s to %(end)s.",
                      "%(num)d days with a mood noted from %(start)s to %(end)s.", len(days), **span)]
    for key, label in (("before", before), ("after", after)):
        noted = [d for d in days if getattr(d, key) is not None]
        if not noted:
            continue
        values = [getattr(d, key) for d in noted]
        first, last = noted[0], noted[-1]
        if len(noted) == 1:
            parts.append(gettext("%(label)s: %(value)s on %(day)s.", label=label, value=_mood(values[0]),
                                 day=day_month(first.day)))
        else:
            parts.append(gettext(
                "%(label)s: between %(low)s and %(high)s, %(first)s on %(first_day)s and %(last)s on "
                "%(last_day)s.", label=label, low=_mood(min(values)), high=_mood(max(values)),
                first=_mood(getattr(first, key)), first_day=day_month(first.day),
                last=_mood(getattr(last, key)), last_day=day_month(last.day)))
    return " ".join(parts)


def _mood(value: float) -> str:
    """A mood with one decimal as the language writes it (``5.5`` / ``5,5``)."""
    return format_decimal(value, "0.0", locale=render.printing_locale())


def patient_chart(chart: MoodChart) -> MoodChart:
    """``chart`` with its words (legend, axes, date labels, title and description) in the language
    being printed. The drawing is the same; only the words change (in English, nothing does)."""
    before, after = gettext("Mood before"), gettext("Mood after")
    return replace(
        chart,
        title=gettext("Mood before and after kindness exercises"),
        description=_chart_description(chart, before, after),
        before=replace(chart.before, label=before),
        after=replace(chart.after, label=after),
        y_title=gettext("Mood (0–10)"),
        x_title=gettext("Day of check-in"),
        x_ticks=tuple(replace(tick, label=day_month(tick.day)) if tick.day else tick for tick in chart.x_ticks),
        y_ticks=tuple(replace(tick, label=_number(int(tick.label))) if tick.label.isdigit() else tick
                      for tick in chart.y_ticks),
    )


def patient_sheet(progress: PatientProgress, name: str | None = None, *,
                  translations: dict | None = None, goal_texts: dict | None = None) -> PatientSheet:
    """The patient version of ``progress``: addressed by the display name only.

    ``name`` is the name to print when the sheet is printed with others
    (``services.printed_names``: "Bart R." when two Barts are in the batch). Worded in the
    language being printed: call it inside ``force_locale(patient_language(patient))``
    (``sheet_html_context`` does). ``translations``: the exercise translations read for a
    whole batch (``exercise_texts.translated_rows``); without them the sheet reads its own.
    ``goal_texts``: the tracks' translated default goals read for a whole batch
    (``track_texts.goal_rows``); without them the sheet reads its own (none in English).
    """
    name = name or progress.patient.display_name
    language = render.printing_language()
    kindness = kindness_words(progress.dose)
    period = period_text(progress.start, progress.end)
    exercise_words = _exercise_words(
        [*progress.current_exercises, *(e for g in progress.goals for e in g.exercises)], language, translations)
    return PatientSheet(
        title=gettext("Your progress, %(name)s", name=name),
        name=name,
        period=period,
        intro=gettext("Here is a look back at %(period)s. Every step counts, including the small ones.",
                      period=period),
        wins=patient_wins(progress.attended, progress.done, progress.partly, progress.mood.lifted,
                          len(progress.chart.days)),
        kindness=kindness[0],
        kindness_thanks=kindness[1],
        chart=patient_chart(progress.chart),
        chart_words=(
            gettext("Each mark is a day you noted your mood. The dashed line with circles shows how you felt "
                    "before an exercise. The solid line with squares shows how you felt after.")
            if progress.chart.has_data else ""
        ),
        exercises=tuple(
            CurrentExercise(title=exercise_words[e.assignment_id].title,
                            aim=gettext("aim for %(times)s", times=times_text(e.times_per_week)),
                            summary=exercise_words[e.assignment_id].summary)
            for e in progress.current_exercises
        ),
        closing=gettext("Be patient with yourself: small steps add up."),
        goals=patient_goal_words(progress.goals, exercise_words, language,
                                 goal_texts if goal_texts is not None else _goal_texts(progress, language)),
        language=language,
        words=patient_words(name),
    )


def sheet_goal_tracks(progress: PatientProgress) -> set[int]:
    """The tracks whose default goal a patient sheet of ``progress`` may print (translated)."""
    return {g.track_id for g in progress.goals if g.from_track_default and g.track_id is not None}


def _goal_texts(progress: PatientProgress, language: str) -> dict:
    """One sheet's translated default goals: one statement, none in English or without such goals."""
    tracks = sheet_goal_tracks(progress)
    if not tracks or language == SOURCE_LANGUAGE:
        return {}
    return track_texts.goal_rows(tracks, [language])


def patient_goal_words(goals, exercise_words: dict[int, ExerciseWords] | None = None,
                       language: str | None = None, goal_texts: dict | None = None) -> tuple[str, ...]:
    """The plan's goals as the patient reads them: what they are working towards (and by when),
    what they reached, and the exercises that help; discontinued goals are left out. The goal
    is printed as typed, except a goal made from its track's default goal and still reading
    the same, printed in the track's translation into ``language`` when ``goal_texts``
    (``track_texts.goal_rows``) has one; the words around it are in the language being printed."""
    exercise_words = exercise_words or {}
    goal_texts = goal_texts or {}
    words = []
    for g in goals:
        statement = track_texts.goal_text(g.statement, g.from_track_default, getattr(g, "track_id", None),
                                          getattr(g, "track_default_goal", ""), language, goal_texts)
        helping = [exercise_words[e.assignment_id].title if e.assignment_id in exercise_words else e.title
                   for e in g.exercises if e.status in ("active", "paused", "completed")]
        if g.status == "active":
            line = gettext("You are working towards this: %(goal)s (by %(date)s).", goal=statement,
                           date=long_date(g.target_date))
            if helping:
                line += " " + gettext("The exercises that help with it: %(exercises)s.",
                                      exercises=", ".join(helping))
            words.append(line)
        elif g.status == "met":
            words.append(gettext("You reached this goal: %(goal)s. Well done.", goal=statement))
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
def sheet_language(patient: Patient, version: str) -> str:
    """The language a sheet is worded in: the patient's (``patient_language``) on the patient
    version, the staff's on the staff version."""
    if version == "patient":
        return patient_language(patient)
    return render.printing_language()


def sheet_html_context(progress: PatientProgress, version: str, summary: str = "",
                       next_steps: str = "", name: str | None = None, *,
                       translations: dict | None = None, goal_texts: dict | None = None) -> dict:
    """Template name, title and context of one sheet of ``version`` (``name``: as printed with others).

    The staff version is worded in the staff's language; the patient version in its patient's
    (``patient_language``): its words, dates, numbers, chart and page footer come worded in the
    context, so it renders the same in any process and beside sheets in other languages.
    """
    if version == "staff":
        sheet = staff_sheet(progress, summary, next_steps, name)
        return {"template_name": "pdf/progress_staff.html", "title": sheet.title, "sheet": sheet, **WORDING}
    with force_locale(sheet_language(progress.patient, version)):
        sheet = patient_sheet(progress, name, translations=translations, goal_texts=goal_texts)
    return {"template_name": "pdf/progress_patient.html", "title": sheet.title, "sheet": sheet,
            "document_language": sheet.language, "printed_text": sheet.words.printed, **WORDING}


def progress_html_context(patient: Patient, start: date, end: date, *, version: str = "staff",
                          summary: str = "", next_steps: str = "", today: date | None = None) -> dict:
    """Template name, title and context of one patient's sheet (eight statements; for the benchmark)."""
    check_request(start, end, version, summary, next_steps)
    progress = period_progress([patient], start, end, today)[patient.id]
    return sheet_html_context(progress, version, summary, next_steps)


def audit_export(patient_id: int, version: str, start: date, end: date, **extra) -> None:
    """Add the "export" event of one progress sheet to the transaction (the caller commits).

    ``extra`` is added to the event's changes (``language``: the patient version's language).
    """
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
    patients; the summary and next steps are not printed on it), worded in the patient's
    language (``patient_language``; the staff version in the staff's). Refuses a bad period or
    version with ``RuleViolation``. The export event (entity "patient", document
    "progress_sheet", the version and period) is added once the PDF exists, attributed
    to the logged-in user or to the CLI's label, and committed unless ``commit`` is False.
    """
    context = progress_html_context(patient, start, end, version=version, summary=summary,
                                    next_steps=next_steps)
    pdf = render.render_pdf(**context)
    audit_export(patient.id, version, start, end,
                 **({"language": context["document_language"]} if version == "patient" else {}))
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
    "patient_chart",
    "patient_words",
    "progress_sheet",
    "sheet_html_context",
    "sheet_language",
    "staff_sheet",
    "week_dates",
]

"""``flask --app wsgi print ...``: printed documents from the command line.

Every command renders through the same functions as the admin, so each export is
audited, attributed to "cli". Output files hold patient data: they are created with
owner-only rights (0600). The audit events are committed with the file: the document
functions are called with ``commit=False``, the PDF is written to a temporary file
beside the target and renamed into place, and only then are the events committed, so
an export that could not be written leaves no event, and one whose events could not be
committed leaves no file. Every refusal is one line (``Error: ...``).

    flask --app wsgi print handout --exercise "Write a note of appreciation" [--large] [--language es] --output FILE.pdf
    flask --app wsgi print plan --patient ID [--week YYYY-MM-DD] [--large] --output FILE.pdf
    flask --app wsgi print packet --session ID --output FILE.pdf
    flask --app wsgi print progress (--track iop | --group NAME_OR_ID | --patient ID)
        --from 2026-03-01 --to 2026-03-31 [--version staff|patient] [--jobs N] --output FILE.pdf

Registered in ``clinic/cli.py`` with ``app.cli.add_command(print_cli)``.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from datetime import date, datetime
from functools import partial
from pathlib import Path

import click
import sqlalchemy as sa
from flask.cli import AppGroup

from ..cli_errors import OneLineCommand
from ..extensions import db
from ..models import CareGroup, GroupSession, KindnessExercise, Patient, Track
from ..services import audit, languages, period_notes, print_jobs
from ..services.errors import RuleViolation
from . import batches, handouts, packets, progress

print_cli = AppGroup("print", help="Print handouts, kindness plans, session packets and progress sheets to PDF files.")
print_cli.command_class = OneLineCommand

#: The label every CLI export is audited under.
CLI_ACTOR = "cli"


# Shared helpers for every print command (progress sheets included) ------------------------
def output_option(function):
    """The ``--output FILE.pdf`` option every print command takes."""
    return click.option(
        "--output", "-o", "output", required=True,
        type=click.Path(dir_okay=False, writable=True, path_type=Path),
        help="Where to write the PDF (created with owner-only rights).",
    )(function)


def _temporary_file(output: Path):
    """An open, owner-only temporary file beside ``output``, or a one-line refusal."""
    if output.is_dir():
        raise click.ClickException(f"{output} is a folder: give the name of a PDF file to write.")
    folder = output.parent
    if not folder.is_dir():
        raise click.ClickException(f"The folder {folder} does not exist; nothing was written.")
    try:
        fd, name = tempfile.mkstemp(prefix=f".{output.name}.", suffix=".part", dir=folder)
    except OSError as exc:
        raise click.ClickException(f"Cannot write to {folder} ({exc.strerror}); nothing was written.") from None
    return os.fdopen(fd, "wb"), Path(name)


def export_pdf(output: Path, render: Callable[..., bytes]) -> bytes:
    """Render a PDF and write it to ``output`` (mode 0600), audited only when it was written.

    ``render`` is a document function ready to call but for ``commit``: it is called
    with ``commit=False``, so its audit events stay in the transaction. They are flushed
    (a database that refuses them stops the export before any file is touched), the PDF
    is written to a temporary file in the target folder and renamed into place, and
    then the events are committed. If rendering or writing fails nothing is committed;
    if the commit fails the file is removed. Returns the PDF's bytes.
    """
    handle, temporary = _temporary_file(output)
    try:
        with handle:
            data = render(commit=False)
            db.session.flush()
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, output)
    except OSError as exc:
        db.session.rollback()
        temporary.unlink(missing_ok=True)
        raise click.ClickException(f"Cannot write {output} ({exc.strerror}); nothing was written.") from None
    except BaseException:
        db.session.rollback()
        temporary.unlink(missing_ok=True)
        raise
    try:
        db.session.commit()
    except BaseException:
        db.session.rollback()
        output.unlink(missing_ok=True)
        raise
    return data


def report(output: Path, data: bytes, what: str) -> None:
    """Tell the user what was written (never a patient's name)."""
    click.echo(f"Wrote {what} to {output} ({max(1, round(len(data) / 1024))} KiB).")


def parse_day(value: str | None, option: str) -> date | None:
    """A ``YYYY-MM-DD`` option value as a date (None when empty)."""
    if not value:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not a date: use the form YYYY-MM-DD, e.g. 2026-01-12", param_hint=option
        ) from None


def get_or_fail(model, record_id: int, what: str):
    """The row ``record_id`` of ``model``, or a clear error."""
    row = db.session.get(model, record_id)
    if row is None:
        raise click.ClickException(f"There is no {what} with id {record_id}.")
    return row


def find_exercise(title_or_id: str) -> KindnessExercise:
    """An exercise by id (digits) or by its exact title, ignoring case."""
    text = title_or_id.strip()
    if text.isdigit():
        return get_or_fail(KindnessExercise, int(text), "exercise")
    exercise = db.session.scalar(
        sa.select(KindnessExercise).where(sa.func.lower(KindnessExercise.title) == text.lower())
    )
    if exercise is None:
        raise click.ClickException(f"There is no exercise titled {text!r}.")
    return exercise


# Commands -------------------------------------------------------------------------------
@print_cli.command("handout")
@click.option("--exercise", "exercise_ref", required=True, metavar="TITLE_OR_ID",
              help="The exercise, by id or exact title.")
@click.option("--large", is_flag=True, help="Large print (18 pt).")
@click.option("--language", default="en", metavar="CODE", help="en (default) or a language with a catalogue: es.")
@output_option
def handout_command(exercise_ref: str, large: bool, language: str, output: Path) -> None:
    """A take-home handout for one kindness exercise."""
    with audit.acting_as(None, label=CLI_ACTOR):
        exercise = find_exercise(exercise_ref)
        try:
            language = languages.check_language(language, "language")
        except RuleViolation as exc:
            raise click.ClickException(str(exc)) from exc
        data = export_pdf(output, partial(handouts.exercise_handout, exercise, large_print=large,
                                          language=language))
    report(output, data, f"the handout for exercise {exercise.id}")


@print_cli.command("plan")
@click.option("--patient", "patient_id", required=True, type=int, help="The patient's id.")
@click.option("--week", default=None, metavar="YYYY-MM-DD", help="A day in the week (default: this week).")
@click.option("--large", is_flag=True, help="Large print (18 pt).")
@output_option
def plan_command(patient_id: int, week: str | None, large: bool, output: Path) -> None:
    """A patient's personal kindness plan for one week."""
    day = parse_day(week, "--week") or date.today()
    with audit.acting_as(None, label=CLI_ACTOR):
        patient = get_or_fail(Patient, patient_id, "patient")
        data = export_pdf(output, partial(handouts.kindness_plan, patient, day, large_print=large))
    report(output, data, f"the kindness plan of patient {patient_id}")


@print_cli.command("packet")
@click.option("--session", "session_id", required=True, type=int, help="The group session's id.")
@output_option
def packet_command(session_id: int, output: Path) -> None:
    """A session packet: the sign-in sheet, then each roster member's plan."""
    with audit.acting_as(None, label=CLI_ACTOR):
        session = get_or_fail(GroupSession, session_id, "session")
        data = export_pdf(output, partial(packets.session_packet, session))
    report(output, data, f"the packet of session {session_id}")


# Progress sheets ------------------------------------------------------------------------
def find_track(code_or_id: str) -> Track:
    """A track by id (digits) or by its code, ignoring case."""
    text = code_or_id.strip()
    if text.isdigit():
        return get_or_fail(Track, int(text), "track")
    track = db.session.scalar(sa.select(Track).where(sa.func.lower(Track.code) == text.lower()))
    if track is None:
        codes = ", ".join(db.session.scalars(sa.select(Track.code).order_by(Track.care_level)))
        raise click.ClickException(f"There is no track with code {text!r} (the tracks are: {codes or 'none'}).")
    return track


def find_group(name_or_id: str) -> CareGroup:
    """A group by id (digits) or by its exact name, ignoring case."""
    text = name_or_id.strip()
    if text.isdigit():
        return get_or_fail(CareGroup, int(text), "group")
    group = db.session.scalar(sa.select(CareGroup).where(sa.func.lower(CareGroup.name) == text.lower()))
    if group is None:
        raise click.ClickException(f"There is no group named {text!r}.")
    return group


@print_cli.command("progress")
@click.option("--track", "track_ref", default=None, metavar="CODE_OR_ID",
              help="Everyone enrolled in this track during the period (e.g. iop).")
@click.option("--group", "group_ref", default=None, metavar="NAME_OR_ID",
              help="Everyone who was a member of this group during the period.")
@click.option("--patient", "patient_id", default=None, type=int, help="One patient, by id.")
@click.option("--from", "start_text", required=True, metavar="YYYY-MM-DD", help="The first day of the period.")
@click.option("--to", "end_text", required=True, metavar="YYYY-MM-DD", help="The last day of the period.")
@click.option("--version", type=click.Choice(progress.VERSIONS), default="staff", show_default=True,
              help="staff (figures, notes, signature) or patient (to give to the patient).")
@click.option("--jobs", "jobs", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Render a batch with N local processes in parallel (1: in this process).")
@output_option
def progress_command(track_ref: str | None, group_ref: str | None, patient_id: int | None,
                     start_text: str, end_text: str, version: str, jobs: int, output: Path) -> None:
    """Progress sheets over a period: for a track, a group or one patient, as one PDF.

    Each sheet starts on a new page and numbers its own pages. Staff sheets print the
    summary and next steps saved for exactly this period on the print form, else lines
    to write them on. With ``--jobs N`` a batch is rendered in chunks by N local
    processes and joined, as the background print jobs do. Nothing is written when
    the track, group or patient is unknown, the dates are wrong or nobody is found.
    """
    if sum(ref is not None for ref in (track_ref, group_ref, patient_id)) != 1:
        raise click.UsageError("Give exactly one of --track, --group or --patient.")
    start = parse_day(start_text, "--from")
    end = parse_day(end_text, "--to")
    try:
        progress.check_request(start, end, version)
    except RuleViolation as exc:
        raise click.BadParameter(str(exc), param_hint="--from/--to") from exc
    with audit.acting_as(None, label=CLI_ACTOR):
        if patient_id is not None:
            patient = get_or_fail(Patient, patient_id, "patient")
            note = period_notes.note_for(patient.id, start, end)
            data = export_pdf(output, partial(progress.progress_sheet, patient, start, end, version=version,
                                              summary=note.summary if note else "",
                                              next_steps=note.next_steps if note else ""))
            what = f"the {version} progress sheet of patient {patient_id}"
        else:
            if track_ref is not None:
                target, kind = find_track(track_ref), "track"
                patients = batches.track_patients(target, start, end, version)
            else:
                target, kind = find_group(group_ref), "group"
                patients = batches.group_patients(target, start, end, version)
            if not patients:
                raise click.ClickException(
                    f"Nobody was in {kind} {target.name!r} from {start.isoformat()} to {end.isoformat()}; "
                    "nothing was written."
                )
            with click.progressbar(length=len(patients), label=f"Progress sheets for {len(patients)} patients",
                                   show_pos=True) as bar:
                data = export_pdf(output, partial(
                    print_jobs.local_batch, patients, start, end, version, jobs=jobs, progress=bar.update,
                    title=batches.batch_title(version, target.name, start, end),
                    source={kind: target.id},
                ))
            what = f"{len(patients)} {version} progress sheets for {kind} {target.id}"
    report(output, data, what)


__all__ = [
    "CLI_ACTOR", "export_pdf", "find_exercise", "find_group", "find_track", "output_option",
    "parse_day", "print_cli",
]

"""``flask --app wsgi report ...``: a report written to a file from the command line.

The same builders and file writers as the Reports pages (``services.reports``), so a file
from here says exactly what the page's download says. By default the whole clinic, audited
as "cli"; ``--as EMAIL`` writes it as that staff member would get it (a counselor's caseload
only) and audits it under their name. Files hold patient data: they are written owner-only
(0600) through a temporary file, and the "export" event is committed only once the file is
in place (``pdf.cli.export_pdf``'s rules). Bad options are one line (``Error: ...``) and write
nothing.

    flask --app wsgi report census --from 2026-11-01 --to 2026-11-30 [--track iop] [--table daily] -o census.csv
    flask --app wsgi report hours --week 2026-11-23 [--track iop] -o hours.pdf
    flask --app wsgi report utilisation|exercises|outcomes --from ... --to ... -o FILE.csv|pdf
"""

from __future__ import annotations

from pathlib import Path

import click
import sqlalchemy as sa
from flask.cli import AppGroup

from .cli_errors import OneLineCommand
from .extensions import db
from .models import StaffUser, Track
from .services import audit
from .services.errors import RuleViolation
from .services.reports import files, kind, kinds, parse_filters

report_cli = AppGroup("report", help="Write a report (census, hours against the minimum, ...) to a CSV or PDF file.")
report_cli.command_class = OneLineCommand


class _Clinic:
    """The CLI's own reader: an operator sees the whole clinic."""

    role = "admin"
    id = None
    is_authenticated = True


def _track_id(code_or_id: str | None) -> str:
    if not code_or_id:
        return ""
    track = db.session.scalar(sa.select(Track).where(sa.or_(Track.code == code_or_id,
                                                            sa.cast(Track.id, sa.String) == code_or_id)))
    if track is None:
        codes = ", ".join(db.session.scalars(sa.select(Track.code).order_by(Track.care_level)))
        raise click.ClickException(f"There is no track {code_or_id!r} (tracks: {codes}).")
    return str(track.id)


def _write(report_key: str, args: dict, output: Path, table_key: str | None, as_email: str | None) -> None:
    from .pdf.cli import export_pdf, report as tell

    found = kind(report_key)
    if as_email:
        user = db.session.scalar(sa.select(StaffUser).where(sa.func.lower(StaffUser.email) == as_email.lower()))
        if user is None or not user.is_active_account:
            raise click.ClickException(f"There is no active staff account {as_email}.")
    else:
        user = _Clinic()
    extension = output.suffix.lower().lstrip(".")
    if extension not in ("csv", "pdf"):
        raise click.ClickException("Give an output file ending in .csv or .pdf.")
    track_ids = set(db.session.scalars(sa.select(Track.id)))
    try:
        filters = parse_filters(args, track_ids=track_ids)
    except RuleViolation as refused:
        raise click.ClickException(str(refused)) from None
    with audit.acting_as(user if as_email else None, label="cli"):
        built = found.build(filters, user, **({"everything": True} if found.pages else {}))
        if extension == "pdf":
            table = None

            def render(commit: bool = False) -> bytes:
                data = files.pdf_bytes(built)
                files.export_event(built, "pdf")
                return data
        else:
            key = table_key or built.tables[-1].key
            table = next((t for t in built.tables if t.key == key), None)
            if table is None:
                raise click.ClickException(
                    f"The {found.title} report has no table {key!r} (tables: "
                    f"{', '.join(t.key for t in built.tables)}).")

            def render(commit: bool = False) -> bytes:
                data = files.csv_bytes(built, table)
                files.export_event(built, "csv", table)
                return data
        data = export_pdf(output, render)
    tell(output, data, f"the {found.title.lower()} report ({built.period})"
         + (f", table {table.key}" if table is not None else ""))


def _common(function):
    for decorator in reversed((
        click.option("--track", "track", default=None, help="A track's code or id (default: all tracks)."),
        click.option("--table", "table_key", default=None, help="For CSV: which table (default: the detailed one)."),
        click.option("--as", "as_email", default=None, help="Write it as this staff member would get it."),
        click.option("--output", "-o", "output", required=True,
                     type=click.Path(dir_okay=False, writable=True, path_type=Path),
                     help="The file to write: .csv or .pdf (created with owner-only rights)."),
    )):
        function = decorator(function)
    return function


def _period_command(key: str, help_text: str):
    @click.option("--from", "start", default=None, help="First day, YYYY-MM-DD (default: 27 days before --to).")
    @click.option("--to", "end", default=None, help="Last day, YYYY-MM-DD (default: today).")
    @_common
    def command(start, end, track, table_key, as_email, output) -> None:
        _write(key, {"from": start or "", "to": end or "", "track": _track_id(track)}, output, table_key, as_email)

    command.__doc__ = help_text
    return report_cli.command(key)(command)


def _week_command(key: str, help_text: str):
    @click.option("--week", default=None, help="A day of the week, YYYY-MM-DD (default: last week).")
    @_common
    def command(week, track, table_key, as_email, output) -> None:
        _write(key, {"week": week or "", "track": _track_id(track)}, output, table_key, as_email)

    command.__doc__ = help_text
    return report_cli.command(key)(command)


# One command a report, from the same list as the Reports menu.
for _kind in kinds():
    (_period_command if _kind.takes == "period" else _week_command)(_kind.key, _kind.purpose)


__all__ = ["report_cli", "kinds"]

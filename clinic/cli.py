"""Command-line tools: ``flask --app wsgi seed`` and ``flask --app wsgi user ...``.

Every refusal is one line (``Error: ...``) with a non-zero exit, and leaves the
database as it was (see ``clinic.cli_errors``).
"""

from __future__ import annotations

import os

import click
from flask import Flask
from flask.cli import AppGroup, with_appcontext
from sqlalchemy.exc import IntegrityError

from .cli_errors import OneLineCommand
from .extensions import db
from .models import ROLES
from .services import accounts, audit, two_factor

user_cli = AppGroup("user", help="Manage staff accounts.")
user_cli.command_class = OneLineCommand

#: Said when the e-mail is taken, also when another process took it a moment ago.
DUPLICATE_EMAIL = "An account with this e-mail already exists."


def _password_from_env_or_prompt() -> str:
    password = os.environ.get("CLINIC_PASSWORD")
    if password:
        return password
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


@user_cli.command("create")
@click.argument("email")
@click.option("--role", type=click.Choice(ROLES), required=True, help="What the person may do.")
@click.option("--name", "full_name", default="", help="Full name shown in the app.")
def create_user_command(email: str, role: str, full_name: str) -> None:
    """Create a staff account; the password comes from CLINIC_PASSWORD or a prompt."""
    password = _password_from_env_or_prompt()
    with audit.acting_as(None, label="cli"):
        try:
            user = accounts.create_user(email, full_name, role, password)
        except accounts.AccountError as exc:
            raise click.ClickException(str(exc)) from None
        except IntegrityError:
            # Another process created the same e-mail between the check and the commit.
            db.session.rollback()
            raise click.ClickException(DUPLICATE_EMAIL) from None
    click.echo(f"Created {user.role} account {user.email}.")


@user_cli.command("set-password")
@click.argument("email")
def set_password_command(email: str) -> None:
    """Set a new password; it comes from CLINIC_PASSWORD or a prompt."""
    password = _password_from_env_or_prompt()
    with audit.acting_as(None, label="cli"):
        try:
            user = accounts.set_password(email, password)
        except accounts.AccountError as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(f"Password changed for {user.email}.")


@user_cli.command("deactivate")
@click.argument("email")
def deactivate_command(email: str) -> None:
    """Stop an account from logging in; its history stays."""
    with audit.acting_as(None, label="cli"):
        try:
            user = accounts.deactivate_user(email)
        except accounts.AccountError as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(f"Deactivated {user.email}.")


@user_cli.command("end-sessions")
@click.argument("email")
def end_sessions_command(email: str) -> None:
    """Log an account out everywhere at once (its open login sessions end)."""
    with audit.acting_as(None, label="cli"):
        try:
            ended = accounts.end_sessions(email)
        except accounts.AccountError as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(f"Ended {ended} login session{'s' if ended != 1 else ''} of {accounts.normalise_email(email)}.")


@user_cli.command("reset-2fa")
@click.argument("email")
def reset_two_factor_command(email: str) -> None:
    """Turn two-factor sign-in off (lost phone); the account's logins end and it enrols again."""
    with audit.acting_as(None, label="cli"):
        try:
            user = two_factor.reset(email)
        except accounts.AccountError as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(f"Two-factor sign-in reset for {user.email}.")


@click.command("seed", cls=OneLineCommand)
@with_appcontext
@click.option("--demo", is_flag=True, help="Also load the fictional demo clinic (never in production).")
def seed_command(demo: bool) -> None:
    """Load the tracks, exercise catalogue and activities; with --demo, the demo clinic.

    With --demo everything is one transaction, refused before anything is written in
    production or when a seed file is broken.
    """
    from .services import seeding

    with audit.acting_as(None, label="seed"):
        try:
            if demo:
                seeding.check_demo_allowed()
                spec = seeding.read_demo_spec()
            created = seeding.load_reference(commit=not demo)
            summary = ", ".join(f"{count} {kind}" for kind, count in created.items() if count)
            reference = f"Reference data: created {summary or 'nothing new (already loaded)'}."
            if not demo:
                click.echo(reference)
                return
            result = seeding.load_demo(spec=spec)
            db.session.commit()  # the reference data, when the demo was already there
        except seeding.SeedError as exc:
            db.session.rollback()
            raise click.ClickException(str(exc)) from None
    click.echo(reference)
    click.echo(result.describe())


def init_app(app: Flask) -> None:
    """Register the commands."""
    from .pdf.cli import print_cli
    from .report_cli import report_cli

    app.cli.add_command(user_cli)
    app.cli.add_command(seed_command)
    app.cli.add_command(print_cli)
    app.cli.add_command(report_cli)

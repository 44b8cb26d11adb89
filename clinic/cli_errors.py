"""How the command line refuses: one line (``Error: ...``), a non-zero exit, never a traceback.

Every ``flask`` command of the clinic uses ``OneLineCommand``. A refusal by the rules,
the database or the command-line parser is turned into one line of text, and the
transaction is rolled back so a refused command leaves the database as it was.
"""

from __future__ import annotations

import click
from flask import has_app_context
from sqlalchemy.exc import SQLAlchemyError

from .extensions import db
from .services.errors import RuleViolation


class OneLineUsageError(click.ClickException):
    """A wrong argument or option, told in one line without the usage text (exit status 2)."""

    exit_code = 2

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(part.strip() for part in message.splitlines() if part.strip()))


def database_message(exc: SQLAlchemyError) -> str:
    """One line about a database refusal: its first line only (later lines may echo values)."""
    original = getattr(exc, "orig", None) or exc
    lines = str(original).strip().splitlines()
    reason = lines[0].strip() if lines else type(original).__name__
    return f"The database refused the command ({reason}); nothing was changed."


def _roll_back() -> None:
    if has_app_context():
        db.session.rollback()


class OneLineCommand(click.Command):
    """A click command whose errors are one line and leave the database untouched."""

    def make_context(self, info_name, args, parent=None, **extra):
        """Parse the arguments; a usage error becomes one line."""
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except click.UsageError as exc:
            raise OneLineUsageError(exc.format_message()) from None

    def invoke(self, ctx):
        """Run the command; refusals roll back and become one line."""
        try:
            return super().invoke(ctx)
        except click.UsageError as exc:
            _roll_back()
            raise OneLineUsageError(exc.format_message()) from None
        except click.ClickException:
            _roll_back()
            raise
        except RuleViolation as exc:
            _roll_back()
            raise click.ClickException(str(exc)) from None
        except SQLAlchemyError as exc:
            _roll_back()
            raise click.ClickException(database_message(exc)) from None


__all__ = ["OneLineCommand", "OneLineUsageError", "database_message"]

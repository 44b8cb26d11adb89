"""Downgrade migrations that would drop recorded data refuse unless forced, and say what they would lose.

Used by the scripts in ``migrations/versions``. Forcing is explicit:
``flask db downgrade -x force=yes <revision>`` or ``CLINIC_DOWNGRADE_FORCE=1``.
"""

from __future__ import annotations

import os

import sqlalchemy as sa
from alembic import context, op

FORCE_VALUES = {"1", "yes", "true"}


def forced() -> bool:
    """True when the operator asked to downgrade whatever it loses."""
    x_args = context.get_x_argument(as_dictionary=True)
    return (x_args.get("force", "").lower() in FORCE_VALUES
            or os.environ.get("CLINIC_DOWNGRADE_FORCE", "").lower() in FORCE_VALUES)


def count(sql: str) -> int:
    """The number a counting query returns on the migration's connection."""
    return op.get_bind().execute(sa.text(sql)).scalar() or 0


def refuse_losing(counts: dict[str, int], step: str) -> None:
    """Stop the downgrade (one line, non-zero exit, nothing of this step done) unless forced."""
    lost = {what: n for what, n in counts.items() if n}
    if lost and not forced():
        listed = ", ".join(f"{n} {what}" for what, n in lost.items())
        raise SystemExit(
            f"Refusing to downgrade {step}: it would lose {listed}. Back up the database, then run "
            "again with '-x force=yes' (flask db downgrade -x force=yes ...) to accept the loss."
        )

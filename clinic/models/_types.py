"""Column helpers shared by the model modules."""

from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa


def utcnow() -> datetime:
    """Return the current time in UTC without tzinfo (how every timestamp is stored)."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def choice(name: str, values: tuple[str, ...], length: int = 20) -> sa.Enum:
    """A portable enumeration: a string column with a CHECK constraint named ``name``."""
    return sa.Enum(
        *values,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=length,
        validate_strings=True,
    )


class VersionedMixin:
    """Adds a row version that every UPDATE increments.

    Edit forms carry the version they were opened with, and a save made from an
    older version is refused instead of silently overwriting someone else's work.
    """

    #: Incremented by SQLAlchemy on each UPDATE of the row.
    version: sa.orm.Mapped[int] = sa.orm.mapped_column(sa.Integer, nullable=False, default=1)

    @sa.orm.declared_attr.directive
    def __mapper_args__(cls):  # noqa: N805
        return {"version_id_col": cls.version}

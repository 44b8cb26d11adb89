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


def trigram_index(name: str, column: str) -> sa.Index:
    """A PostgreSQL GIN trigram index on ``column`` for ``ILIKE '%term%'`` searches (migration 0009).

    It exists on PostgreSQL only (the ``pg_trgm`` extension); SQLite has no such index.
    """
    return sa.Index(
        name, column, postgresql_using="gin", postgresql_ops={column: "gin_trgm_ops"}
    ).ddl_if(dialect="postgresql")


def schema_filter(dialect: str):
    """An Alembic ``include_object`` hook leaving out what exists only on another database.

    An index built with a PostgreSQL access method (``postgresql_using``, e.g. the GIN
    trigram indexes) exists on PostgreSQL only. Autogenerate does not honour ``ddl_if``,
    so without this filter SQLite would "miss" those indexes.
    """

    def include_object(obj, name, type_, reflected, compare_to) -> bool:
        if type_ != "index" or reflected or dialect == "postgresql":
            return True
        return not obj.dialect_options["postgresql"]["using"]

    return include_object

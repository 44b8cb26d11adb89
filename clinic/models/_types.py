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


#: kB of new entries a trigram index keeps in its pending list before an insert merges them
#: into the index (migration 0011; PostgreSQL's default, 4096, makes every search read up
#: to 4 MB of unsorted entries until VACUUM runs).
GIN_PENDING_LIST_KB = 64


def trigram_index(name: str, column: str) -> sa.Index:
    """A PostgreSQL GIN trigram index on ``column`` for ``ILIKE '%term%'`` searches (migrations 0009, 0011).

    It exists on PostgreSQL only (the ``pg_trgm`` extension); SQLite has no such index.
    """
    return sa.Index(
        name, column, postgresql_using="gin", postgresql_ops={column: "gin_trgm_ops"},
        postgresql_with={"gin_pending_list_limit": GIN_PENDING_LIST_KB},
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

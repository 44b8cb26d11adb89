"""The migrations build exactly the schema that the models describe, on SQLite and PostgreSQL.

The ``app`` fixture's database was made only by running the migrations, so comparing
it with the models shows whether a model change is missing its migration.
"""

from __future__ import annotations

import os
import uuid

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import current_app

from clinic.extensions import db
from clinic.models._types import schema_filter
from conftest import PG_ADMIN_URL, _make_app, missing


def _alembic_config():
    """The Alembic configuration Flask-Migrate uses for the current application."""
    return current_app.extensions["migrate"].migrate.get_config()


def _differences(connection, metadata: sa.MetaData | None = None) -> list:
    """What autogenerate would put in a new migration for ``metadata`` (the models by default)."""
    context = MigrationContext.configure(
        connection,
        opts={
            "compare_type": True,
            "compare_server_default": True,
            # As migrations/env.py: PostgreSQL-only indexes are not expected on SQLite.
            "include_object": schema_filter(connection.dialect.name),
        },
    )
    return compare_metadata(context, db.metadata if metadata is None else metadata)


def _versions(connection) -> list[str]:
    return list(connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalars())


def test_the_migrated_schema_matches_the_models(app):
    with app.app_context(), db.engine.connect() as connection:
        differences = _differences(connection)
    assert differences == [], "models and migrations disagree:\n" + "\n".join(
        repr(d) for d in differences
    )


def test_the_schema_comparison_notices_a_column_the_migrations_lack(app):
    models = sa.MetaData(naming_convention=db.metadata.naming_convention)
    for table in db.metadata.sorted_tables:
        table.to_metadata(models)
    models.tables["patient"].append_column(sa.Column("shoe_size", sa.Integer, nullable=True))
    with app.app_context(), db.engine.connect() as connection:
        differences = _differences(connection, models)
    assert [(d[0], d[2], d[3].name) for d in differences] == [
        ("add_column", "patient", "shoe_size")
    ]


def test_every_check_constraint_of_the_models_is_in_the_database(app):
    # Autogenerate does not compare CHECK constraints, so compare their names here.
    missing_or_extra = {}
    with app.app_context(), db.engine.connect() as connection:
        inspector = sa.inspect(connection)
        for table in db.metadata.sorted_tables:
            expected = {
                str(c.name) for c in table.constraints if isinstance(c, sa.CheckConstraint)
            }
            actual = {c["name"] for c in inspector.get_check_constraints(table.name)}
            if expected != actual:
                missing_or_extra[table.name] = {
                    "missing": sorted(expected - actual),
                    "extra": sorted(actual - expected),
                }
    assert missing_or_extra == {}


def test_the_database_is_at_the_single_head_of_the_migrations(app):
    with app.app_context():
        heads = ScriptDirectory.from_config(_alembic_config()).get_heads()
        with db.engine.connect() as connection:
            recorded = _versions(connection)
            current = MigrationContext.configure(connection).get_current_heads()
    assert len(heads) == 1, f"the migrations have branched: {heads}"
    assert recorded == list(heads)
    assert current == tuple(heads)


@pytest.fixture
def scratch_url(backend, tmp_path):
    """An empty database of the chosen backend that only this test uses."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'scratch.sqlite'}"
        return
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except Exception:  # noqa: BLE001 - any failure means "not available"
        admin.dispose()
        missing(f"PostgreSQL at {PG_ADMIN_URL}")
    name = f"clinic_scratch_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin.url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _leftovers(connection) -> list[str]:
    """Every table, index, sequence, trigger or function left besides Alembic's own table."""
    if connection.dialect.name == "sqlite":
        query = (
            "SELECT type || ' ' || name FROM sqlite_master "
            "WHERE name NOT LIKE 'sqlite_%' AND name != 'alembic_version'"
        )
    else:
        query = (
            "SELECT 'relation ' || c.relname FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND c.relname NOT LIKE 'alembic_version%' "
            "UNION ALL SELECT 'function ' || p.proname FROM pg_proc p "
            "JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public' "
            "UNION ALL SELECT 'trigger ' || t.tgname FROM pg_trigger t WHERE NOT t.tgisinternal"
        )
    return sorted(connection.execute(sa.text(query)).scalars())


def _audit_update_refusal(connection) -> str:
    """Insert an audit event, try to change it, and return the database's refusal."""
    connection.execute(
        sa.text(
            "INSERT INTO audit_event (at, actor_email, action, entity, entity_id, changes, "
            "ip_address) VALUES (CURRENT_TIMESTAMP, 'cli', 'view', '', '', '{}', '')"
        )
    )
    with pytest.raises(sa.exc.DatabaseError) as caught:
        connection.execute(sa.text("UPDATE audit_event SET entity = 'tampered'"))
    return str(caught.value.orig)


def test_downgrading_to_base_and_upgrading_again_rebuilds_the_schema(scratch_url, tmp_path):
    app = _make_app(scratch_url, tmp_path)
    with app.app_context():
        try:
            config = _alembic_config()
            head = ScriptDirectory.from_config(config).get_current_head()
            expected_tables = set(db.metadata.tables) | {"alembic_version"}

            command.upgrade(config, "head")
            with db.engine.connect() as connection:
                assert set(sa.inspect(connection).get_table_names()) == expected_tables

            command.downgrade(config, "base")
            with db.engine.connect() as connection:
                assert sa.inspect(connection).get_table_names() == ["alembic_version"]
                assert _versions(connection) == []
                assert _leftovers(connection) == []

            command.upgrade(config, "head")
            with db.engine.connect() as connection:
                assert _versions(connection) == [head]
                differences = _differences(connection)
                assert differences == [], "\n".join(repr(d) for d in differences)
                # The append-only guard on the audit trail is back as well.
                assert "append-only" in _audit_update_refusal(connection)
                connection.rollback()
        finally:
            db.session.remove()
            db.engine.dispose()

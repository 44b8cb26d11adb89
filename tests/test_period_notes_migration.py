"""Migration 0008: the period notes table comes and goes, but never silently takes counselors' text with it."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic import command
from flask import current_app

from clinic.extensions import db
from conftest import _make_app
from test_migrations import scratch_url  # noqa: F401 - a fixture


def _write_one(conn) -> None:
    conn.execute(sa.text("INSERT INTO patient (record_number, first_name, last_name, active, created_at, version) "
                         "VALUES ('MRN-1', 'Bart', 'Ross', true, CURRENT_TIMESTAMP, 1)"))
    conn.execute(sa.text("INSERT INTO period_note (patient_id, period_from, period_to, summary, next_steps, "
                         "written_at, version) SELECT id, '2026-03-01', '2026-03-31', 'Steady.', '', "
                         "CURRENT_TIMESTAMP, 1 FROM patient"))


def test_downgrading_below_0008_refuses_while_summaries_exist_unless_forced(scratch_url, tmp_path,  # noqa: F811
                                                                           monkeypatch):
    monkeypatch.delenv("CLINIC_DOWNGRADE_FORCE", raising=False)
    app = _make_app(scratch_url, tmp_path)
    with app.app_context():
        try:
            config = current_app.extensions["migrate"].migrate.get_config()
            command.upgrade(config, "head")
            command.downgrade(config, "0007")  # empty: nothing to lose, it goes through
            command.upgrade(config, "head")
            with db.engine.begin() as conn:
                _write_one(conn)
                with pytest.raises(sa.exc.IntegrityError):  # the database refuses a reversed period
                    with conn.begin_nested():
                        conn.execute(sa.text(
                            "INSERT INTO period_note (patient_id, period_from, period_to, summary, next_steps, "
                            "written_at, version) SELECT id, '2026-03-31', '2026-03-01', '', '', "
                            "CURRENT_TIMESTAMP, 1 FROM patient"))
            with pytest.raises(SystemExit) as refused:
                command.downgrade(config, "0007")
            assert "1 counselor's summaries and next steps" in str(refused.value)
            with db.engine.connect() as conn:
                assert conn.execute(sa.text("SELECT count(*) FROM period_note")).scalar() == 1
            config.cmd_opts = type("Opts", (), {"x": ["force=yes"]})()
            command.downgrade(config, "0007")
            with db.engine.connect() as conn:
                assert "period_note" not in sa.inspect(conn).get_table_names()
        finally:
            db.session.remove()
            db.engine.dispose()

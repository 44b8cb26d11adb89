"""The everyday pages reach today's rows through indexes, not through the history (migration 0012).

The track page and whole-track assigning ask who is enrolled in a track on a day;
Records to finish and My day ask for the sessions whose record is not signed. Each is
answered by an index that leaves the ended enrolments and the signed sessions aside, so
these pages stay as fast with years of history as with a few weeks.

The plans are asked of an empty database, so PostgreSQL is told to avoid plain table
scans where any index would do (``enable_seqscan = off``), as in ``test_list_indexes``:
what matters is that the index *can* serve the exact SQL the pages send. On SQLite the
same indexes exist (the partial one with its condition) and its planner picks as it
likes.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from clinic.extensions import db

#: (SQL as the services send it, the index that must serve it, its table).
PLANS = [
    ("SELECT enrolment.patient_id FROM enrolment WHERE enrolment.track_id = 1 "
     "AND enrolment.start_date <= '2026-12-02' "
     "AND (enrolment.end_date IS NULL OR enrolment.end_date >= '2026-12-02')",
     "ix_enrolment_track_end", "enrolment"),
    ("SELECT group_session.id FROM group_session WHERE group_session.starts_at <= '2026-12-02 18:00' "
     "AND group_session.status != 'cancelled' AND group_session.signed_at IS NULL "
     "ORDER BY group_session.starts_at, group_session.id",
     "ix_group_session_unsigned_starts_at", "group_session"),
    # Migration 0024: the oldest unsigned sessions of a page of facilitators (Records to
    # finish), never every session they ever ran.
    ("SELECT group_session.id FROM group_session WHERE group_session.starts_at <= '2026-12-02 18:00' "
     "AND group_session.status != 'cancelled' AND group_session.signed_at IS NULL "
     "AND group_session.facilitator_id IN (3, 5, 8) ORDER BY group_session.starts_at, group_session.id",
     "ix_group_session_unsigned_facilitator_starts_at", "group_session"),
    # Migration 0024: one step of the loose index scan for the groups a counselor has run
    # sessions of (their caseload), an index-only probe whatever their history.
    ("SELECT min(group_session.group_id) FROM group_session WHERE group_session.facilitator_id = 3 "
     "AND group_session.group_id > 5",
     "ix_group_session_facilitator_group", "group_session"),
]


#: An empty table's planner likes the narrower partial index as well as the one made for the
#: question; the plan is then asked with that one set aside (dropped in the transaction, which
#: is rolled back).
SET_ASIDE = {"ix_group_session_unsigned_facilitator_starts_at": ["ix_group_session_unsigned_starts_at"]}


def _postgresql_plan(connection, sql: str, set_aside=()) -> str:
    connection.execute(sa.text("SET LOCAL enable_seqscan = off"))
    for other in set_aside:
        connection.execute(sa.text(f'DROP INDEX "{other}"'))
    try:
        return "\n".join(connection.execute(sa.text("EXPLAIN " + sql)).scalars())
    finally:
        connection.rollback()


@pytest.mark.parametrize(("sql", "index", "table"), PLANS, ids=[i for _, i, _ in PLANS])
def test_each_page_question_is_served_by_its_index(app, backend, sql, index, table):
    with app.app_context(), db.engine.connect() as connection:
        names = {i["name"] for i in sa.inspect(connection).get_indexes(table)}
        assert index in names
        if backend == "sqlite":
            return
        plan = _postgresql_plan(connection, sql, SET_ASIDE.get(index, ()))
    assert index in plan, plan


@pytest.mark.parametrize("index", ["ix_group_session_unsigned_starts_at",
                                   "ix_group_session_unsigned_facilitator_starts_at"])
def test_the_unsigned_sessions_index_holds_only_unsigned_live_sessions(app, backend, index):
    """The index is partial: signed and cancelled sessions (the history) are not in it."""
    with app.app_context(), db.engine.connect() as connection:
        if backend == "sqlite":
            sql = connection.execute(sa.text(
                "SELECT sql FROM sqlite_master WHERE name = :name"), {"name": index}).scalar_one()
        else:
            sql = connection.execute(sa.text(
                "SELECT indexdef FROM pg_indexes WHERE indexname = :name"), {"name": index}).scalar_one()
    assert "signed_at IS NULL" in sql and "cancelled" in sql, sql

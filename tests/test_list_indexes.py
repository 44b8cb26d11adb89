"""The long lists' sorts and searches are served by indexes (migrations 0009 and 0011).

The plans are asked of an empty database, so PostgreSQL is told to avoid plain table
scans where any index would do (``enable_seqscan = off``): what matters is that an index
*can* serve the exact SQL the lists send. SQLite's planner picks the index on its own.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from clinic.extensions import db

#: Each list's default sort (as Flask-Admin sends it) and the index that must serve it.
SORTS = [
    ("SELECT id FROM attendance ORDER BY recorded_at DESC LIMIT 20", "ix_attendance_recorded_at"),
    ("SELECT id FROM exercise_checkin ORDER BY on_date DESC LIMIT 20", "ix_exercise_checkin_on_date"),
    ("SELECT id FROM assignment ORDER BY start_date DESC LIMIT 20", "ix_assignment_start_date"),
    ("SELECT id FROM audit_event WHERE entity = 'patient' ORDER BY at DESC LIMIT 50",
     "ix_audit_event_entity_at"),
    ("SELECT id FROM group_session WHERE facilitator_id = 1 ORDER BY starts_at DESC LIMIT 20",
     "ix_group_session_facilitator_starts_at"),
]

#: The lists' ``ILIKE '%term%'`` searches, cast as Flask-Admin casts them, and their trigram index.
SEARCHES = [
    ("SELECT id FROM patient WHERE CAST(last_name AS VARCHAR) ILIKE '%smi%'", "ix_patient_last_name_trgm"),
    ("SELECT id FROM patient WHERE CAST(record_number AS VARCHAR) ILIKE '%00%'",
     "ix_patient_record_number_trgm"),
    ("SELECT id FROM kindness_exercise WHERE CAST(title AS VARCHAR) ILIKE '%thank%'",
     "ix_kindness_exercise_title_trgm"),
    ("SELECT id FROM audit_event WHERE CAST(actor_email AS VARCHAR) ILIKE '%ann%' "
     "OR CAST(entity AS VARCHAR) ILIKE '%ann%' OR CAST(entity_id AS VARCHAR) ILIKE '%ann%'",
     "ix_audit_event_entity_id_trgm"),
    ("SELECT id FROM group_session WHERE CAST(room AS VARCHAR) ILIKE '%north%'", "ix_group_session_room_trgm"),
]


def _plan(connection, sql: str) -> str:
    if connection.dialect.name == "postgresql":
        connection.execute(sa.text("SET LOCAL enable_seqscan = off"))
        rows = connection.execute(sa.text("EXPLAIN " + sql)).scalars()
    else:
        rows = (row[-1] for row in connection.execute(sa.text("EXPLAIN QUERY PLAN " + sql)))
    return "\n".join(rows)


@pytest.mark.parametrize(("sql", "index"), SORTS, ids=[i for _, i in SORTS])
def test_each_list_sort_is_served_by_an_index(app, sql, index):
    with app.app_context(), db.engine.connect() as connection:
        plan = _plan(connection, sql)
    assert index in plan, plan


@pytest.mark.parametrize(("sql", "index"), SEARCHES, ids=[i for _, i in SEARCHES])
def test_name_searches_use_trigram_indexes_on_postgresql(app, backend, sql, index):
    with app.app_context(), db.engine.connect() as connection:
        if backend == "sqlite":
            # SQLite has no trigram indexes (its searches scan, as before).
            assert index not in {i["name"] for i in sa.inspect(connection).get_indexes(sql.split()[3])}
            return
        # With no rows, a full walk of any B-tree index that holds the column (the patients'
        # name order, the rooms' key) costs PostgreSQL as little as the trigram index; on
        # real data a contains-search is served by the trigram index. So those B-trees are
        # set aside for this plan only (DDL inside the transaction, rolled back).
        table, column = sql.split()[3], sql.split("CAST(")[1].split()[0]
        for (other,) in connection.execute(sa.text(
                "SELECT indexname FROM pg_indexes WHERE tablename = :table AND indexname <> :index "
                "AND indexdef LIKE '%USING btree%' AND indexdef LIKE :column "
                "AND indexname NOT IN (SELECT conname FROM pg_constraint)"), {"table": table, "index": index, "column": f"%{column}%"}):
            connection.execute(sa.text(f'DROP INDEX "{other}"'))
        plan = _plan(connection, sql)
        connection.rollback()
    assert index in plan, plan
    assert "Seq Scan" not in plan, plan


def test_trigram_indexes_keep_a_short_pending_list_on_postgresql(app, backend):
    """A GIN index's pending list is read end to end by every search until it is merged:
    each trigram index merges it at 64 kB (migration 0011), not PostgreSQL's 4 MB."""
    if backend == "sqlite":
        pytest.skip("SQLite has no GIN indexes")
    with app.app_context(), db.engine.connect() as connection:
        options = dict(connection.execute(sa.text(
            "SELECT c.relname, c.reloptions FROM pg_class c JOIN pg_am am ON am.oid = c.relam "
            "WHERE am.amname = 'gin' AND c.relname LIKE '%_trgm'"
        )).all())
    assert "ix_group_session_room_trgm" in options and "ix_patient_last_name_trgm" in options
    assert all(opts and "gin_pending_list_limit=64" in opts for opts in options.values()), options


@pytest.mark.parametrize(("table", "column", "index"), [
    ("attendance", "patient_id", "ix_attendance_patient"),
    ("assignment", "patient_id", "ix_assignment_patient"),
])
def test_a_counselors_list_reaches_its_rows_through_the_patient_index(app, backend, make, table, column, index):
    """The caseload is read first (an ARRAY on PostgreSQL, taken as a small set) and the
    list's rows through their patient index, not by hashing the caseload against the table."""
    from clinic.services.access import patient_filter

    counselor = make.staff("counselor")
    rows = sa.table(table, sa.column("id"), sa.column(column), sa.column("recorded_at"))
    clause = patient_filter(counselor, rows.c[column])
    query = sa.select(rows.c.id).where(clause).order_by(rows.c.id.desc()).limit(20)
    with app.app_context(), db.engine.connect() as connection:
        compiled = query.compile(dialect=connection.dialect)
        if backend == "sqlite":
            assert " IN (" in str(compiled)
            return
        assert "= ANY (array(" in str(compiled)
        connection.execute(sa.text("SET LOCAL enable_seqscan = off"))
        plan = "\n".join(r[0] for r in connection.exec_driver_sql("EXPLAIN " + str(compiled), compiled.params))
    assert index in plan and f"{column} = ANY" in plan, plan

"""signed records are final: addenda for entries, check-ins and group notes, enforced by triggers

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 12:10:00

After a facilitator signs a session's record, its attendance rows, the check-ins recorded
in it, its group note and everything else about the session change only through an
addendum (who, when, what, why). Triggers on SQLite and PostgreSQL enforce it: a change
to a signed session's row must point (``last_addendum_id``) at a new addendum of that
session and person; deleting is refused; addenda are append-only; and on PostgreSQL
TRUNCATE is refused on the audit trail, the addenda and the recorded tables.

Downgrading refuses while addenda exist (their links would be lost) unless forced with
``flask db downgrade -x force=yes`` (or CLINIC_DOWNGRADE_FORCE=1).
"""

import sqlalchemy as sa
from alembic import op

from clinic.downgrade_guard import count, refuse_losing

# revision identifiers, used by Alembic.
revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

SIGNED = "this session record is signed: change it only through an addendum"
APPEND_ONLY = "attendance_addendum is append-only"
NO_TRUNCATE = "TRUNCATE is refused: the table holds signed records or the audit trail"

#: Columns of a signed session that never change again (the group note changes by addendum).
FROZEN_SESSION_COLUMNS = (
    "id", "group_id", "activity_id", "starts_at", "duration_minutes", "room", "facilitator_id",
    "status", "cancel_reason", "recorded_at", "recorded_by_id", "signed_at", "signed_by_id",
)


def upgrade():
    with op.batch_alter_table("attendance", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_addendum_id", sa.Integer(), nullable=True))
    with op.batch_alter_table("exercise_checkin", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_addendum_id", sa.Integer(), nullable=True))
    with op.batch_alter_table("group_session", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_addendum_id", sa.Integer(), nullable=True))

    with op.batch_alter_table("attendance_addendum", schema=None) as batch_op:
        batch_op.add_column(sa.Column("session_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("patient_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("assignment_id", sa.Integer(), nullable=True))
    # Every existing addendum corrected one person's entry: its session and person are the entry's.
    op.execute(
        "UPDATE attendance_addendum SET "
        "session_id = (SELECT session_id FROM attendance WHERE attendance.id = attendance_addendum.attendance_id), "
        "patient_id = (SELECT patient_id FROM attendance WHERE attendance.id = attendance_addendum.attendance_id)"
    )
    # The entry an existing addendum corrected points at its latest addendum.
    op.execute(
        "UPDATE attendance SET last_addendum_id = "
        "(SELECT max(id) FROM attendance_addendum WHERE attendance_addendum.attendance_id = attendance.id)"
    )
    with op.batch_alter_table("attendance_addendum", schema=None) as batch_op:
        batch_op.alter_column("session_id", existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column("attendance_id", existing_type=sa.Integer(), nullable=True)
        batch_op.create_index(batch_op.f("ix_attendance_addendum_session_id"), ["session_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_attendance_addendum_patient_id"), ["patient_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_attendance_addendum_assignment_id"), ["assignment_id"], unique=False)
        batch_op.create_foreign_key(batch_op.f("fk_attendance_addendum_session_id_group_session"),
                                    "group_session", ["session_id"], ["id"])
        batch_op.create_foreign_key(batch_op.f("fk_attendance_addendum_patient_id_patient"),
                                    "patient", ["patient_id"], ["id"])
        batch_op.create_foreign_key(batch_op.f("fk_attendance_addendum_assignment_id_assignment"),
                                    "assignment", ["assignment_id"], ["id"])

    if op.get_bind().dialect.name == "postgresql":
        _create_postgresql_guards()
    else:
        _create_sqlite_guards()


# SQLite ------------------------------------------------------------------------------
def _signed(session_id: str) -> str:
    return f"(SELECT signed_at FROM group_session WHERE id = {session_id}) IS NOT NULL"


def _addendum(addendum_id: str, session_id: str, who: str) -> str:
    return (f"EXISTS (SELECT 1 FROM attendance_addendum a WHERE a.id = {addendum_id} "
            f"AND a.session_id = {session_id} AND {who})")


def _newer(new: str = "NEW", old: str = "OLD") -> str:
    return f"{new}.last_addendum_id IS NOT NULL AND {new}.last_addendum_id > COALESCE({old}.last_addendum_id, 0)"


def _raise_sqlite(message: str) -> str:
    return f"BEGIN SELECT RAISE(ABORT, '{message}'); END"


SQLITE_TRIGGERS = {
    "attendance_signed_insert": (
        "BEFORE INSERT ON attendance WHEN " + _signed("NEW.session_id") + " AND NOT ("
        + _addendum("NEW.last_addendum_id", "NEW.session_id",
                    "a.patient_id = NEW.patient_id AND a.assignment_id IS NULL") + ") "
        + _raise_sqlite(SIGNED)
    ),
    "attendance_signed_update": (
        "BEFORE UPDATE ON attendance WHEN (" + _signed("OLD.session_id") + " OR " + _signed("NEW.session_id")
        + ") AND NOT (NEW.session_id = OLD.session_id AND NEW.patient_id = OLD.patient_id AND " + _newer()
        + " AND " + _addendum("NEW.last_addendum_id", "OLD.session_id",
                              "a.patient_id = OLD.patient_id AND a.assignment_id IS NULL") + ") "
        + _raise_sqlite(SIGNED)
    ),
    "attendance_signed_delete": (
        "BEFORE DELETE ON attendance WHEN " + _signed("OLD.session_id") + " " + _raise_sqlite(SIGNED)
    ),
    "exercise_checkin_signed_insert": (
        "BEFORE INSERT ON exercise_checkin WHEN NEW.session_id IS NOT NULL AND " + _signed("NEW.session_id")
        + " AND NOT (" + _addendum("NEW.last_addendum_id", "NEW.session_id", "a.assignment_id = NEW.assignment_id")
        + ") " + _raise_sqlite(SIGNED)
    ),
    "exercise_checkin_signed_update": (
        "BEFORE UPDATE ON exercise_checkin WHEN ((OLD.session_id IS NOT NULL AND " + _signed("OLD.session_id")
        + ") OR (NEW.session_id IS NOT NULL AND " + _signed("NEW.session_id") + ")) AND NOT ("
        "NEW.assignment_id = OLD.assignment_id AND NEW.on_date = OLD.on_date AND " + _newer()
        + " AND ((OLD.session_id IS NOT NULL AND " + _signed("OLD.session_id")
        + " AND NEW.session_id IS OLD.session_id AND "
        + _addendum("NEW.last_addendum_id", "OLD.session_id", "a.assignment_id = OLD.assignment_id")
        + ") OR (NOT (OLD.session_id IS NOT NULL AND " + _signed("OLD.session_id") + ") AND "
        + _addendum("NEW.last_addendum_id", "NEW.session_id", "a.assignment_id = OLD.assignment_id")
        + "))) " + _raise_sqlite(SIGNED)
    ),
    "exercise_checkin_signed_delete": (
        "BEFORE DELETE ON exercise_checkin WHEN OLD.session_id IS NOT NULL AND " + _signed("OLD.session_id")
        + " " + _raise_sqlite(SIGNED)
    ),
    "group_session_signed_update": (
        "BEFORE UPDATE ON group_session WHEN OLD.signed_at IS NOT NULL AND ("
        + " OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in FROZEN_SESSION_COLUMNS)
        + " OR ((NEW.group_note IS NOT OLD.group_note OR NEW.last_addendum_id IS NOT OLD.last_addendum_id) AND NOT ("
        + _newer() + " AND " + _addendum("NEW.last_addendum_id", "OLD.id",
                                         "a.patient_id IS NULL AND a.assignment_id IS NULL")
        + "))) " + _raise_sqlite(SIGNED)
    ),
    "group_session_signed_delete": (
        "BEFORE DELETE ON group_session WHEN OLD.signed_at IS NOT NULL " + _raise_sqlite(SIGNED)
    ),
    "attendance_addendum_no_update": "BEFORE UPDATE ON attendance_addendum " + _raise_sqlite(APPEND_ONLY),
    "attendance_addendum_no_delete": "BEFORE DELETE ON attendance_addendum " + _raise_sqlite(APPEND_ONLY),
}


def _create_sqlite_guards():
    for name, body in SQLITE_TRIGGERS.items():
        op.execute(f"CREATE TRIGGER {name} {body}")


def _drop_sqlite_guards():
    for name in SQLITE_TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name}")


# PostgreSQL --------------------------------------------------------------------------
def _raise_pg(message: str) -> str:
    return f"RAISE EXCEPTION '{message}' USING ERRCODE = 'restrict_violation';"


PG_FUNCTIONS = {
    "clinic_guard_signed_attendance": f"""
    BEGIN
        IF TG_OP = 'DELETE' THEN
            IF EXISTS (SELECT 1 FROM group_session WHERE id = OLD.session_id AND signed_at IS NOT NULL) THEN
                {_raise_pg(SIGNED)}
            END IF;
            RETURN OLD;
        ELSIF TG_OP = 'INSERT' THEN
            IF EXISTS (SELECT 1 FROM group_session WHERE id = NEW.session_id AND signed_at IS NOT NULL)
               AND NOT EXISTS (SELECT 1 FROM attendance_addendum a WHERE a.id = NEW.last_addendum_id
                               AND a.session_id = NEW.session_id AND a.patient_id = NEW.patient_id
                               AND a.assignment_id IS NULL) THEN
                {_raise_pg(SIGNED)}
            END IF;
            RETURN NEW;
        END IF;
        IF EXISTS (SELECT 1 FROM group_session WHERE id IN (OLD.session_id, NEW.session_id) AND signed_at IS NOT NULL)
           AND NOT (NEW.session_id = OLD.session_id AND NEW.patient_id = OLD.patient_id
                    AND NEW.last_addendum_id IS NOT NULL
                    AND NEW.last_addendum_id > COALESCE(OLD.last_addendum_id, 0)
                    AND EXISTS (SELECT 1 FROM attendance_addendum a WHERE a.id = NEW.last_addendum_id
                                AND a.session_id = OLD.session_id AND a.patient_id = OLD.patient_id
                                AND a.assignment_id IS NULL)) THEN
            {_raise_pg(SIGNED)}
        END IF;
        RETURN NEW;
    END;
    """,
    "clinic_guard_signed_checkin": f"""
    DECLARE
        old_signed boolean := false;
        new_signed boolean := false;
        target integer;
    BEGIN
        IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.session_id IS NOT NULL THEN
            old_signed := EXISTS (SELECT 1 FROM group_session WHERE id = OLD.session_id AND signed_at IS NOT NULL);
        END IF;
        IF TG_OP IN ('UPDATE', 'INSERT') AND NEW.session_id IS NOT NULL THEN
            new_signed := EXISTS (SELECT 1 FROM group_session WHERE id = NEW.session_id AND signed_at IS NOT NULL);
        END IF;
        IF TG_OP = 'DELETE' THEN
            IF old_signed THEN {_raise_pg(SIGNED)} END IF;
            RETURN OLD;
        ELSIF TG_OP = 'INSERT' THEN
            IF new_signed AND NOT EXISTS (SELECT 1 FROM attendance_addendum a WHERE a.id = NEW.last_addendum_id
                                          AND a.session_id = NEW.session_id
                                          AND a.assignment_id = NEW.assignment_id) THEN
                {_raise_pg(SIGNED)}
            END IF;
            RETURN NEW;
        END IF;
        IF NOT (old_signed OR new_signed) THEN
            RETURN NEW;
        END IF;
        target := CASE WHEN old_signed THEN OLD.session_id ELSE NEW.session_id END;
        IF NEW.assignment_id <> OLD.assignment_id OR NEW.on_date <> OLD.on_date
           OR (old_signed AND NEW.session_id IS DISTINCT FROM OLD.session_id)
           OR NEW.last_addendum_id IS NULL OR NEW.last_addendum_id <= COALESCE(OLD.last_addendum_id, 0)
           OR NOT EXISTS (SELECT 1 FROM attendance_addendum a WHERE a.id = NEW.last_addendum_id
                          AND a.session_id = target AND a.assignment_id = OLD.assignment_id) THEN
            {_raise_pg(SIGNED)}
        END IF;
        RETURN NEW;
    END;
    """,
    "clinic_guard_signed_session": f"""
    BEGIN
        IF OLD.signed_at IS NULL THEN
            IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
            RETURN NEW;
        END IF;
        IF TG_OP = 'DELETE' THEN
            {_raise_pg(SIGNED)}
        END IF;
        IF {" OR ".join(f"NEW.{c} IS DISTINCT FROM OLD.{c}" for c in FROZEN_SESSION_COLUMNS)} THEN
            {_raise_pg(SIGNED)}
        END IF;
        IF (NEW.group_note IS DISTINCT FROM OLD.group_note OR NEW.last_addendum_id IS DISTINCT FROM OLD.last_addendum_id)
           AND NOT (NEW.last_addendum_id IS NOT NULL AND NEW.last_addendum_id > COALESCE(OLD.last_addendum_id, 0)
                    AND EXISTS (SELECT 1 FROM attendance_addendum a WHERE a.id = NEW.last_addendum_id
                                AND a.session_id = OLD.id AND a.patient_id IS NULL AND a.assignment_id IS NULL)) THEN
            {_raise_pg(SIGNED)}
        END IF;
        RETURN NEW;
    END;
    """,
    "clinic_append_only": f"""
    BEGIN
        RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'restrict_violation';
    END;
    """,
    "clinic_no_truncate": f"""
    BEGIN
        {_raise_pg(NO_TRUNCATE)}
    END;
    """,
}

PG_TRIGGERS = {
    # name: (table, timing and events, function, level)
    "attendance_signed_guard": ("attendance", "BEFORE INSERT OR UPDATE OR DELETE", "clinic_guard_signed_attendance", "ROW"),
    "exercise_checkin_signed_guard": ("exercise_checkin", "BEFORE INSERT OR UPDATE OR DELETE",
                                      "clinic_guard_signed_checkin", "ROW"),
    "group_session_signed_guard": ("group_session", "BEFORE UPDATE OR DELETE", "clinic_guard_signed_session", "ROW"),
    "attendance_addendum_append_only": ("attendance_addendum", "BEFORE UPDATE OR DELETE", "clinic_append_only", "ROW"),
    "attendance_addendum_no_truncate": ("attendance_addendum", "BEFORE TRUNCATE", "clinic_no_truncate", "STATEMENT"),
    "audit_event_no_truncate": ("audit_event", "BEFORE TRUNCATE", "clinic_no_truncate", "STATEMENT"),
    "attendance_no_truncate": ("attendance", "BEFORE TRUNCATE", "clinic_no_truncate", "STATEMENT"),
    "exercise_checkin_no_truncate": ("exercise_checkin", "BEFORE TRUNCATE", "clinic_no_truncate", "STATEMENT"),
    "group_session_no_truncate": ("group_session", "BEFORE TRUNCATE", "clinic_no_truncate", "STATEMENT"),
}


def _create_postgresql_guards():
    for name, body in PG_FUNCTIONS.items():
        op.execute(f"CREATE FUNCTION {name}() RETURNS trigger AS $$ {body} $$ LANGUAGE plpgsql")
    for name, (table, events, function, level) in PG_TRIGGERS.items():
        op.execute(f"CREATE TRIGGER {name} {events} ON {table} FOR EACH {level} EXECUTE FUNCTION {function}()")


def _drop_postgresql_guards():
    for name, (table, _events, _function, _level) in PG_TRIGGERS.items():
        op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
    for name in PG_FUNCTIONS:
        op.execute(f"DROP FUNCTION IF EXISTS {name}()")


def downgrade():
    refuse_losing(
        {
            "addenda (corrections of signed records)": count("SELECT count(*) FROM attendance_addendum"),
        },
        "below 0005",
    )
    if op.get_bind().dialect.name == "postgresql":
        _drop_postgresql_guards()
    else:
        _drop_sqlite_guards()
    with op.batch_alter_table("attendance_addendum", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_attendance_addendum_assignment_id_assignment"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("fk_attendance_addendum_patient_id_patient"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("fk_attendance_addendum_session_id_group_session"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_attendance_addendum_assignment_id"))
        batch_op.drop_index(batch_op.f("ix_attendance_addendum_patient_id"))
        batch_op.drop_index(batch_op.f("ix_attendance_addendum_session_id"))
    # Forced past existing addenda: those without an entry cannot be kept in the old shape.
    op.execute("DELETE FROM attendance_addendum WHERE attendance_id IS NULL")
    with op.batch_alter_table("attendance_addendum", schema=None) as batch_op:
        batch_op.alter_column("attendance_id", existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column("assignment_id")
        batch_op.drop_column("patient_id")
        batch_op.drop_column("session_id")
    with op.batch_alter_table("group_session", schema=None) as batch_op:
        batch_op.drop_column("last_addendum_id")
    with op.batch_alter_table("exercise_checkin", schema=None) as batch_op:
        batch_op.drop_column("last_addendum_id")
    with op.batch_alter_table("attendance", schema=None) as batch_op:
        batch_op.drop_column("last_addendum_id")

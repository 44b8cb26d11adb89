"""treatment plan: problems, measurable goals, objectives and reviews per enrolment; the goal an assignment serves

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-03 07:30:00

Adds ``plan_problem``, ``plan_goal``, ``plan_objective`` and ``plan_review``,
``assignment.goal_id`` (empty on the assignments made before), and on ``track`` the default
goal of a fan-out and the (re)certification schedule (PHP: the first recertification 18 days
after admission, then every 30; IOP: every 60 days). Triggers on SQLite and PostgreSQL refuse
a goal, objective or review dated before its enrolment began, and an assignment serving a
goal of another patient.

Downgrading would drop the plans: it refuses while there are any, unless forced
(``flask db downgrade -x force=yes``).
"""
import sqlalchemy as sa
from alembic import op

from clinic.downgrade_guard import count, refuse_losing

# revision identifiers, used by Alembic.
revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

BEFORE_START = "the date is before the enrolment began"
OTHER_PATIENT = "the goal belongs to another patient"

#: The default schedules, by track code: (first recertification, then every N days).
SCHEDULES = {"intensive": (18, 30), "iop": (60, 60)}
DEFAULT_GOALS = {
    "inpatient": "Takes part in one act of kindness a day on the ward, noticed and named with staff.",
    "intensive": "Does at least 3 acts of kindness a week, for others or for themself, and notices their mood before and after.",
    "iop": "Keeps up 3 to 5 acts of kindness a week between sessions, including one that reconnects with someone.",
}


def _status(name, values):
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=20)


def upgrade():
    with op.batch_alter_table("enrolment", schema=None) as batch_op:
        batch_op.create_index("uq_enrolment_id_patient", ["id", "patient_id"], unique=True)

    op.create_table(
        "plan_problem",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enrolment_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("status", _status("plan_problem_status", ("active", "resolved")), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint("length(text) BETWEEN 1 AND 1000", name=op.f("ck_plan_problem_text_length")),
        sa.ForeignKeyConstraint(["created_by_id"], ["staff_user.id"], name=op.f("fk_plan_problem_created_by_id_staff_user")),
        sa.ForeignKeyConstraint(["enrolment_id"], ["enrolment.id"], name=op.f("fk_plan_problem_enrolment_id_enrolment")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_problem")),
    )
    op.create_index(op.f("ix_plan_problem_enrolment_id"), "plan_problem", ["enrolment_id"], unique=False)

    op.create_table(
        "plan_goal",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enrolment_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("problem_id", sa.Integer(), nullable=True),
        sa.Column("statement", sa.Text(), nullable=False),
        sa.Column("target_date", sa.Date(), nullable=False),
        sa.Column("status", _status("plan_goal_status", ("active", "met", "discontinued")), nullable=False),
        sa.Column("status_reason", sa.String(length=255), nullable=False),
        sa.Column("from_track_default", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint("length(statement) BETWEEN 1 AND 1000", name=op.f("ck_plan_goal_statement_length")),
        sa.CheckConstraint("length(status_reason) <= 255", name=op.f("ck_plan_goal_status_reason_length")),
        sa.ForeignKeyConstraint(["created_by_id"], ["staff_user.id"], name=op.f("fk_plan_goal_created_by_id_staff_user")),
        sa.ForeignKeyConstraint(["enrolment_id", "patient_id"], ["enrolment.id", "enrolment.patient_id"],
                                name="fk_plan_goal_enrolment_patient"),
        sa.ForeignKeyConstraint(["problem_id"], ["plan_problem.id"], name=op.f("fk_plan_goal_problem_id_plan_problem")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_goal")),
    )
    op.create_index("ix_plan_goal_enrolment_status", "plan_goal", ["enrolment_id", "status"], unique=False)
    op.create_index(op.f("ix_plan_goal_patient_id"), "plan_goal", ["patient_id"], unique=False)
    op.create_index(op.f("ix_plan_goal_problem_id"), "plan_goal", ["problem_id"], unique=False)

    op.create_table(
        "plan_objective",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("goal_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("target_date", sa.Date(), nullable=True),
        sa.Column("status", _status("plan_objective_status", ("active", "met", "discontinued")), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint("length(text) BETWEEN 1 AND 1000", name=op.f("ck_plan_objective_text_length")),
        sa.ForeignKeyConstraint(["created_by_id"], ["staff_user.id"], name=op.f("fk_plan_objective_created_by_id_staff_user")),
        sa.ForeignKeyConstraint(["goal_id"], ["plan_goal.id"], name=op.f("fk_plan_objective_goal_id_plan_goal")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_objective")),
    )
    op.create_index(op.f("ix_plan_objective_goal_id"), "plan_objective", ["goal_id"], unique=False)

    op.create_table(
        "plan_review",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enrolment_id", sa.Integer(), nullable=False),
        sa.Column("kind", _status("plan_review_kind", ("review", "certification", "recertification")), nullable=False),
        sa.Column("reviewed_on", sa.Date(), nullable=False),
        sa.Column("reviewer_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint("length(note) <= 4000", name=op.f("ck_plan_review_note_length")),
        sa.ForeignKeyConstraint(["enrolment_id"], ["enrolment.id"], name=op.f("fk_plan_review_enrolment_id_enrolment")),
        sa.ForeignKeyConstraint(["reviewer_id"], ["staff_user.id"], name=op.f("fk_plan_review_reviewer_id_staff_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_review")),
    )
    op.create_index("ix_plan_review_enrolment_kind", "plan_review", ["enrolment_id", "kind", "reviewed_on"], unique=False)

    # A plain ADD COLUMN (no copy of the table, whose partial unique index stays as it is).
    if op.get_bind().dialect.name == "postgresql":
        op.add_column("assignment", sa.Column("goal_id", sa.Integer(), nullable=True))
        op.create_foreign_key("fk_assignment_goal_id_plan_goal", "assignment", "plan_goal", ["goal_id"], ["id"])
    else:
        op.execute("ALTER TABLE assignment ADD COLUMN goal_id INTEGER "
                   "CONSTRAINT fk_assignment_goal_id_plan_goal REFERENCES plan_goal (id)")
    op.create_index(op.f("ix_assignment_goal_id"), "assignment", ["goal_id"], unique=False)

    with op.batch_alter_table("track", schema=None) as batch_op:
        batch_op.add_column(sa.Column("default_goal", sa.Text(), server_default=sa.text("''"), nullable=False))
        batch_op.add_column(sa.Column("recert_first_days", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("recert_every_days", sa.Integer(), nullable=True))
        batch_op.create_check_constraint(
            "recert_days_range",
            "(recert_first_days IS NULL AND recert_every_days IS NULL) OR "
            "(recert_first_days BETWEEN 1 AND 366 AND recert_every_days BETWEEN 1 AND 366)",
        )
        batch_op.create_check_constraint("default_goal_length", "length(default_goal) <= 1000")

    track = sa.table("track", sa.column("code", sa.String), sa.column("default_goal", sa.Text),
                     sa.column("recert_first_days", sa.Integer), sa.column("recert_every_days", sa.Integer))
    for code, (first, every) in SCHEDULES.items():
        op.execute(track.update().where(track.c.code == code)
                   .values(recert_first_days=first, recert_every_days=every))
    for code, goal in DEFAULT_GOALS.items():
        op.execute(track.update().where(track.c.code == code).values(default_goal=goal))

    if op.get_bind().dialect.name == "postgresql":
        _create_pg_guards()
    else:
        _create_sqlite_guards()


# SQLite ------------------------------------------------------------------------------
def _raise_sqlite(message: str) -> str:
    return f"BEGIN SELECT RAISE(ABORT, '{message}'); END"


_GOAL_EARLY = ("NEW.target_date < (SELECT start_date FROM enrolment WHERE id = NEW.enrolment_id)")
_OBJECTIVE_EARLY = ("NEW.target_date IS NOT NULL AND NEW.target_date < (SELECT e.start_date FROM plan_goal g "
                    "JOIN enrolment e ON e.id = g.enrolment_id WHERE g.id = NEW.goal_id)")
_REVIEW_EARLY = "NEW.reviewed_on < (SELECT start_date FROM enrolment WHERE id = NEW.enrolment_id)"
_OTHER_GOAL = ("NEW.goal_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM plan_goal g WHERE g.id = NEW.goal_id "
               "AND g.patient_id = NEW.patient_id)")

SQLITE_TRIGGERS = {
    "plan_goal_target_insert": f"BEFORE INSERT ON plan_goal WHEN {_GOAL_EARLY} " + _raise_sqlite(BEFORE_START),
    "plan_goal_target_update": f"BEFORE UPDATE ON plan_goal WHEN {_GOAL_EARLY} " + _raise_sqlite(BEFORE_START),
    "plan_objective_target_insert": f"BEFORE INSERT ON plan_objective WHEN {_OBJECTIVE_EARLY} " + _raise_sqlite(BEFORE_START),
    "plan_objective_target_update": f"BEFORE UPDATE ON plan_objective WHEN {_OBJECTIVE_EARLY} " + _raise_sqlite(BEFORE_START),
    "plan_review_date_insert": f"BEFORE INSERT ON plan_review WHEN {_REVIEW_EARLY} " + _raise_sqlite(BEFORE_START),
    "plan_review_date_update": f"BEFORE UPDATE ON plan_review WHEN {_REVIEW_EARLY} " + _raise_sqlite(BEFORE_START),
    "assignment_goal_insert": f"BEFORE INSERT ON assignment WHEN {_OTHER_GOAL} " + _raise_sqlite(OTHER_PATIENT),
    "assignment_goal_update": f"BEFORE UPDATE ON assignment WHEN {_OTHER_GOAL} " + _raise_sqlite(OTHER_PATIENT),
}


def _create_sqlite_guards():
    for name, body in SQLITE_TRIGGERS.items():
        op.execute(f"CREATE TRIGGER {name} {body}")


def _drop_sqlite_guards():
    for name in SQLITE_TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name}")


# PostgreSQL --------------------------------------------------------------------------
def _raise_pg(message: str) -> str:
    return f"RAISE EXCEPTION '{message}' USING ERRCODE = 'check_violation';"


PG_GUARDS = {
    # function name: (table, condition)
    "clinic_plan_goal_target": ("plan_goal", _GOAL_EARLY, BEFORE_START),
    "clinic_plan_objective_target": ("plan_objective", _OBJECTIVE_EARLY, BEFORE_START),
    "clinic_plan_review_date": ("plan_review", _REVIEW_EARLY, BEFORE_START),
    "clinic_assignment_goal": ("assignment", _OTHER_GOAL, OTHER_PATIENT),
}


def _create_pg_guards():
    for function, (table, condition, message) in PG_GUARDS.items():
        op.execute(f"""
        CREATE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF {condition} THEN
                {_raise_pg(message)}
            END IF;
            RETURN NEW;
        END;
        $$""")
        op.execute(f"CREATE TRIGGER {function} BEFORE INSERT OR UPDATE ON {table} "
                   f"FOR EACH ROW EXECUTE FUNCTION {function}()")


def _drop_pg_guards():
    for function, (table, _condition, _message) in PG_GUARDS.items():
        op.execute(f"DROP TRIGGER IF EXISTS {function} ON {table}")
        op.execute(f"DROP FUNCTION IF EXISTS {function}()")


def downgrade():
    refuse_losing({
        "treatment plan goals": count("SELECT count(*) FROM plan_goal"),
        "treatment plan problems": count("SELECT count(*) FROM plan_problem"),
        "plan reviews": count("SELECT count(*) FROM plan_review"),
    }, "below 0023")
    if op.get_bind().dialect.name == "postgresql":
        _drop_pg_guards()
    else:
        _drop_sqlite_guards()
    with op.batch_alter_table("track", schema=None) as batch_op:
        batch_op.drop_constraint("default_goal_length", type_="check")
        batch_op.drop_constraint("recert_days_range", type_="check")
        batch_op.drop_column("recert_every_days")
        batch_op.drop_column("recert_first_days")
        batch_op.drop_column("default_goal")
    op.drop_index(op.f("ix_assignment_goal_id"), table_name="assignment")
    with op.batch_alter_table("assignment", schema=None) as batch_op:
        batch_op.drop_column("goal_id")
    if op.get_bind().dialect.name != "postgresql":
        # The copy of the table loses the partial index's WHERE on some versions: make it again.
        op.execute("DROP INDEX IF EXISTS uq_assignment_one_active")
        op.execute("CREATE UNIQUE INDEX uq_assignment_one_active ON assignment (patient_id, exercise_id) "
                   "WHERE status = 'active'")
    op.drop_index("ix_plan_review_enrolment_kind", table_name="plan_review")
    op.drop_table("plan_review")
    op.drop_index(op.f("ix_plan_objective_goal_id"), table_name="plan_objective")
    op.drop_table("plan_objective")
    op.drop_index(op.f("ix_plan_goal_problem_id"), table_name="plan_goal")
    op.drop_index(op.f("ix_plan_goal_patient_id"), table_name="plan_goal")
    op.drop_index("ix_plan_goal_enrolment_status", table_name="plan_goal")
    op.drop_table("plan_goal")
    op.drop_index(op.f("ix_plan_problem_enrolment_id"), table_name="plan_problem")
    op.drop_table("plan_problem")
    with op.batch_alter_table("enrolment", schema=None) as batch_op:
        batch_op.drop_index("uq_enrolment_id_patient")

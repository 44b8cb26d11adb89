"""outcome measures: PHQ-9 and GAD-7 administrations, their items and addenda; signed means final

Revision ID: 0015
Revises: 0012
Create Date: 2026-12-03 03:32:02

One row per administration (patient, enrolment, instrument, day, how given, who entered it
and when, total, prorated, band, signature, version) and one per item (answer 0-3 or
missing). Check constraints keep answers in 0-3 and totals in the instrument's range.

Once signed, an administration and its items are final: triggers on SQLite and PostgreSQL
refuse any UPDATE or DELETE of a signed administration and any INSERT, UPDATE or DELETE of
its items. A correction is a ``measure_addendum`` row (append-only) holding the corrected
answers and total. PostgreSQL refuses TRUNCATE of the three tables too (the function
``clinic_no_truncate`` of migration 0005).

Downgrading refuses while measures exist unless forced (``-x force=yes``).
"""
from alembic import op
import sqlalchemy as sa

from clinic.downgrade_guard import count, refuse_losing


# revision identifiers, used by Alembic.
revision = '0015'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('measure_administration',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('enrolment_id', sa.Integer(), nullable=True),
    sa.Column('instrument', sa.Enum('phq9', 'gad7', name='measure_instrument', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('administered_on', sa.Date(), nullable=False),
    sa.Column('mode', sa.Enum('in_person', 'paper', 'phone', name='measure_mode', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('difficulty', sa.Integer(), nullable=True),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('prorated', sa.Boolean(), nullable=False),
    sa.Column('band', sa.Enum('minimal', 'mild', 'moderate', 'moderately_severe', 'severe', name='measure_band', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('entered_by_id', sa.Integer(), nullable=True),
    sa.Column('entered_at', sa.DateTime(), nullable=False),
    sa.Column('signed_at', sa.DateTime(), nullable=True),
    sa.Column('signed_by_id', sa.Integer(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint("total BETWEEN 0 AND 27 AND (instrument <> 'gad7' OR total <= 21)", name=op.f('ck_measure_administration_total_in_range')),
    sa.CheckConstraint('(signed_at IS NULL) = (signed_by_id IS NULL)', name=op.f('ck_measure_administration_signed_by_someone')),
    sa.CheckConstraint('difficulty IS NULL OR difficulty BETWEEN 0 AND 3', name=op.f('ck_measure_administration_difficulty_range')),
    sa.ForeignKeyConstraint(['enrolment_id'], ['enrolment.id'], name=op.f('fk_measure_administration_enrolment_id_enrolment')),
    sa.ForeignKeyConstraint(['entered_by_id'], ['staff_user.id'], name=op.f('fk_measure_administration_entered_by_id_staff_user')),
    sa.ForeignKeyConstraint(['patient_id'], ['patient.id'], name=op.f('fk_measure_administration_patient_id_patient')),
    sa.ForeignKeyConstraint(['signed_by_id'], ['staff_user.id'], name=op.f('fk_measure_administration_signed_by_id_staff_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_measure_administration'))
    )
    with op.batch_alter_table('measure_administration', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_measure_administration_enrolment_id'), ['enrolment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_measure_administration_entered_by_id'), ['entered_by_id'], unique=False)
        batch_op.create_index('ix_measure_administration_patient_on', ['patient_id', 'administered_on'], unique=False)

    op.create_table('measure_addendum',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('administration_id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('answers', sa.JSON(), nullable=False),
    sa.Column('difficulty', sa.Integer(), nullable=True),
    sa.Column('changes', sa.JSON(), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('prorated', sa.Boolean(), nullable=False),
    sa.CheckConstraint('length(trim(reason)) > 0', name=op.f('ck_measure_addendum_reason_given')),
    sa.CheckConstraint('total BETWEEN 0 AND 27', name=op.f('ck_measure_addendum_total_in_range')),
    sa.ForeignKeyConstraint(['administration_id'], ['measure_administration.id'], name=op.f('fk_measure_addendum_administration_id_measure_administration')),
    sa.ForeignKeyConstraint(['author_id'], ['staff_user.id'], name=op.f('fk_measure_addendum_author_id_staff_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_measure_addendum'))
    )
    with op.batch_alter_table('measure_addendum', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_measure_addendum_administration_id'), ['administration_id'], unique=False)

    op.create_table('measure_item',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('administration_id', sa.Integer(), nullable=False),
    sa.Column('item_number', sa.Integer(), nullable=False),
    sa.Column('answer', sa.Integer(), nullable=True),
    sa.CheckConstraint('answer IS NULL OR answer BETWEEN 0 AND 3', name=op.f('ck_measure_item_answer_range')),
    sa.CheckConstraint('item_number BETWEEN 1 AND 9', name=op.f('ck_measure_item_item_number_range')),
    sa.ForeignKeyConstraint(['administration_id'], ['measure_administration.id'], name=op.f('fk_measure_item_administration_id_measure_administration')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_measure_item')),
    sa.UniqueConstraint('administration_id', 'item_number', name='uq_measure_item_number')
    )
    if op.get_bind().dialect.name == "postgresql":
        for name, body in PG_FUNCTIONS.items():
            op.execute(f"CREATE FUNCTION {name}() RETURNS trigger AS $$ {body} $$ LANGUAGE plpgsql")
        for name, (table, events, function, level) in PG_TRIGGERS.items():
            op.execute(f"CREATE TRIGGER {name} {events} ON {table} FOR EACH {level} EXECUTE FUNCTION {function}()")
    else:
        for name, body in SQLITE_TRIGGERS.items():
            op.execute(f"CREATE TRIGGER {name} {body}")


SIGNED = "this measure is signed: correct it only by addendum"
APPEND_ONLY = "measure_addendum is append-only"


def _signed_sqlite(administration_id: str) -> str:
    return f"(SELECT signed_at FROM measure_administration WHERE id = {administration_id}) IS NOT NULL"


def _raise_sqlite(message: str) -> str:
    return f"BEGIN SELECT RAISE(ABORT, '{message}'); END"


SQLITE_TRIGGERS = {
    "measure_administration_signed_update": (
        "BEFORE UPDATE ON measure_administration WHEN OLD.signed_at IS NOT NULL " + _raise_sqlite(SIGNED)
    ),
    "measure_administration_signed_delete": (
        "BEFORE DELETE ON measure_administration WHEN OLD.signed_at IS NOT NULL " + _raise_sqlite(SIGNED)
    ),
    "measure_item_signed_insert": (
        "BEFORE INSERT ON measure_item WHEN " + _signed_sqlite("NEW.administration_id") + " "
        + _raise_sqlite(SIGNED)
    ),
    "measure_item_signed_update": (
        "BEFORE UPDATE ON measure_item WHEN " + _signed_sqlite("OLD.administration_id") + " OR "
        + _signed_sqlite("NEW.administration_id") + " " + _raise_sqlite(SIGNED)
    ),
    "measure_item_signed_delete": (
        "BEFORE DELETE ON measure_item WHEN " + _signed_sqlite("OLD.administration_id") + " "
        + _raise_sqlite(SIGNED)
    ),
    "measure_addendum_no_update": "BEFORE UPDATE ON measure_addendum " + _raise_sqlite(APPEND_ONLY),
    "measure_addendum_no_delete": "BEFORE DELETE ON measure_addendum " + _raise_sqlite(APPEND_ONLY),
}


def _raise_pg(message: str) -> str:
    return f"RAISE EXCEPTION '{message}' USING ERRCODE = 'restrict_violation';"


PG_FUNCTIONS = {
    "clinic_guard_signed_measure": f"""
    BEGIN
        IF OLD.signed_at IS NOT NULL THEN
            {_raise_pg(SIGNED)}
        END IF;
        IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
        RETURN NEW;
    END;
    """,
    "clinic_guard_signed_measure_item": f"""
    BEGIN
        IF (TG_OP IN ('UPDATE', 'DELETE') AND EXISTS (
                SELECT 1 FROM measure_administration WHERE id = OLD.administration_id AND signed_at IS NOT NULL))
           OR (TG_OP IN ('UPDATE', 'INSERT') AND EXISTS (
                SELECT 1 FROM measure_administration WHERE id = NEW.administration_id AND signed_at IS NOT NULL)) THEN
            {_raise_pg(SIGNED)}
        END IF;
        IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
        RETURN NEW;
    END;
    """,
}

PG_TRIGGERS = {
    # name: (table, timing and events, function, level); clinic_append_only and
    # clinic_no_truncate come from migration 0005.
    "measure_administration_signed_guard": ("measure_administration", "BEFORE UPDATE OR DELETE",
                                            "clinic_guard_signed_measure", "ROW"),
    "measure_item_signed_guard": ("measure_item", "BEFORE INSERT OR UPDATE OR DELETE",
                                  "clinic_guard_signed_measure_item", "ROW"),
    "measure_addendum_append_only": ("measure_addendum", "BEFORE UPDATE OR DELETE", "clinic_append_only", "ROW"),
    "measure_administration_no_truncate": ("measure_administration", "BEFORE TRUNCATE", "clinic_no_truncate",
                                           "STATEMENT"),
    "measure_item_no_truncate": ("measure_item", "BEFORE TRUNCATE", "clinic_no_truncate", "STATEMENT"),
    "measure_addendum_no_truncate": ("measure_addendum", "BEFORE TRUNCATE", "clinic_no_truncate", "STATEMENT"),
}


def downgrade():
    refuse_losing({"outcome measures": count("SELECT count(*) FROM measure_administration")}, "below 0015")
    if op.get_bind().dialect.name == "postgresql":
        for name, (table, _events, _function, _level) in PG_TRIGGERS.items():
            op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
        for name in PG_FUNCTIONS:
            op.execute(f"DROP FUNCTION IF EXISTS {name}()")
    else:
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_table('measure_item')
    with op.batch_alter_table('measure_addendum', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_measure_addendum_administration_id'))

    op.drop_table('measure_addendum')
    with op.batch_alter_table('measure_administration', schema=None) as batch_op:
        batch_op.drop_index('ix_measure_administration_patient_on')
        batch_op.drop_index(batch_op.f('ix_measure_administration_entered_by_id'))
        batch_op.drop_index(batch_op.f('ix_measure_administration_enrolment_id'))

    op.drop_table('measure_administration')

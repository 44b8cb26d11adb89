"""patients by name, and the audit trail's actor addresses

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-03 15:45:00

- ``ix_patient_name`` on ``patient (last_name, first_name, id)``: the order of a track's
  patients (and of every list of patients by name). The track page walks it and probes each
  patient for a current enrolment in the track until it has its page, instead of reading
  every patient of the first surname to sort them by first name (a whole surname, 6,000
  patients, at 10 million attendance rows).
- ``audit_actor``: every address that stands in ``audit_event.actor_email``, once, kept by a
  trigger on ``audit_event`` (a statement trigger on PostgreSQL, a row trigger on SQLite) and
  filled here from the trail. The audit list's search finds the matching addresses in it and
  reads each one's newest events through ``ix_audit_event_actor_email_at``.

Downgrading drops the index, the trigger and the table; the table is derived from the audit
trail, so nothing is lost. On PostgreSQL every step tolerates an object made by hand earlier
(the shared scale clinics got the index and the table that way).
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None


def _postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade():
    if _postgresql():
        op.execute("CREATE INDEX IF NOT EXISTS ix_patient_name ON patient (last_name, first_name, id)")
        op.execute("CREATE TABLE IF NOT EXISTS audit_actor ("
                   "email VARCHAR(254) NOT NULL, CONSTRAINT pk_audit_actor PRIMARY KEY (email))")
        op.execute(
            """
            CREATE OR REPLACE FUNCTION audit_actor_remember() RETURNS trigger AS $$
            BEGIN
                INSERT INTO audit_actor (email)
                SELECT DISTINCT actor_email FROM audit_event_added
                ON CONFLICT DO NOTHING;
                RETURN NULL;
            END;
            $$ LANGUAGE plpgsql
            """
        )
        op.execute("DROP TRIGGER IF EXISTS audit_event_actor ON audit_event")
        op.execute("CREATE TRIGGER audit_event_actor AFTER INSERT ON audit_event "
                   "REFERENCING NEW TABLE AS audit_event_added "
                   "FOR EACH STATEMENT EXECUTE FUNCTION audit_actor_remember()")
        op.execute("INSERT INTO audit_actor (email) SELECT DISTINCT actor_email FROM audit_event "
                   "ON CONFLICT DO NOTHING")
    else:
        op.create_index("ix_patient_name", "patient", ["last_name", "first_name", "id"], unique=False)
        op.create_table(
            "audit_actor",
            sa.Column("email", sa.String(length=254), nullable=False),
            sa.PrimaryKeyConstraint("email", name=op.f("pk_audit_actor")),
        )
        op.execute("CREATE TRIGGER audit_event_actor AFTER INSERT ON audit_event "
                   "BEGIN INSERT OR IGNORE INTO audit_actor (email) VALUES (NEW.actor_email); END")
        op.execute("INSERT OR IGNORE INTO audit_actor (email) SELECT DISTINCT actor_email FROM audit_event")


def downgrade():
    if _postgresql():
        op.execute("DROP TRIGGER IF EXISTS audit_event_actor ON audit_event")
        op.execute("DROP FUNCTION IF EXISTS audit_actor_remember()")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_event_actor")
    op.drop_table("audit_actor")
    op.drop_index("ix_patient_name", table_name="patient")

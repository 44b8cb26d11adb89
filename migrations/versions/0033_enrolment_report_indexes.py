"""reports: a period's enrolment starts and ends read from indexes, whatever the clinic's size

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-04 10:00:00

Only indexes are added, so downgrading loses no data.

- ``ix_enrolment_end_date`` on ``enrolment (end_date)`` INCLUDE ``(track_id, start_date,
  status, patient_id)`` (INCLUDE on PostgreSQL only): the census's patients enrolled on the
  first day (the open enrolments, ``end_date IS NULL``, and those ending on or after it),
  its ends of the period by status with their length, and the outcomes report's discharges
  of the period; each a range of this index instead of a read of every enrolment.
- ``ix_enrolment_start_date`` on ``enrolment (start_date)`` INCLUDE ``(track_id,
  patient_id, id)``: the census's starts of the period (admissions and transfers in).
- ``ix_enrolment_moved_patient_end`` on ``enrolment (patient_id, end_date)`` where the status
  is stepped down or stepped up: whether a start continues a stay in another track, one
  probe of the few moves instead of every enrolment of the patient.

On PostgreSQL the steps tolerate indexes of the same name made by hand earlier.
"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0033"
down_revision = "0032"
branch_labels = None
depends_on = None

MOVED = "status IN ('stepped_down', 'stepped_up')"


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE INDEX IF NOT EXISTS ix_enrolment_end_date ON enrolment (end_date) "
                   "INCLUDE (track_id, start_date, status, patient_id)")
        op.execute("CREATE INDEX IF NOT EXISTS ix_enrolment_start_date ON enrolment (start_date) "
                   "INCLUDE (track_id, patient_id, id)")
    else:
        op.execute("CREATE INDEX IF NOT EXISTS ix_enrolment_end_date ON enrolment (end_date)")
        op.execute("CREATE INDEX IF NOT EXISTS ix_enrolment_start_date ON enrolment (start_date)")
    op.execute(f"CREATE INDEX IF NOT EXISTS ix_enrolment_moved_patient_end ON enrolment (patient_id, end_date) "
               f"WHERE {MOVED}")


def downgrade():
    for name in ("ix_enrolment_moved_patient_end", "ix_enrolment_start_date", "ix_enrolment_end_date"):
        op.execute(f"DROP INDEX IF EXISTS {name}")

"""patient paper in the patient's language: a preferred language per patient

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-03 15:40:00

- ``patient.preferred_language``: the language of everything printed for the patient
  (handouts, the kindness plan), a code with a catalogue in ``translations/`` or ``en``.
  Every existing patient gets ``en``, what they were printed in until now. Which codes are
  allowed is the patients service's rule (``services.languages``), not a database
  constraint: adding a language is adding a catalogue, no migration.

Downgrading drops the column, and with it the languages chosen since.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0031"
down_revision = "0030"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("patient") as batch:
        batch.add_column(sa.Column("preferred_language", sa.String(length=12), nullable=False,
                                   server_default="en"))


def downgrade():
    with op.batch_alter_table("patient") as batch:
        batch.drop_column("preferred_language")

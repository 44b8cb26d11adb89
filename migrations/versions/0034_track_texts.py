"""track texts per language: a track's default goal in the languages patients read

Revision ID: 0034
Revises: 0033
Create Date: 2026-12-04 12:00:00

- ``track_text``: a track's default goal in one language other than English (English stays
  on ``track.default_goal``, the source, and is what a patient's goal made from the default
  stores). One row per track and language, at most 1000 characters like the English. Which
  language codes are allowed is the service's rule (``services.track_texts``), not a
  database constraint. The reference translations are loaded by ``flask seed``
  (seed/exercise_texts/<code>.toml, its ``[tracks.<code>]`` tables), not here.

Downgrading drops the table, and with it every translation typed since.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0034"
down_revision = "0033"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "track_text",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("track_id", sa.Integer(), nullable=False),
        sa.Column("language", sa.String(length=12), nullable=False),
        sa.Column("default_goal", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint("length(default_goal) <= 1000", name=op.f("ck_track_text_default_goal_length")),
        sa.ForeignKeyConstraint(["track_id"], ["track.id"],
                                name=op.f("fk_track_text_track_id_track"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_track_text")),
        sa.UniqueConstraint("track_id", "language", name="uq_track_text_track_language"),
    )


def downgrade():
    op.drop_table("track_text")

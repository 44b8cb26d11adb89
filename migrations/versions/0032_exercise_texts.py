"""exercise texts per language: the kindness catalogue in the languages patients read

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-04 10:00:00

- ``exercise_text``: an exercise's title, summary, why it helps, how to do it and reflection
  prompts in one language other than English (English stays on ``kindness_exercise``, the
  source). One row per exercise and language; a blank field is not translated yet and
  prints in English. Which language codes are allowed is the service's rule
  (``services.languages``), not a database constraint. The reference translations are
  loaded by ``flask seed`` (seed/exercise_texts/<code>.toml), not here.

Downgrading drops the table, and with it every translation typed since.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0032"
down_revision = "0031"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "exercise_text",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("exercise_id", sa.Integer(), nullable=False),
        sa.Column("language", sa.String(length=12), nullable=False),
        sa.Column("title", sa.String(length=120), nullable=False),
        sa.Column("summary", sa.String(length=255), nullable=False),
        sa.Column("why_it_helps", sa.Text(), nullable=False),
        sa.Column("how_to", sa.Text(), nullable=False),
        sa.Column("reflection_prompts", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["exercise_id"], ["kindness_exercise.id"],
                                name=op.f("fk_exercise_text_exercise_id_kindness_exercise"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exercise_text")),
        sa.UniqueConstraint("exercise_id", "language", name="uq_exercise_text_exercise_language"),
    )


def downgrade():
    op.drop_table("exercise_text")

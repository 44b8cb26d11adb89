"""two-factor sign-in: TOTP columns on staff_user and a recovery_code table

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 13:40:00

Downgrading drops the secrets and recovery codes: everyone signs in with the password
alone until they enrol again.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("staff_user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("totp_secret", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("totp_enabled_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("totp_last_step", sa.BigInteger(), nullable=True))
    op.create_table(
        "recovery_code",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["staff_id"], ["staff_user.id"],
                                name=op.f("fk_recovery_code_staff_id_staff_user"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recovery_code")),
    )
    with op.batch_alter_table("recovery_code", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_recovery_code_staff_id"), ["staff_id"], unique=False)


def downgrade():
    with op.batch_alter_table("recovery_code", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_recovery_code_staff_id"))
    op.drop_table("recovery_code")
    # A plain DROP COLUMN on both backends: a batch copy of staff_user would drop the table,
    # which SQLite refuses while other rows refer to it.
    for column in ("totp_last_step", "totp_enabled_at", "totp_secret"):
        op.execute(f"ALTER TABLE staff_user DROP COLUMN {column}")

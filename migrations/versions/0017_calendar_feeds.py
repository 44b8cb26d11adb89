"""calendar feeds: staff subscribe to their sessions (or a group's, a room's) as iCalendar

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03 04:00:00

A feed is only an address (its token's hash); downgrading drops the addresses, and the
calendars subscribed to them stop updating: nothing recorded is lost.
"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "calendar_feed",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.Enum("staff", "group", "room", name="calendar_feed_kind", native_enum=False,
                                  create_constraint=True, length=20), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=True),
        sa.Column("room", sa.String(length=40), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.Column("last_fetched_at", sa.DateTime(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "group_id IS NULL OR room = ''",
            name=op.f("ck_calendar_feed_one_subject"),
        ),
        sa.ForeignKeyConstraint(["group_id"], ["care_group.id"], name=op.f("fk_calendar_feed_group_id_care_group")),
        sa.ForeignKeyConstraint(["owner_id"], ["staff_user.id"], name=op.f("fk_calendar_feed_owner_id_staff_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendar_feed")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_calendar_feed_token_hash")),
    )
    with op.batch_alter_table("calendar_feed", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_calendar_feed_group_id"), ["group_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_calendar_feed_owner_id"), ["owner_id"], unique=False)


def downgrade():
    with op.batch_alter_table("calendar_feed", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_calendar_feed_owner_id"))
        batch_op.drop_index(batch_op.f("ix_calendar_feed_group_id"))
    op.drop_table("calendar_feed")

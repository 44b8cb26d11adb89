"""Staff accounts and their roles."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ._types import VersionedMixin, choice, utcnow

ROLES = ("admin", "planner", "counselor")


class StaffUser(UserMixin, VersionedMixin, db.Model):
    """A person who logs in: an admin, a planner or a counselor."""

    __tablename__ = "staff_user"
    __table_args__ = (
        # Migration 0027: staff by name ignoring case (Records to finish pages its
        # facilitators by it, one probe each, and My day finds a facilitator by name).
        # PostgreSQL only, written as PostgreSQL shows it, like ix_group_session_room_key_starts_at.
        sa.Index("ix_staff_user_name_key", sa.text("lower(full_name::text)"), "id",
                 postgresql_using="btree").ddl_if(dialect="postgresql"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Login name, stored in lower case.
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    #: Name shown on rosters, sessions and signatures.
    full_name: Mapped[str] = mapped_column(sa.String(120))
    #: What the person may do; see the role table in DESIGN.md.
    role: Mapped[str] = mapped_column(choice("staff_role", ROLES))
    #: Argon2id hash; never the password itself.
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    #: Deactivated accounts cannot log in but keep their history.
    is_active_account: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    #: When the account was made.
    created_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow)
    #: Last successful login.
    last_login_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    #: Base32 TOTP secret (RFC 6238); set while enrolling, kept once enrolled.
    #: Written with plain UPDATEs so it never enters the audit trail.
    totp_secret: Mapped[str | None] = mapped_column(sa.String(64))
    #: When two-factor sign-in was confirmed; None while it is off.
    totp_enabled_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    #: Last time step whose code was accepted, so a code is never accepted twice.
    totp_last_step: Mapped[int | None] = mapped_column(sa.BigInteger)

    @property
    def is_active(self) -> bool:  # Flask-Login asks this
        return bool(self.is_active_account)

    @property
    def two_factor_enabled(self) -> bool:
        """True when the account signs in with a code as well as its password."""
        return self.totp_enabled_at is not None and bool(self.totp_secret)

    def has_role(self, *roles: str) -> bool:
        """True when the user holds one of ``roles``."""
        return self.role in roles

    def __str__(self) -> str:
        return self.full_name

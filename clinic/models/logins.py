"""Server-side login sessions: one row per login, ended by logout, password change or an admin."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ._types import utcnow


class LoginSession(db.Model):
    """One login of a staff member; the cookie carries a random token whose sha256 is kept here."""

    __tablename__ = "login_session"
    #: Sign-ins are recorded in the audit trail as login/logout events, not row by row.
    __audited__ = False

    id: Mapped[int] = mapped_column(primary_key=True)
    #: sha256 (hex) of the random token in the cookie; the token itself is never stored.
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    #: Who logged in.
    staff_id: Mapped[int] = mapped_column(sa.ForeignKey("staff_user.id", ondelete="CASCADE"), index=True)
    #: When the login happened (the absolute lifetime counts from here).
    created_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow)
    #: Last request seen, refreshed at most once a minute (the idle timeout counts from here).
    last_seen_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow)
    #: Client address at login.
    ip_address: Mapped[str] = mapped_column(sa.String(45), default="")
    #: Browser's User-Agent at login, truncated.
    user_agent: Mapped[str] = mapped_column(sa.String(200), default="")
    #: When the session was ended; None while it is open.
    ended_at: Mapped[datetime | None] = mapped_column(sa.DateTime, index=True)
    #: Why it ended: logout, idle, expired, password_changed, deactivated, ended_by_admin.
    end_reason: Mapped[str] = mapped_column(sa.String(40), default="")

    staff = relationship("StaffUser", lazy="joined")

    def __str__(self) -> str:
        return f"sign-in {self.id}"

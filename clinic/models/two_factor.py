"""Recovery codes for two-factor sign-in."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db


class RecoveryCode(db.Model):
    """A one-time code that replaces the authenticator app once; only its sha256 is kept."""

    __tablename__ = "recovery_code"
    #: Enrolment, use and reset are recorded as explicit audit events, never the hashes.
    __audited__ = False

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Whose code it is.
    staff_id: Mapped[int] = mapped_column(sa.ForeignKey("staff_user.id", ondelete="CASCADE"), index=True)
    #: sha256 (hex) of the normalised code.
    code_hash: Mapped[str] = mapped_column(sa.String(64))
    #: When it was used; None while it is still usable.
    used_at: Mapped[datetime | None] = mapped_column(sa.DateTime)

    def __str__(self) -> str:
        return f"recovery code {self.id}"

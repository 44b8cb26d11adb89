"""Calendar feeds: a staff member's subscription to sessions as an iCalendar address."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ._types import VersionedMixin, choice, utcnow

#: Whose sessions a feed carries: the owner's own, one group's, or one room's (planners).
FEED_KINDS = ("staff", "group", "room")


class CalendarFeed(VersionedMixin, db.Model):
    """One secret feed address of a staff member (``/calendar/<token>.ics``).

    The address holds a long random token; only its sha256 is kept, so a copy of the
    database gives no working address. Turning a feed off sets ``revoked_at``; renewing makes
    a new feed (a new address) and turns the old one off. The feed never names a patient.
    """

    __tablename__ = "calendar_feed"
    #: A feed follows one group or one room, never both (the service matches them to ``kind``).
    __table_args__ = (
        sa.CheckConstraint(
            "group_id IS NULL OR room = ''",
            name="one_subject",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The staff member who made the address (and whose access decides what it shows).
    owner_id: Mapped[int] = mapped_column(sa.ForeignKey("staff_user.id"), index=True)
    #: staff: the owner's own sessions; group: one group's; room: one room's.
    kind: Mapped[str] = mapped_column(choice("calendar_feed_kind", FEED_KINDS))
    #: The group of a group feed.
    group_id: Mapped[int | None] = mapped_column(sa.ForeignKey("care_group.id"), index=True)
    #: The room of a room feed, as the sessions name it.
    room: Mapped[str] = mapped_column(sa.String(40), default="")
    #: sha256 (hex) of the token in the address; the token itself is never stored.
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow)
    #: When the owner turned it off (or renewed it); None while it works.
    revoked_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    #: When a calendar last fetched it (refreshed at most once an hour).
    last_fetched_at: Mapped[datetime | None] = mapped_column(sa.DateTime)

    owner: Mapped["StaffUser"] = relationship()  # noqa: F821
    group: Mapped["CareGroup | None"] = relationship()  # noqa: F821

    def __str__(self) -> str:
        return f"Calendar feed #{self.id}"

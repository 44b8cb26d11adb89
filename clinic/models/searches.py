"""Search terms kept on the server so that they never appear in a URL."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ._types import utcnow


class SavedSearch(db.Model):
    """A list search typed by a member of staff, referred to in URLs by an opaque token.

    Searches are mostly patient names; keeping them out of URLs keeps them out of
    browser history, proxy and server logs. Rows expire after a day.
    """

    __tablename__ = "saved_search"
    __audited__ = False

    #: Random, unguessable token used in the list URL (``?q=...``).
    token: Mapped[str] = mapped_column(sa.String(43), primary_key=True)
    #: Whose search it is; nobody else can use the token.
    staff_id: Mapped[int] = mapped_column(sa.ForeignKey("staff_user.id", ondelete="CASCADE"), index=True)
    #: What was typed.
    term: Mapped[str] = mapped_column(sa.String(200))
    #: When it was made.
    created_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow, index=True)

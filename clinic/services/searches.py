"""List searches behind opaque tokens, so names typed into a search never reach a URL."""

from __future__ import annotations

import secrets
from datetime import timedelta

import sqlalchemy as sa

from ..extensions import db
from ..models import SavedSearch
from ..models._types import utcnow

LIFETIME = timedelta(hours=12)
MAX_TERM = 200


def save(staff_id: int, term: str) -> str:
    """Store ``term`` for ``staff_id`` and return its token; expired searches are purged."""
    now = utcnow()
    db.session.execute(sa.delete(SavedSearch).where(SavedSearch.created_at < now - LIFETIME))
    token = secrets.token_urlsafe(32)
    db.session.add(SavedSearch(token=token, staff_id=staff_id, term=term.strip()[:MAX_TERM], created_at=now))
    db.session.commit()
    return token


def lookup(staff_id: int, token: str) -> str | None:
    """Return the term behind ``token`` when it is this user's and not expired, else None."""
    if not token or len(token) > 64:
        return None
    return db.session.scalar(
        sa.select(SavedSearch.term).where(
            SavedSearch.token == token,
            SavedSearch.staff_id == staff_id,
            SavedSearch.created_at >= utcnow() - LIFETIME,
        )
    )


def token_for(staff_id: int, term: str) -> str:
    """The newest live token for this user's ``term``, or a new one."""
    existing = db.session.scalar(
        sa.select(SavedSearch.token).where(
            SavedSearch.staff_id == staff_id,
            SavedSearch.term == term,
            SavedSearch.created_at >= utcnow() - LIFETIME,
        ).order_by(SavedSearch.created_at.desc()).limit(1)
    )
    return existing or save(staff_id, term)

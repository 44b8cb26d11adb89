"""Login sessions kept in the database, so that logging out, a password change or an admin
ends a login at once on every app server.

The cookie carries only a random token; the database keeps its sha256. A session is open
while it has not been ended, has seen a request within ``SESSION_IDLE_MINUTES`` and began
less than ``SESSION_MAX_HOURS`` ago. Its last-seen time is written at most once a minute.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from ..extensions import db
from ..models import AuditEvent, LoginSession, StaffUser
from ..models._types import utcnow
from . import audit

log = logging.getLogger(__name__)

#: last_seen_at is written only when it is older than this.
TOUCH_EVERY = timedelta(minutes=1)
USER_AGENT_LENGTH = 200

def hash_token(token: str) -> str:
    """Return the stored form (sha256, hex) of a cookie token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _limits(config) -> tuple[timedelta, timedelta]:
    return (timedelta(minutes=config["SESSION_IDLE_MINUTES"]),
            timedelta(hours=config["SESSION_MAX_HOURS"]))


def start(user: StaffUser, ip_address: str, user_agent: str) -> str:
    """Open a login session for ``user`` and return the token for the cookie; no commit."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    db.session.add(LoginSession(
        token_hash=hash_token(token), staff_id=user.id, created_at=now, last_seen_at=now,
        ip_address=(ip_address or "")[:45], user_agent=(user_agent or "")[:USER_AGENT_LENGTH],
        end_reason="",
    ))
    return token


@dataclass(frozen=True)
class OpenSession:
    """A session found open for a token: its row id and its user."""

    id: int
    user: StaffUser


def _end_rows(where, reason: str, now: datetime) -> int:
    result = db.session.execute(
        sa.update(LoginSession.__table__)
        .where(LoginSession.__table__.c.ended_at.is_(None), *where)
        .values(ended_at=now, end_reason=reason)
    )
    return result.rowcount or 0


def resolve(token: str, config) -> OpenSession | None:
    """Return the open session for a cookie token, or None; ends it when it ran out.

    Refreshes last seen at most once a minute (in its own short transaction).
    """
    if not token or not isinstance(token, str) or len(token) > 100:
        return None
    row = db.session.execute(
        sa.select(LoginSession.id, LoginSession.staff_id, LoginSession.created_at,
                  LoginSession.last_seen_at)
        .where(LoginSession.token_hash == hash_token(token), LoginSession.ended_at.is_(None))
    ).one_or_none()
    if row is None:
        return None
    now = utcnow()
    idle, longest = _limits(config)
    table = LoginSession.__table__
    reason = None
    if now - row.created_at >= longest:
        reason = "expired"
    elif now - row.last_seen_at >= idle:
        reason = "idle"
    user = db.session.get(StaffUser, row.staff_id)
    if reason is None and (user is None or not user.is_active):
        reason = "deactivated"
    if reason is not None:
        with db.engine.begin() as conn:
            ended = conn.execute(sa.update(table).where(table.c.id == row.id, table.c.ended_at.is_(None))
                                 .values(ended_at=now, end_reason=reason)).rowcount
            if ended and user is not None:
                conn.execute(sa.insert(AuditEvent.__table__).values(
                    at=now, actor_id=user.id, actor_email=user.email, action="logout",
                    entity="login_session", entity_id=str(row.id), changes={"reason": reason},
                    ip_address="",
                ))
        return None
    if now - row.last_seen_at >= TOUCH_EVERY:
        try:
            with db.engine.begin() as conn:
                conn.execute(sa.update(table).where(table.c.id == row.id).values(last_seen_at=now))
        except SQLAlchemyError:
            # A missed refresh only brings the idle timeout a minute closer; the request goes on.
            log.warning("could not refresh the last-seen time of login session %s", row.id)
    return OpenSession(row.id, user)


def end(token: str, reason: str = "logout") -> int:
    """End the session of a cookie token; no commit. Returns 1 when it was open."""
    return _end_rows([LoginSession.__table__.c.token_hash == hash_token(token or "")], reason, utcnow())


def end_all(user: StaffUser, reason: str, keep: int | None = None) -> int:
    """End every open session of ``user`` but ``keep`` (a session id) and audit it; no commit.

    Returns how many ended.
    """
    table = LoginSession.__table__
    where = [table.c.staff_id == user.id]
    if keep is not None:
        where.append(table.c.id != keep)
    ended = _end_rows(where, reason, utcnow())
    if ended:
        audit.record("logout", entity="staff_user", entity_id=user.id,
                     changes={"sessions_ended": ended, "reason": reason})
    return ended


def active(config) -> list[LoginSession]:
    """Open sessions (not ended, not idle, not past their lifetime), newest activity first."""
    now = utcnow()
    idle, longest = _limits(config)
    return list(db.session.scalars(
        sa.select(LoginSession)
        .where(LoginSession.ended_at.is_(None),
               LoginSession.last_seen_at > now - idle,
               LoginSession.created_at > now - longest)
        .order_by(LoginSession.last_seen_at.desc())
    ))

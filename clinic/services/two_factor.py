"""Two-factor sign-in: TOTP codes (RFC 6238) from an authenticator app, and recovery codes.

The secret and the last accepted time step are written with plain UPDATEs, outside the
row version and the audit listener (so a secret never enters the audit trail); enrolment,
reset and wrong codes are recorded as explicit audit events. Wrong codes count as failed
logins of the account, with the same limits and pause as wrong passwords.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import pyotp
import segno
import sqlalchemy as sa
from sqlalchemy.orm.attributes import set_committed_value

from ..extensions import db
from ..models import AuditEvent, RecoveryCode, StaffUser
from ..models._types import utcnow
from . import accounts, audit, logins
from .errors import RuleViolation

RECOVERY_CODE_COUNT = 10
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
#: Codes from the step before and after the current one are accepted (clock drift).
VALID_WINDOW = 1
WRONG_CODE = "The code is not right."
#: ``entity`` of the login event written when the second step succeeds.
SECOND_STEP = "two_factor"

_users = StaffUser.__table__
_codes = RecoveryCode.__table__


def required_for(user: StaffUser, config) -> bool:
    """True when ``CLINIC_REQUIRE_2FA`` obliges this user to sign in with a code."""
    setting = config.get("CLINIC_REQUIRE_2FA", "admin")
    return setting == "all" or (setting == "admin" and user.role == "admin")


def _set(user: StaffUser, **values) -> None:
    db.session.execute(sa.update(_users).where(_users.c.id == user.id).values(**values))
    for key, value in values.items():
        set_committed_value(user, key, value)


def pending_secret(user: StaffUser) -> str:
    """Return the secret to enrol with, creating one when the account has none yet; commits."""
    if user.two_factor_enabled:
        raise RuleViolation("Two-factor sign-in is already on for this account.")
    if not user.totp_secret:
        _set(user, totp_secret=pyotp.random_base32())
        db.session.commit()
    return user.totp_secret


def provisioning_uri(user: StaffUser, secret: str, issuer: str) -> str:
    """The otpauth:// URI an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=issuer)


def qr_data_uri(uri: str) -> str:
    """The QR code of ``uri`` as an SVG data: URL (allowed by the CSP's img-src)."""
    return segno.make(uri, error="m").svg_data_uri(scale=5, border=2)


def _matching_step(secret: str, code: str, after: int | None) -> int | None:
    """The time step whose code is ``code``, newer than ``after``, within the window."""
    if not (len(code) == 6 and code.isdigit()):
        return None
    totp = pyotp.TOTP(secret)
    now_step = totp.timecode(datetime.now(timezone.utc))
    for step in range(now_step - VALID_WINDOW, now_step + VALID_WINDOW + 1):
        if after is not None and step <= after:
            continue
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def _normalise_recovery(code: str) -> str:
    return "".join(ch for ch in (code or "").lower() if ch.isalnum())


def _hash_recovery(code: str) -> str:
    return hashlib.sha256(_normalise_recovery(code).encode("utf-8")).hexdigest()


def _new_recovery_codes(user: StaffUser) -> list[str]:
    codes = []
    for _ in range(RECOVERY_CODE_COUNT):
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(10))
        codes.append(f"{raw[:5]}-{raw[5:]}")
    db.session.execute(sa.delete(_codes).where(_codes.c.staff_id == user.id))
    db.session.execute(sa.insert(_codes), [
        {"staff_id": user.id, "code_hash": _hash_recovery(code), "used_at": None} for code in codes
    ])
    return codes


def confirm_enrolment(user: StaffUser, code: str, ip_address: str = "") -> list[str]:
    """Turn two-factor sign-in on when ``code`` matches the pending secret; commit.

    Returns the recovery codes, in plain text this once (only their hashes are kept).
    """
    if user.two_factor_enabled:
        raise RuleViolation("Two-factor sign-in is already on for this account.")
    step = _matching_step(user.totp_secret or "", (code or "").strip(), None) if user.totp_secret else None
    if step is None:
        raise RuleViolation(WRONG_CODE + " Type the 6 digits your app shows now.")
    _set(user, totp_enabled_at=utcnow(), totp_last_step=step)
    codes = _new_recovery_codes(user)
    audit.record("update", actor=user, entity="staff_user", entity_id=str(user.id),
                 ip_address=ip_address, changes={"two_factor": ["off", "enrolled"]})
    db.session.commit()
    return codes


def reset(email: str) -> StaffUser:
    """Turn two-factor sign-in off for an account (lost phone); its logins end; commit."""
    user = accounts.find_user(email)
    if user is None:
        raise accounts.AccountError("No account has this e-mail.")
    if not user.totp_secret and not user.totp_enabled_at:
        raise accounts.AccountError("Two-factor sign-in is not set up for this account.")
    _set(user, totp_secret=None, totp_enabled_at=None, totp_last_step=None)
    db.session.execute(sa.delete(_codes).where(_codes.c.staff_id == user.id))
    audit.record("update", entity="staff_user", entity_id=str(user.id),
                 changes={"two_factor": ["enrolled", "reset"]})
    db.session.flush()
    logins.end_all(user, "two_factor_reset")
    db.session.commit()
    return user


def remaining_recovery_codes(user: StaffUser) -> int:
    """How many unused recovery codes the account has."""
    return db.session.scalar(sa.select(sa.func.count(_codes.c.id)).where(
        _codes.c.staff_id == user.id, _codes.c.used_at.is_(None))) or 0


@dataclass(frozen=True)
class CodeResult:
    """The outcome of the second step: the user, or a message (and whether to start over)."""

    user: StaffUser | None
    message: str = ""
    start_over: bool = False


def _last_second_step(email: str):
    return db.session.scalar(sa.select(sa.func.max(AuditEvent.at)).where(
        AuditEvent.action == "login", AuditEvent.entity == SECOND_STEP, AuditEvent.actor_email == email))


def check_code(user_id: int, code: str, ip_address: str, config) -> CodeResult:
    """Check the second step's code (authenticator or recovery), throttled like passwords; commit.

    Wrong codes are failed logins of the account, counted since the last completed
    two-factor sign-in (a correct password alone does not reset the count).
    """
    db.session.rollback()  # the lock must be the transaction's first step (SQLite)
    try:
        user = db.session.get(StaffUser, user_id)
        if user is None or not user.is_active or not user.two_factor_enabled:
            return CodeResult(None, "Please log in again.", start_over=True)
        email = user.email
        db.session.rollback()
        accounts._serialise_attempts(email, ip_address)
        db.session.refresh(user)
        return _check_code_locked(user, (code or "").strip(), ip_address, config)
    except BaseException:
        db.session.rollback()
        raise


def _check_code_locked(user: StaffUser, code: str, ip_address: str, config) -> CodeResult:
    minutes = config["LOGIN_LOCKOUT_MINUTES"]
    since = utcnow() - timedelta(minutes=minutes)
    last_ok = _last_second_step(user.email)
    account_since = max(since, last_ok) if last_ok else since
    if (accounts._recent_failures(AuditEvent.actor_email, user.email, account_since) >= config["LOGIN_MAX_FAILURES_PER_ACCOUNT"]
            or accounts._recent_failures(AuditEvent.ip_address, ip_address, since) >= config["LOGIN_MAX_FAILURES_PER_ADDRESS"]):
        audit.record("failed_login", actor_email=user.email, ip_address=ip_address,
                     entity=accounts.REFUSED_DURING_PAUSE, changes={"reason": "locked"})
        db.session.commit()
        return CodeResult(None, f"Too many failed attempts. Logins are paused for up to {minutes} minutes; "
                                "try again later or ask an administrator.", start_over=True)

    how = _accept_totp(user, code) or _accept_recovery(user, code)
    if how is None:
        audit.record("failed_login", actor_email=user.email, ip_address=ip_address,
                     changes={"reason": "wrong_code"})
        db.session.commit()
        return CodeResult(None, WRONG_CODE)
    audit.record("login", actor=user, ip_address=ip_address, entity=SECOND_STEP, changes={"method": how})
    db.session.commit()
    return CodeResult(user)


def _accept_totp(user: StaffUser, code: str) -> str | None:
    step = _matching_step(user.totp_secret, code, user.totp_last_step)
    if step is None:
        return None
    # Conditional, so two requests with the same code cannot both pass.
    done = db.session.execute(sa.update(_users).where(
        _users.c.id == user.id,
        sa.or_(_users.c.totp_last_step.is_(None), _users.c.totp_last_step < step),
    ).values(totp_last_step=step))
    return "totp" if done.rowcount == 1 else None


def _accept_recovery(user: StaffUser, code: str) -> str | None:
    if len(_normalise_recovery(code)) != 10:
        return None
    done = db.session.execute(sa.update(_codes).where(
        _codes.c.staff_id == user.id, _codes.c.code_hash == _hash_recovery(code), _codes.c.used_at.is_(None),
    ).values(used_at=utcnow()))
    return "recovery_code" if done.rowcount == 1 else None

"""Staff accounts: passwords, creation, deactivation and login throttling."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from argon2 import PasswordHasher
from flask import current_app, has_app_context
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from ..extensions import db
from ..models import ROLES, AuditEvent, StaffUser
from ..models._types import utcnow
from . import audit, logins
from .errors import RuleViolation
from .limits import FieldViolation, choice, column_length, text
from .locking import check_version

#: Argon2id with the library's recommended parameters (RFC 9106, low-memory profile).
_PRODUCTION_HASHER = PasswordHasher()
#: Cheap parameters, used only when CLINIC_ENV=testing so the suite stays quick.
_TESTING_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
_dummy_hashes: dict[int, str] = {}

MIN_PASSWORD_LENGTH = 12


def _hasher() -> PasswordHasher:
    if has_app_context() and current_app.config.get("CLINIC_ENV") == "testing":
        return _TESTING_HASHER
    return _PRODUCTION_HASHER


def _dummy_hash() -> str:
    """A hash verified when the e-mail is unknown, so both paths take the same time."""
    hasher = _hasher()
    if id(hasher) not in _dummy_hashes:
        _dummy_hashes[id(hasher)] = hasher.hash("not a real password, only for timing")
    return _dummy_hashes[id(hasher)]


class AccountError(ValueError):
    """A request about an account that cannot be carried out; the message says why."""


def hash_password(plain: str) -> str:
    """Return an Argon2id hash of ``plain``."""
    return _hasher().hash(plain)


def check_password_rules(plain: str) -> None:
    """Raise ``AccountError`` when ``plain`` is too weak to be a staff password."""
    if len(plain) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"The password must have at least {MIN_PASSWORD_LENGTH} characters.")
    if plain.strip() != plain:
        raise AccountError("The password must not start or end with spaces.")


def normalise_email(email: str) -> str:
    """Return the login form of an e-mail address (trimmed, lower case)."""
    return (email or "").strip().lower()


def find_user(email: str) -> StaffUser | None:
    """Return the account with this e-mail, or None."""
    return db.session.scalar(sa.select(StaffUser).where(StaffUser.email == normalise_email(email)))


def create_user(email: str, full_name: str, role: str, password: str) -> StaffUser:
    """Create a staff account and commit it; refuse duplicates, bad roles and weak passwords."""
    email = normalise_email(email)
    if "@" not in email or len(email) > 254:
        raise AccountError("Give a valid e-mail address.")
    if role not in ROLES:
        raise AccountError(f"The role must be one of: {', '.join(ROLES)}.")
    check_password_rules(password)
    if find_user(email) is not None:
        raise AccountError("An account with this e-mail already exists.")
    user = StaffUser(
        email=email,
        full_name=(full_name or email.split("@")[0]).strip(),
        role=role,
        password_hash=hash_password(password),
        is_active_account=True,
    )
    db.session.add(user)
    db.session.commit()
    return user


def _account_values(values: dict, user: StaffUser | None) -> dict:

    email = normalise_email(values.get("email") or "")
    if "@" not in email or len(email) > 254 or any(c.isspace() for c in email):
        raise FieldViolation("email", "Give a valid e-mail address.")
    clash = find_user(email)
    if clash is not None and (user is None or clash.id != user.id):
        raise FieldViolation("email", "An account with this e-mail already exists.")
    return {
        "email": email,
        "full_name": text(values, "full_name", "name", column_length(StaffUser.full_name), required=True),
        "role": choice(values, "role", "role", ROLES),
        "is_active_account": bool(values.get("is_active_account")),
    }


def _password(new_password: str | None, required: bool) -> str | None:

    if not new_password:
        if required:
            raise FieldViolation("new_password", "A new account needs a password.")
        return None
    try:
        check_password_rules(new_password)
    except AccountError as exc:
        raise FieldViolation("new_password", str(exc)) from exc
    return hash_password(new_password)


def create_account(values: dict, new_password: str | None) -> StaffUser:
    """Open a staff account from a form's values with a password that meets the rules; no commit."""
    clean = _account_values(values, None)
    user = StaffUser(**clean, password_hash=_password(new_password, required=True))
    db.session.add(user)
    db.session.flush()
    return user


def update_account(user: StaffUser, values: dict, new_password: str | None, version, *,
                   acting_user_id: int | None, acting_session_id: int | None = None) -> StaffUser:
    """Change an account opened at ``version``; no commit.

    An empty password keeps the current one. Nobody can remove their own admin rights
    or deactivate their own account. A new password ends the account's logins, except
    ``acting_session_id`` when people change their own.
    """

    check_version(user, version)
    clean = _account_values(values, user)
    if user.id == acting_user_id and (clean["role"] != user.role or not clean["is_active_account"]):
        raise RuleViolation("You cannot remove your own admin rights or deactivate yourself.")
    password_hash = _password(new_password, required=False)
    if password_hash is not None:
        clean["password_hash"] = password_hash
    deactivating = user.is_active_account and not clean["is_active_account"]
    for key, value in clean.items():
        if getattr(user, key) != value:
            setattr(user, key, value)
    db.session.flush()
    if deactivating:
        logins.end_all(user, "deactivated")
    elif password_hash is not None:
        keep = acting_session_id if user.id == acting_user_id else None
        logins.end_all(user, "password_changed", keep=keep)
    return user


def end_sessions(email: str) -> int:
    """End every open login of an account and commit; return how many ended."""
    user = find_user(email)
    if user is None:
        raise AccountError("No account has this e-mail.")
    ended = logins.end_all(user, "ended_by_admin")
    db.session.commit()
    return ended


def set_password(email: str, password: str) -> StaffUser:
    """Give an account a new password and commit."""
    user = find_user(email)
    if user is None:
        raise AccountError("No account has this e-mail.")
    check_password_rules(password)
    user.password_hash = hash_password(password)
    db.session.flush()
    logins.end_all(user, "password_changed")
    db.session.commit()
    return user


def deactivate_user(email: str) -> StaffUser:
    """Stop an account from logging in, keeping its history, and commit."""
    user = find_user(email)
    if user is None:
        raise AccountError("No account has this e-mail.")
    user.is_active_account = False
    db.session.flush()
    logins.end_all(user, "deactivated")
    db.session.commit()
    return user


@dataclass(frozen=True)
class LoginResult:
    """The outcome of a login attempt: the user, or a message to show."""

    user: StaffUser | None
    message: str = ""


GENERIC_FAILURE = "The e-mail or password is not right."


#: ``entity`` of a failed_login event refused without a password check (during a pause);
#: such events are kept in the audit trail but do not count, so they never extend a pause.
REFUSED_DURING_PAUSE = "login_paused"


def _recent_failures(column, value: str, since) -> int:
    return db.session.scalar(
        sa.select(sa.func.count(AuditEvent.id)).where(
            AuditEvent.action == "failed_login", AuditEvent.entity != REFUSED_DURING_PAUSE,
            column == value, AuditEvent.at >= since,
        )
    ) or 0


def _last_success(email: str):
    return db.session.scalar(
        sa.select(sa.func.max(AuditEvent.at)).where(
            AuditEvent.action == "login", AuditEvent.actor_email == email
        )
    )


def _serialise_attempts(email: str, ip_address: str) -> None:
    """Make concurrent attempts on one account or from one address wait for each other.

    The lock lasts until the transaction ends, so counting, the password check and the
    recording of the outcome are one step on every app server: PostgreSQL takes advisory
    locks on the e-mail and the address (always in that order); SQLite takes its database
    write lock with an empty UPDATE.
    """
    if db.session.get_bind().dialect.name == "postgresql":
        for key in (f"login-account:{email}", f"login-address:{ip_address}"):
            db.session.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": key})
    else:
        db.session.execute(sa.text("UPDATE staff_user SET id = id WHERE 1 = 0"))


def _verify(user: StaffUser | None, password: str) -> bool:
    if user is None:
        try:
            _hasher().verify(_dummy_hash(), password)
        except VerificationError:
            pass
        return False
    try:
        return _hasher().verify(user.password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def authenticate(email: str, password: str, ip_address: str, config: dict) -> LoginResult:
    """Check a login, throttled per account and per address, audit the outcome and commit.

    Failures are counted from the audit trail inside a lock held until the outcome is
    written, so no burst, on any number of app servers, gets more password checks than
    the limit. Attempts refused during a pause are audited but do not count. The message
    never says whether the account exists.
    """
    email = normalise_email(email)
    db.session.rollback()  # the lock must be the transaction's first step (SQLite)
    try:
        _serialise_attempts(email, ip_address)
        return _authenticate_locked(email, password, ip_address, config)
    except BaseException:
        db.session.rollback()
        raise


def _authenticate_locked(email: str, password: str, ip_address: str, config: dict) -> LoginResult:
    window = timedelta(minutes=config["LOGIN_LOCKOUT_MINUTES"])
    now = utcnow()
    since = now - window
    last_ok = _last_success(email)
    account_since = max(since, last_ok) if last_ok else since
    if (
        _recent_failures(AuditEvent.actor_email, email, account_since)
        >= config["LOGIN_MAX_FAILURES_PER_ACCOUNT"]
        or _recent_failures(AuditEvent.ip_address, ip_address, since)
        >= config["LOGIN_MAX_FAILURES_PER_ADDRESS"]
    ):
        audit.record("failed_login", actor_email=email, ip_address=ip_address,
                     entity=REFUSED_DURING_PAUSE, changes={"reason": "locked"})
        db.session.commit()
        minutes = config["LOGIN_LOCKOUT_MINUTES"]
        return LoginResult(
            None,
            f"Too many failed attempts. Logins are paused for up to {minutes} minutes; "
            "try again later or ask an administrator.",
        )

    user = find_user(email)
    ok = _verify(user, password) and user.is_active
    if not ok:
        audit.record("failed_login", actor_email=email, ip_address=ip_address)
        db.session.commit()
        return LoginResult(None, GENERIC_FAILURE)

    # Plain UPDATEs, outside the row version: a login never conflicts with an edit.
    values = {"last_login_at": now}
    if _hasher().check_needs_rehash(user.password_hash):
        values["password_hash"] = hash_password(password)
    db.session.execute(
        sa.update(StaffUser.__table__).where(StaffUser.__table__.c.id == user.id).values(**values)
    )
    audit.record("login", actor=user, ip_address=ip_address)
    db.session.commit()
    return LoginResult(user)

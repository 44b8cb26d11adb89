"""Configuration read from the environment.

``CLINIC_ENV`` chooses the mode: ``production`` (the default, the safe one),
``development`` (what ``make run`` uses) or ``testing``.
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

MODES = ("production", "development", "testing")
MIN_SECRET_BYTES = 32
REQUIRE_2FA_CHOICES = ("admin", "all", "none")
#: The longest CLINIC_RECORD_DUE_HOURS accepted: a year.
MAX_RECORD_DUE_HOURS = 24 * 366


class ConfigError(RuntimeError):
    """The environment does not describe a configuration the app can run with."""


def _development_secret(instance_path: Path) -> str:
    """Return the development secret key, creating it once with owner-only rights."""
    instance_path.mkdir(parents=True, exist_ok=True)
    key_file = instance_path / "secret_key"
    if not key_file.exists():
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
    os.chmod(key_file, 0o600)
    return key_file.read_text().strip()


def _bool(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _whole(env: dict[str, str], name: str, default: int, low: int, high: int, unit: str) -> int:
    raw = env.get(name, "").strip() or str(default)
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number of {unit} (for example {default}).") from None
    if not low <= value <= high:
        raise ConfigError(f"{name} must be between {low} and {high} {unit}.")
    return value


def _zone(name: str) -> str:
    name = name.strip()
    if not name:
        return ""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"CLINIC_TIMEZONE must be a time zone name such as Europe/London (got {name[:40]!r}).") from None
    return name


def _job_settings(env: dict[str, str], mode: str) -> dict:
    """The background print jobs' queue and timings (``clinic/jobs.py``, ``services/print_jobs.py``)."""
    queue = env.get("CLINIC_JOB_QUEUE", "").strip()
    if not queue:
        # make run needs no extra service: a SQLite queue in instance/; tests run jobs in-process.
        queue = "immediate" if mode == "testing" else "sqlite"
    if not (queue in {"immediate", "sqlite"} or queue.startswith(("redis://", "rediss://", "unix://", "sqlite:///"))):
        raise ConfigError("CLINIC_JOB_QUEUE must be a redis:// URL, 'sqlite', sqlite:///PATH or 'immediate'.")
    name = env.get("CLINIC_JOB_QUEUE_NAME", "").strip() or "clinic-print"
    return {
        # Where batch print jobs are queued: redis://host:port/db, sqlite (instance/jobs.sqlite) or immediate.
        "CLINIC_JOB_QUEUE": queue,
        "CLINIC_JOB_QUEUE_NAME": name,
        # Sheets per chunk a worker renders at a time (memory per worker grows with it).
        "CLINIC_PRINT_CHUNK_SHEETS": _whole(env, "CLINIC_PRINT_CHUNK_SHEETS", 10, 1, 500, "sheets"),
        # A running chunk without a heartbeat for this long is taken to have lost its worker.
        "CLINIC_PRINT_STALE_SECONDS": _whole(env, "CLINIC_PRINT_STALE_SECONDS", 60, 2, 86400, "seconds"),
        # Finished jobs (and their PDFs, patient data) are deleted this long after they finished.
        "CLINIC_PRINT_KEEP_MINUTES": _whole(env, "CLINIC_PRINT_KEEP_MINUTES", 60, 1, 10080, "minutes"),
        # A whole-clinic report is computed by a worker when the tables it reads hold at least
        # this many rows (0: always); smaller clinics and counselors' caseloads are computed inline.
        "CLINIC_REPORT_JOB_ROWS": _whole(env, "CLINIC_REPORT_JOB_ROWS", 100_000, 0, 10**12, "rows"),
        # A computed report is shown for this long; asked for later, it is computed again.
        "CLINIC_REPORT_FRESH_MINUTES": _whole(env, "CLINIC_REPORT_FRESH_MINUTES", 5, 1, 1440, "minutes"),
        # A report still being computed after this long lost its worker (or took too long): it fails plainly.
        "CLINIC_REPORT_STALE_SECONDS": _whole(env, "CLINIC_REPORT_STALE_SECONDS", 600, 5, 86400, "seconds"),
        # Computed reports (patient data) are deleted this long after they finished.
        "CLINIC_REPORT_KEEP_MINUTES": _whole(env, "CLINIC_REPORT_KEEP_MINUTES", 60, 1, 10080, "minutes"),
        # A whole-track assign runs as a background job when more patients than this are enrolled.
        "CLINIC_TRACK_ASSIGN_JOB_ABOVE": _whole(env, "CLINIC_TRACK_ASSIGN_JOB_ABOVE", 300, 0, 10_000_000,
                                                "patients"),
    }


def _kindness_target(env: dict[str, str]) -> dict:
    """The weekly target of acts of kindness (``services/kindness_dose.py``): 3 to 5 by default."""
    low = _whole(env, "CLINIC_KINDNESS_WEEKLY_TARGET_MIN", 3, 1, 50, "acts a week")
    high = _whole(env, "CLINIC_KINDNESS_WEEKLY_TARGET_MAX", 5, 1, 50, "acts a week")
    if high < low:
        raise ConfigError(
            "CLINIC_KINDNESS_WEEKLY_TARGET_MAX must not be below CLINIC_KINDNESS_WEEKLY_TARGET_MIN "
            f"({high} is below {low})."
        )
    return {
        # A week with fewer acts of kindness done is below the target, more is above it.
        "CLINIC_KINDNESS_WEEKLY_TARGET_MIN": low,
        "CLINIC_KINDNESS_WEEKLY_TARGET_MAX": high,
    }


def load_config(instance_path: str, environ: dict[str, str] | None = None) -> dict:
    """Build the Flask configuration from ``environ`` (``os.environ`` by default)."""
    env = dict(os.environ if environ is None else environ)
    mode = env.get("CLINIC_ENV", "production").strip().lower()
    if mode not in MODES:
        raise ConfigError(f"CLINIC_ENV must be one of {', '.join(MODES)}, not {mode!r}.")
    instance = Path(instance_path)
    production = mode == "production"

    secret = env.get("SECRET_KEY", "").strip()
    if not secret:
        if production:
            raise ConfigError(
                "SECRET_KEY must be set in production (for example: "
                "python -c 'import secrets; print(secrets.token_hex(32))')."
            )
        secret = _development_secret(instance)
    if production and len(secret.encode()) < MIN_SECRET_BYTES:
        raise ConfigError(
            f"SECRET_KEY must be at least {MIN_SECRET_BYTES} bytes long in production "
            f"(it is {len(secret.encode())}); generate one with "
            "python -c 'import secrets; print(secrets.token_hex(32))'."
        )

    database_url = env.get("DATABASE_URL", "").strip()
    if not database_url:
        instance.mkdir(parents=True, exist_ok=True)
        database_url = f"sqlite:///{instance / 'clinic.sqlite'}"
    if database_url.startswith("postgresql://") or database_url.startswith("postgres://"):
        # psycopg 3 is the driver we ship; make the plain URL use it.
        database_url = "postgresql+psycopg://" + database_url.split("://", 1)[1]

    page_size = env.get("CLINIC_PAGE_SIZE", "A4").strip()
    if page_size not in {"A4", "Letter"}:
        raise ConfigError("CLINIC_PAGE_SIZE must be A4 or Letter.")

    try:
        max_request = int(env.get("MAX_REQUEST_BYTES", str(2 * 1024 * 1024)))
    except ValueError:
        raise ConfigError("MAX_REQUEST_BYTES must be a whole number of bytes.") from None
    if max_request < 64 * 1024:
        raise ConfigError("MAX_REQUEST_BYTES must be at least 65536 (64 KB).")

    # Tests log in with a password alone unless they ask for two-factor sign-in.
    require_2fa = env.get("CLINIC_REQUIRE_2FA", "none" if mode == "testing" else "admin").strip().lower()
    if require_2fa not in REQUIRE_2FA_CHOICES:
        raise ConfigError(f"CLINIC_REQUIRE_2FA must be one of {', '.join(REQUIRE_2FA_CHOICES)}.")

    raw_due = env.get("CLINIC_RECORD_DUE_HOURS", "24").strip() or "24"
    try:
        record_due_hours = int(raw_due)
    except ValueError:
        raise ConfigError("CLINIC_RECORD_DUE_HOURS must be a whole number of hours (for example 24).") from None
    if not 0 <= record_due_hours <= MAX_RECORD_DUE_HOURS:
        raise ConfigError(f"CLINIC_RECORD_DUE_HOURS must be between 0 and {MAX_RECORD_DUE_HOURS} hours.")

    jobs = _job_settings(env, mode)

    return {
        **jobs,
        **_kindness_target(env),
        # A PHQ-9 / GAD-7 is overdue once its due day has passed by more than this many days
        # (services/measure_schedule.py).
        "CLINIC_MEASURE_GRACE_DAYS": _whole(env, "CLINIC_MEASURE_GRACE_DAYS", 1, 0, 30, "days"),
        "CLINIC_ENV": mode,
        # A session's record is overdue once this many hours have passed since the session ended.
        "CLINIC_RECORD_DUE_HOURS": record_due_hours,
        # The treatment plan is reviewed every this many days (services/treatment_plan.schedule).
        "CLINIC_PLAN_REVIEW_DAYS": _whole(env, "CLINIC_PLAN_REVIEW_DAYS", 30, 1, 366, "days"),
        # Who must sign in with an authenticator code as well: admin, all or none.
        "CLINIC_REQUIRE_2FA": require_2fa,
        # Request bodies: refused (413) above the limit before being parsed.
        "MAX_CONTENT_LENGTH": max_request,
        "MAX_FORM_MEMORY_SIZE": max_request,
        "MAX_FORM_PARTS": 1000,
        "CLINIC_NAME": env.get("CLINIC_NAME", "Kindness Programme").strip() or "Kindness Programme",
        "CLINIC_PAGE_SIZE": page_size,
        "SECRET_KEY": secret,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": {"hide_parameters": True, "pool_pre_ping": True},
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": _bool(env.get("SESSION_COOKIE_SECURE"), production),
        "SESSION_COOKIE_NAME": "clinic_session",
        "REMEMBER_COOKIE_SECURE": _bool(env.get("SESSION_COOKIE_SECURE"), production),
        "REMEMBER_COOKIE_HTTPONLY": True,
        "PERMANENT_SESSION_LIFETIME": timedelta(
            minutes=int(env.get("SESSION_MINUTES", "60"))
        ),
        # A login ends after this long without a request, and in any case this long after it began.
        "SESSION_IDLE_MINUTES": int(env.get("SESSION_IDLE_MINUTES") or env.get("SESSION_MINUTES") or "60"),
        "SESSION_MAX_HOURS": float(env.get("SESSION_MAX_HOURS", "12")),
        # The token lives as long as the login session (which a page being typed on keeps
        # alive), so a long group note is never refused for an expired token.
        "WTF_CSRF_TIME_LIMIT": None,
        "LOGIN_MAX_FAILURES_PER_ACCOUNT": int(env.get("LOGIN_MAX_FAILURES_PER_ACCOUNT", "5")),
        "LOGIN_MAX_FAILURES_PER_ADDRESS": int(env.get("LOGIN_MAX_FAILURES_PER_ADDRESS", "20")),
        "LOGIN_LOCKOUT_MINUTES": int(env.get("LOGIN_LOCKOUT_MINUTES", "15")),
        # Reverse proxies in front of the app (nginx, a load balancer) that set X-Forwarded-For
        # and X-Forwarded-Proto: with 1, the client's address (lockout per address, the audit
        # trail) and https come from the proxy's headers; 0 (the default) trusts no header, so
        # nobody can forge an address by sending one.
        "CLINIC_TRUSTED_PROXIES": _whole(env, "CLINIC_TRUSTED_PROXIES", 0, 0, 5, "proxies"),
        # The clinic's time zone (IANA name, e.g. Europe/London) for calendar feeds; empty: the
        # feeds carry floating wall-clock times (the same hour wherever a calendar is).
        "CLINIC_TIMEZONE": _zone(env.get("CLINIC_TIMEZONE", "")),
        "FLASK_ADMIN_SWATCH": "default",
        "FLASK_ADMIN_RAISE_ON_INTEGRITY_ERROR": False,
    }

"""The audit trail: every create, update and delete is written in the same transaction.

A session listener turns each flushed change into an ``AuditEvent``, so changes made
through the admin, a service or the CLI are all recorded without each caller
remembering to. Logins and exports are recorded with ``record``; every page that shows
a patient's clinical data records one "view" event with ``record_view``.
"""

from __future__ import annotations

import contextvars
import json
import re
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Callable

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session

from ..extensions import db
from ..models import AuditActor, AuditEvent, StaffUser
from ..models._types import utcnow

#: Columns whose values never enter the audit trail; only the fact they changed does.
REDACTED = {"password_hash", "token_hash", "totp_secret"}
#: Columns whose changes alone are not worth an event.
IGNORED = {"version", "last_login_at"}

_actor: contextvars.ContextVar[tuple[int | None, str, str] | None] = contextvars.ContextVar(
    "audit_actor", default=None
)
_provider: Callable[[], tuple[int | None, str, str] | None] | None = None


class AuditTrailIsAppendOnly(RuntimeError):
    """Raised when code tries to change or remove an audit event."""


def set_actor_provider(provider: Callable[[], tuple[int | None, str, str] | None]) -> None:
    """Register how to find the acting user (id, e-mail, address) outside ``acting_as``."""
    global _provider
    _provider = provider


@contextmanager
def acting_as(user: StaffUser | None, label: str = "", ip_address: str = ""):
    """Attribute every change inside the block to ``user`` (or to ``label``, e.g. the CLI)."""
    token = _actor.set((user.id if user else None, user.email if user else label, ip_address))
    try:
        yield
    finally:
        _actor.reset(token)


def current_actor() -> tuple[int | None, str, str]:
    """Return (staff id, e-mail or label, address) of whoever is acting now."""
    value = _actor.get()
    if value is None and _provider is not None:
        value = _provider()
    return value or (None, "system", "")


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (list, tuple, set)):
        return [_plain(v) for v in value]
    if hasattr(value, "id"):
        return getattr(value, "id")
    return str(value)


def _pk(obj: Any) -> str:
    identity = sa.inspect(obj).mapper.primary_key_from_instance(obj)
    return ",".join(str(part) for part in identity if part is not None)


def _changes(obj: Any, action: str, loaded_before: dict | None = None) -> dict[str, list]:
    state = sa.inspect(obj)
    loaded_before = loaded_before or {}
    mapper = state.mapper
    changes: dict[str, list] = {}
    for column_attr in mapper.column_attrs:
        key = column_attr.key
        if key in IGNORED:
            continue
        history = state.attrs[key].history
        if action == "create":
            value = state.attrs[key].value
            if value is None:
                continue
            changes[key] = [None, "(set)" if key in REDACTED else _plain(value)]
        elif action == "delete":
            value = state.attrs[key].value
            changes[key] = ["(set)" if key in REDACTED else _plain(value), None]
        elif history.has_changes():
            before = history.deleted[0] if history.deleted else loaded_before.get(key)
            after = history.added[0] if history.added else None
            if before == after:
                continue
            if key in REDACTED:
                changes[key] = ["(changed)", "(changed)"]
            else:
                changes[key] = [_plain(before), _plain(after)]
    for rel in mapper.relationships:
        if rel.secondary is None:
            continue
        history = state.attrs[rel.key].history
        if history.has_changes() or (action == "create" and history.added):
            changes[rel.key] = [
                sorted(_plain(v) for v in (history.deleted or [])) + sorted(
                    _plain(v) for v in (history.unchanged or [])
                ),
                sorted(_plain(v) for v in (history.added or [])) + sorted(
                    _plain(v) for v in (history.unchanged or [])
                ),
            ]
    return changes


def record(
    action: str,
    *,
    entity: str = "",
    entity_id: Any = "",
    changes: dict | None = None,
    actor: StaffUser | None = None,
    actor_email: str | None = None,
    ip_address: str | None = None,
) -> AuditEvent:
    """Add an audit event to the current transaction (the caller commits)."""
    actor_id, email, address = current_actor()
    if actor is not None:
        actor_id, email = actor.id, actor.email
    event_row = AuditEvent(
        at=utcnow(),
        actor_id=actor_id,
        actor_email=(actor_email if actor_email is not None else email)[:254],
        action=action,
        entity=entity,
        entity_id=str(entity_id or ""),
        changes=changes or {},
        ip_address=(ip_address if ip_address is not None else address)[:45],
    )
    db.session.add(event_row)
    return event_row


#: Stands in a "create" event's JSON for a value each row has its own of (see ``record_created_from``).
_VARYING = "@@audit-row:{}@@"


def record_created_from(model: Any, created: sa.Select, values: dict[str, Any]) -> int:
    """Write, in one INSERT … SELECT, the "create" events of rows inserted set-based into ``model``.

    An ``INSERT … SELECT`` makes no ORM objects and hands no rows back, so the flush
    listener cannot see them. ``created`` selects the new rows: its
    columns are named after ``model``'s and are integers or NULL (at least ``id``, never
    NULL); ``values`` gives every other column's value, the same for every row. Each event
    is what the listener would write for the row (every column that is set, ``IGNORED``
    ones left out, ``REDACTED`` ones hidden, the JSON in column order), and no row is read
    into Python. Returns how many events were written.
    """
    actor_id, email, address = current_actor()
    varying = list(created.selected_columns.keys())
    if "id" not in varying:
        raise ValueError("record_created_from needs the new rows' id")
    keys = [attr.key for attr in sa.inspect(model).column_attrs if attr.key not in IGNORED]
    changes = {}
    for key in keys:
        if key in varying:
            changes[key] = [None, _VARYING.format(key)]
        elif values.get(key) is not None:
            changes[key] = [None, "(set)" if key in REDACTED else _plain(values[key])]
    dialect = db.session.get_bind().dialect
    serialise = getattr(dialect, "_json_serializer", None) or json.dumps
    text = serialise(changes)
    rows = created.subquery()
    # The JSON text around each row's own values, joined in SQL: '{"id": [null, ' || id || '], …'.
    pieces = re.split(r'"(@@audit-row:\w+@@)"', text)
    parts = []
    for n, piece in enumerate(pieces):
        if n % 2:
            key = piece[len("@@audit-row:"):-2]
            # A NULL (a goal not named, say) is written as JSON null.
            parts.append(sa.func.coalesce(sa.cast(rows.c[key], sa.String), "null"))
        elif piece:
            parts.append(sa.literal(piece, sa.String))
    joined = parts[0]
    for part in parts[1:]:
        joined = joined + part
    as_json = sa.cast(joined, AuditEvent.changes.type) if dialect.name == "postgresql" else joined
    now = utcnow()
    select = sa.select(
        sa.literal(now, sa.DateTime()),
        sa.literal(actor_id, sa.Integer()),
        sa.literal(email[:254], sa.String()),
        sa.literal("create", sa.String()),
        sa.literal(model.__tablename__, sa.String()),
        sa.cast(rows.c.id, sa.String),
        as_json,
        sa.literal(address[:45], sa.String()),
    ).select_from(rows)
    table = AuditEvent.__table__
    inserted = db.session.execute(
        sa.insert(table).from_select(
            [table.c.at, table.c.actor_id, table.c.actor_email, table.c.action, table.c.entity,
             table.c.entity_id, table.c.changes, table.c.ip_address],
            select,
        ),
        execution_options={"preserve_rowcount": True},
    )
    return inserted.rowcount


def whole_id(value: Any) -> int | None:
    """A record id as typed (``"00034"``, `` 34 ``) as an integer (34); None when it is not one."""
    text = str(value if value is not None else "").strip()
    if not text.isdigit() or len(text) > 18:
        return None
    return int(text)


def patient_ids(values) -> list[int]:
    """Patient ids as distinct, sorted integers; anything that is not a whole number is dropped."""
    found = {whole_id(v) for v in values or ()}
    return sorted(v for v in found if v is not None)


def record_view(entity: str, entity_id: Any, patients, *, commit: bool = True) -> AuditEvent:
    """Record that the current user opened a page showing these patients' clinical data.

    One "view" event: ``entity`` and its normalised id, and ``{"patients": [ids]}``
    in ``changes``. Committed (with whatever the request did) unless ``commit`` is False.
    """
    number = whole_id(entity_id)
    event_row = record(
        "view",
        entity=entity,
        entity_id="" if number is None else number,
        changes={"patients": patient_ids(patients)},
    )
    if commit:
        db.session.commit()
    return event_row


def about_patient(patient_id: int, dialect: str):
    """A clause for the events about one patient: their own row, or naming them in ``patients``."""
    own = sa.and_(AuditEvent.entity == "patient", AuditEvent.entity_id == str(patient_id))
    if dialect == "postgresql":
        elements = sa.func.json_array_elements_text(AuditEvent.changes["patients"]).table_valued("value")
        named = sa.exists(sa.select(1).select_from(elements).where(elements.c.value == str(patient_id)))
    else:
        elements = sa.func.json_each(AuditEvent.changes, "$.patients").table_valued("value")
        named = sa.exists(sa.select(1).select_from(elements).where(elements.c.value == patient_id))
    return sa.or_(own, named)


#: The most matching addresses whose newest events the audit search reads one address at a
#: time; with more (a search for "@"), their events are many and the newest are found by
#: walking the trail newest first.
ACTOR_PROBES = 20


def search_parts(pattern: str, reach: int, newest_first: bool, dialect: str) -> list[list]:
    """The audit list's search for one word (a ``LIKE`` pattern) as separately read parts.

    The search matches an event's actor address, entity or entity id (``ILIKE``), as it
    always has; each part is one of them, read alone in the list's order (``at``) up to
    ``reach`` rows (the page's end) and the page taken from their union (``get_list``).

    The addresses come from ``audit_actor`` (every address of the trail, a few hundred rows):
    when at most ``ACTOR_PROBES`` match, each one's newest ``reach`` events are read through
    the (actor_email, at) index (a LATERAL probe per address, PostgreSQL), so one person's
    events are found as fast in a trail of ten million as in one of ten thousand, however
    rare they have become; with more, the trail is walked newest first for any of them (they
    are then frequent). Which of the two runs is decided inside the statement. SQLite reads
    the addresses' events by ``IN``.
    """
    matching = sa.select(AuditActor.email).where(sa.cast(AuditActor.email, sa.Unicode).ilike(pattern))
    parts = []
    if dialect == "postgresql":
        counted = sa.select(sa.func.count()).select_from(
            matching.limit(ACTOR_PROBES + 1).subquery()).scalar_subquery()
        addresses = matching.subquery()
        ev = AuditEvent.__table__.alias("actor_event")
        order = (ev.c.at.desc(), ev.c.id.desc()) if newest_first else (ev.c.at, ev.c.id)
        newest = (sa.select(ev.c.id).where(ev.c.actor_email == addresses.c.email)
                  .order_by(*order).limit(reach).lateral())
        probed = sa.select(newest.c.id).select_from(addresses.join(newest, sa.true()))
        parts.append([counted <= ACTOR_PROBES, AuditEvent.id.in_(probed)])
        parts.append([counted > ACTOR_PROBES, AuditEvent.actor_email.in_(matching)])
    else:
        parts.append([AuditEvent.actor_email.in_(matching)])
    for column in (AuditEvent.entity, AuditEvent.entity_id):
        parts.append([sa.cast(column, sa.Unicode).ilike(pattern)])
    return parts


@event.listens_for(Session, "before_flush")
def _refuse_audit_changes(session: Session, flush_context, instances) -> None:
    for obj in list(session.dirty) + list(session.deleted):
        append_only = isinstance(obj, AuditEvent) or getattr(obj, "__append_only__", False)
        if append_only and (obj in session.deleted or session.is_modified(obj)):
            raise AuditTrailIsAppendOnly(
                f"{type(obj).__name__} records are append-only: they cannot be changed or deleted."
            )


@event.listens_for(Session, "before_flush")
def _load_old_values(session: Session, flush_context, instances) -> None:
    """Read the old values of changed columns that were never loaded (e.g. after a commit)."""
    remembered = session.info["audit_before"] = {}
    for obj in session.dirty:
        if isinstance(obj, AuditEvent) or not isinstance(obj, db.Model):
            continue
        state = sa.inspect(obj)
        if state.identity is None:
            continue
        unknown = [
            attr
            for attr in state.mapper.column_attrs
            if attr.key not in IGNORED
            and state.attrs[attr.key].history.added
            and not state.attrs[attr.key].history.deleted
        ]
        if not unknown:
            continue
        where = [col == value for col, value in zip(state.mapper.primary_key, state.identity)]
        row = session.connection().execute(
            sa.select(*(attr.columns[0] for attr in unknown)).where(*where)
        ).one_or_none()
        if row is not None:
            remembered[id(obj)] = dict(zip((attr.key for attr in unknown), row))


@event.listens_for(Session, "after_flush")
def _write_audit_events(session: Session, flush_context) -> None:
    rows = []
    actor_id, email, address = current_actor()
    now = utcnow()
    for action, objects in (
        ("create", session.new),
        ("update", session.dirty),
        ("delete", session.deleted),
    ):
        for obj in objects:
            if isinstance(obj, AuditEvent) or not isinstance(obj, db.Model):
                continue
            if not getattr(obj, "__audited__", True):
                continue
            if action == "update" and not session.is_modified(obj, include_collections=True):
                continue
            changes = _changes(obj, action, session.info.get("audit_before", {}).pop(id(obj), None))
            if action == "update" and not changes:
                continue
            rows.append(
                {
                    "at": now,
                    "actor_id": actor_id,
                    "actor_email": email[:254],
                    "action": action,
                    "entity": obj.__tablename__,
                    "entity_id": _pk(obj),
                    "changes": changes,
                    "ip_address": address[:45],
                }
            )
    session.info.pop("audit_before", None)
    if rows:
        session.connection().execute(sa.insert(AuditEvent.__table__), rows)

"""One long print at a time per login and target: a second identical request is refused politely.

A batch of progress sheets takes a while. The browser's print form disables its button
while it waits (``static/js/print_batch.js``), but a hand-made request, a second tab or a
double submit without JavaScript would start the same batch twice and write its export
events twice. ``one_at_a_time(user_id, key)`` guards the work:

- in this server process, a set of running (user, key) pairs under a thread lock;
- on PostgreSQL, also a transaction-scoped advisory lock on (user, hash of key), taken
  with ``pg_try_advisory_xact_lock`` in the request's transaction. Every app server shares
  it, and it is released when that transaction commits (the batch commits its audit
  events) or rolls back, so a crashed request cannot leave it held. SQLite has no such
  lock: there the guard holds within one server process only (which is how SQLite is
  served: ``make run``).

A refusal is a ``PrintBusy`` (a ``RuleViolation``) with a plain message; nothing was
rendered and nothing audited.
"""

from __future__ import annotations

import threading
import zlib
from contextlib import contextmanager
from typing import Iterator

import sqlalchemy as sa

from ..extensions import db
from .errors import RuleViolation

BUSY_MESSAGE = (
    "These sheets are already being prepared for you: the download arrives when they are ready. "
    "Nothing new was started."
)

_running: set[tuple[int, str]] = set()
_guard = threading.Lock()


class PrintBusy(RuleViolation):
    """The same print is already running for this login."""

    def __init__(self, message: str = BUSY_MESSAGE):
        super().__init__(message)


def lock_keys(user_id: int, key: str) -> tuple[int, int]:
    """The two int4 keys of the PostgreSQL advisory lock for ``user_id`` and ``key``."""
    return int(user_id) % 2**31, zlib.crc32(key.encode()) - 2**31


def _take_database_lock(user_id: int, key: str) -> bool:
    if db.session.get_bind().dialect.name != "postgresql":
        return True
    first, second = lock_keys(user_id, key)
    return bool(db.session.execute(sa.select(sa.func.pg_try_advisory_xact_lock(first, second))).scalar())


def running(user_id: int, key: str) -> bool:
    """True while ``(user_id, key)`` is being printed in this process."""
    with _guard:
        return (user_id, key) in _running


@contextmanager
def one_at_a_time(user_id: int, key: str) -> Iterator[None]:
    """Run the block unless the same ``key`` is being printed for ``user_id``; else ``PrintBusy``.

    The caller commits or rolls back the request's transaction before the next request
    for the same key can pass on PostgreSQL (the advisory lock lives as long as it).
    """
    pair = (int(user_id), key)
    with _guard:
        if pair in _running:
            raise PrintBusy()
        _running.add(pair)
    try:
        if not _take_database_lock(*pair):
            raise PrintBusy()
        yield
    finally:
        with _guard:
            _running.discard(pair)


__all__ = ["BUSY_MESSAGE", "PrintBusy", "lock_keys", "one_at_a_time", "running"]

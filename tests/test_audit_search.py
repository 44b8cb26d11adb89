"""The audit list's search: who did it (the actor's address), the record kind, the record id.

The search reads the matching addresses first (``audit_actor``, kept by a trigger on the
trail) and then each one's newest events (``services.audit.search_parts``); these tests
show what a reader of the trail sees: the same events as a plain ``ILIKE`` on the three
fields, newest first, page after page, with filters, the other sort order, the addresses
typed at failed logins and the former address of someone whose address changed.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from clinic.extensions import db
from clinic.models import AuditActor, AuditEvent
from clinic.services import audit
from conftest import login

START = datetime(2026, 1, 5, 9, 0)


def _events(who: str, prefix: str, n: int, start: datetime = START, step_minutes: int = 10,
            action: str = "view", entity: str = "patient") -> list[str]:
    """Add ``n`` events by ``who``, the newest last; their entity ids are ``prefix-00`` on."""
    ids = [f"{prefix}-{k:02d}" for k in range(n)]
    db.session.add_all([
        AuditEvent(at=start + timedelta(minutes=step_minutes * k), actor_email=who, action=action,
                   entity=entity, entity_id=entity_id, changes={}, ip_address="10.0.0.1")
        for k, entity_id in enumerate(ids)
    ])
    db.session.commit()
    return ids


def _shown(client, url: str) -> list[str]:
    """The entity ids of the events a page of the audit list shows, in its order."""
    response = client.get(url)
    assert response.status_code == 200
    return re.findall(r"\b((?:mine|theirs|typed|former|now|kind|rec)-\d\d)\b", response.get_data(as_text=True))


def _newest_of_both(trail) -> list[str]:
    """Both counselors' events, newest first (Bob's start five minutes after Ann's)."""
    return sorted(trail["mine"] + trail["theirs"],
                  key=lambda e: 10 * int(e[-2:]) + (5 if e.startswith("theirs") else 0), reverse=True)


@pytest.fixture
def trail(make, client):
    admin = make.staff("admin", email="reader@clinic.example")
    mine = _events("ann.counselor@clinic.example", "mine", 60)
    theirs = _events("bob.counselor@clinic.example", "theirs", 40, start=START + timedelta(minutes=5))
    login(client, admin.email)
    return {"mine": mine, "theirs": theirs}


def test_an_address_finds_that_persons_events_newest_first_page_after_page(client, trail):
    first = _shown(client, "/admin/audit/?search=ann.counselor")
    assert first == list(reversed(trail["mine"]))[:50]
    second = _shown(client, "/admin/audit/?search=ann.counselor&page=1")
    assert second == list(reversed(trail["mine"]))[50:]
    # The other person's events are not among them; a shared part of the address finds both.
    both = _shown(client, "/admin/audit/?search=counselor@clinic")
    assert both == _newest_of_both(trail)[:50]
    assert _shown(client, "/admin/audit/?search=counselor@clinic&page=1") == _newest_of_both(trail)[50:]


def test_the_other_sort_order_filters_and_a_patient_keep_the_search_correct(client, trail):
    oldest_first = _shown(client, "/admin/audit/?search=ann.counselor&sort=0")
    assert oldest_first == trail["mine"][:50]
    # A search with a filter: only the matching address's events of that action.
    _events("ann.counselor@clinic.example", "kind", 3, start=START - timedelta(days=1), action="export")
    exported = _shown(client, "/admin/audit/?search=ann.counselor&flt0_0=export")
    assert exported == ["kind-02", "kind-01", "kind-00"]


def test_the_record_kind_and_id_are_still_searched(client, trail):
    _events("carl@clinic.example", "rec", 2, entity="safety_task")
    assert _shown(client, "/admin/audit/?search=safety_t") == ["rec-01", "rec-00"]
    assert _shown(client, "/admin/audit/?search=theirs-3") == [f"theirs-{k}" for k in range(39, 29, -1)]


def test_an_address_typed_at_a_failed_login_and_a_former_address_are_found(client, make, trail):
    _events("typed-wrong@example.org", "typed", 2, action="failed_login", entity="")
    moved = make.staff("counselor", email="old.address@clinic.example")
    _events(moved.email, "former", 2)
    moved.email = "new.address@clinic.example"
    db.session.commit()
    _events(moved.email, "now", 1, start=START + timedelta(days=2))
    assert _shown(client, "/admin/audit/?search=typed-wrong") == ["typed-01", "typed-00"]
    assert _shown(client, "/admin/audit/?search=old.address") == ["former-01", "former-00"]
    assert _shown(client, "/admin/audit/?search=new.address") == ["now-00"]


def test_a_term_that_matches_nothing_shows_no_event(client, trail):
    response = client.get("/admin/audit/?search=nobody-at-all")
    assert response.status_code == 200
    assert _shown(client, "/admin/audit/?search=nobody-at-all") == []


def test_like_wildcards_in_the_term_behave_as_they_always_have(client, trail):
    # The list's search has always passed % and _ through to LIKE: "_" is any one character.
    assert _shown(client, "/admin/audit/?search=ann_counselor") == list(reversed(trail["mine"]))[:50]
    assert _shown(client, "/admin/audit/?search=ann%25counselor") == list(reversed(trail["mine"]))[:50]
    assert _shown(client, "/admin/audit/?search=bob%25ann") == []
    assert _shown(client, "/admin/audit/?search=100%25") == []


def test_many_matching_addresses_walk_the_trail_instead(client, trail, monkeypatch):
    monkeypatch.setattr(audit, "ACTOR_PROBES", 1)
    assert _shown(client, "/admin/audit/?search=counselor@clinic") == _newest_of_both(trail)[:50]
    assert _shown(client, "/admin/audit/?search=counselor@clinic&page=1") == _newest_of_both(trail)[50:]
    assert _shown(client, "/admin/audit/?search=ann.counselor") == list(reversed(trail["mine"]))[:50]


def test_every_address_of_the_trail_is_kept_once_whatever_wrote_the_event(app, trail):
    db.session.execute(sa.text(
        "INSERT INTO audit_event (at, actor_email, action, entity, entity_id, changes, ip_address) "
        "SELECT at, 'by-sql@clinic.example', action, entity, entity_id, changes, ip_address "
        "FROM audit_event WHERE actor_email = 'bob.counselor@clinic.example'"))
    db.session.commit()
    addresses = db.session.scalars(sa.select(AuditActor.email)).all()
    assert len(addresses) == len(set(addresses))
    assert {"ann.counselor@clinic.example", "bob.counselor@clinic.example", "by-sql@clinic.example"} <= set(addresses)
    trail_addresses = set(db.session.scalars(sa.select(AuditEvent.actor_email).distinct()))
    assert trail_addresses == set(addresses)


def test_the_search_sends_as_many_statements_however_long_the_trail(app, client, trail):
    from test_list_paging import _statements

    client.get("/admin/audit/?search=ann.counselor")  # the first request also remembers the search
    _, few = _statements(app, client, "/admin/audit/?search=ann.counselor")
    _events("ann.counselor@clinic.example", "mine", 60, start=START - timedelta(days=3))
    _, many = _statements(app, client, "/admin/audit/?search=ann.counselor")
    assert few == many

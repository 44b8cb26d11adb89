"""Behind a reverse proxy: the client's address comes from X-Forwarded-For only when told to trust it.

Lockout per address and the audit trail use the client's address. Behind nginx every request
comes from the proxy, so without ``CLINIC_TRUSTED_PROXIES`` one person's wrong passwords would
lock out the whole clinic; with it trusted blindly, anyone could forge an address. The setting
trusts exactly the last N hops.
"""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from clinic.config import ConfigError, load_config
from clinic.extensions import db
from clinic.models import AuditEvent, LoginSession
from conftest import PASSWORD, _make_app


def _log_in(app, email: str, forwarded: str) -> None:
    client = app.test_client()
    answer = client.post("/login", data={"email": email, "password": PASSWORD},
                         headers={"X-Forwarded-For": forwarded, "X-Forwarded-Proto": "https"},
                         environ_base={"REMOTE_ADDR": "10.0.0.2"})
    assert answer.status_code in (302, 303)


def _addresses():
    db.session.remove()
    logins = db.session.scalars(sa.select(LoginSession.ip_address).order_by(LoginSession.id)).all()
    events = db.session.scalars(
        sa.select(AuditEvent.ip_address).where(AuditEvent.action == "login").order_by(AuditEvent.id)).all()
    return logins, events


def test_without_trusted_proxies_a_forwarded_address_is_ignored(app, make):
    user = make.staff("admin")
    _log_in(app, user.email, "198.51.100.7")
    with app.app_context():
        assert _addresses() == (["10.0.0.2"], ["10.0.0.2"])


def test_one_trusted_proxy_gives_the_clients_address_and_only_the_last_hop_is_believed(app, make, database_url, tmp_path):
    user = make.staff("admin")
    proxied = _make_app(database_url, tmp_path / "proxied", CLINIC_TRUSTED_PROXIES=1)
    # The client wrote its own X-Forwarded-For (203.0.113.66); nginx appended the real address.
    _log_in(proxied, user.email, "203.0.113.66, 198.51.100.7")
    with proxied.app_context():
        assert _addresses() == (["198.51.100.7"], ["198.51.100.7"])
        db.session.remove()
        db.engine.dispose()


@pytest.mark.parametrize("value", ["-1", "6", "one"])
def test_a_bad_number_of_proxies_is_refused_in_one_line(tmp_path, value):
    with pytest.raises(ConfigError, match="CLINIC_TRUSTED_PROXIES"):
        load_config(str(tmp_path), {"CLINIC_ENV": "testing", "SECRET_KEY": "x" * 40, "CLINIC_TRUSTED_PROXIES": value})

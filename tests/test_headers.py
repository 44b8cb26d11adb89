"""Security headers on every answer, request size limits, and a production secret long enough."""

from __future__ import annotations

import pytest

from clinic import create_app
from clinic.config import ConfigError, load_config
from conftest import login


def _csp(response) -> dict[str, str]:
    policy = response.headers["Content-Security-Policy"]
    return {part.split()[0]: part.strip() for part in policy.split(";") if part.strip()}


def test_every_page_carries_a_strict_content_security_policy_and_the_safety_headers(client, make):
    admin = make.staff("admin")
    for response in (client.get("/login"), login(client, admin.email), client.get("/admin/"),
                     client.get("/admin/patients/"), client.get("/admin/no-such-page/")):
        directives = _csp(response)
        assert directives["default-src"] == "default-src 'self'"
        assert directives["script-src"] == "script-src 'self'"
        assert "unsafe-inline" not in directives["script-src"]
        assert directives["frame-ancestors"] == "frame-ancestors 'none'"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["Referrer-Policy"] in ("no-referrer", "same-origin")
        # Tests run in the testing mode: no HSTS outside production.
        assert "Strict-Transport-Security" not in response.headers


def test_production_answers_carry_hsts(tmp_path):
    app = create_app({"ENVIRON": {"CLINIC_ENV": "production", "SECRET_KEY": "p" * 40,
                                  "DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite'}"}})
    response = app.test_client().get("/login", base_url="https://clinic.example")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")


def test_a_request_body_over_the_limit_is_refused_unparsed(client, make):
    user = make.staff("counselor")
    big = "x" * (2 * 1024 * 1024 + 1)
    response = client.post("/login", data={"email": user.email, "password": big})
    assert response.status_code == 413
    assert "too large" in response.get_data(as_text=True)
    assert client.get("/admin/").status_code == 302  # not logged in


def test_a_form_with_too_many_parts_is_refused(client):
    data = {f"field{i}": "x" for i in range(1500)}
    response = client.post("/login", data=data, content_type="multipart/form-data")
    assert response.status_code == 413


def test_the_request_limit_is_configurable(tmp_path):
    config = load_config(str(tmp_path), {"CLINIC_ENV": "testing", "MAX_REQUEST_BYTES": "500000"})
    assert config["MAX_CONTENT_LENGTH"] == 500000
    assert config["MAX_FORM_MEMORY_SIZE"] == 500000
    assert load_config(str(tmp_path), {"CLINIC_ENV": "testing"})["MAX_CONTENT_LENGTH"] == 2 * 1024 * 1024
    with pytest.raises(ConfigError, match="MAX_REQUEST_BYTES"):
        load_config(str(tmp_path), {"CLINIC_ENV": "testing", "MAX_REQUEST_BYTES": "lots"})


@pytest.mark.parametrize("secret", ["abc", "x" * 31, "é" * 15])
def test_production_refuses_a_short_secret_key(tmp_path, secret):
    with pytest.raises(ConfigError, match="at least 32 bytes"):
        load_config(str(tmp_path), {"CLINIC_ENV": "production", "SECRET_KEY": secret})


def test_production_accepts_a_32_byte_secret_and_development_any(tmp_path):
    assert load_config(str(tmp_path), {"CLINIC_ENV": "production", "SECRET_KEY": "x" * 32})
    assert load_config(str(tmp_path), {"CLINIC_ENV": "development", "SECRET_KEY": "abc"})

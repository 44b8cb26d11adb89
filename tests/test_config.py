"""Configuration from the environment."""

from __future__ import annotations

import stat
from datetime import timedelta

import pytest

from clinic.config import ConfigError, load_config


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    with pytest.raises(ConfigError, match="SECRET_KEY must be set"):
        load_config(str(tmp_path), {"CLINIC_ENV": "production"})


def test_production_is_the_default_mode(tmp_path):
    with pytest.raises(ConfigError):
        load_config(str(tmp_path), {})


def test_production_cookies_are_secure_httponly_and_short_lived(tmp_path):
    config = load_config(str(tmp_path), {"CLINIC_ENV": "production", "SECRET_KEY": "k" * 40})
    assert config["SESSION_COOKIE_SECURE"] is True
    assert config["REMEMBER_COOKIE_SECURE"] is True
    assert config["SESSION_COOKIE_HTTPONLY"] is True
    assert config["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert config["PERMANENT_SESSION_LIFETIME"] <= timedelta(hours=1)


def test_development_generates_its_secret_once_readable_by_the_owner_only(tmp_path):
    first = load_config(str(tmp_path), {"CLINIC_ENV": "development"})
    second = load_config(str(tmp_path), {"CLINIC_ENV": "development"})
    key_file = tmp_path / "secret_key"
    assert first["SECRET_KEY"] == second["SECRET_KEY"] and len(first["SECRET_KEY"]) >= 32
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert first["SESSION_COOKIE_SECURE"] is False


def test_the_default_database_is_sqlite_in_the_instance_folder(tmp_path):
    config = load_config(str(tmp_path), {"CLINIC_ENV": "development"})
    assert config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'clinic.sqlite'}"


def test_a_plain_postgresql_url_uses_psycopg_3(tmp_path):
    config = load_config(str(tmp_path), {
        "CLINIC_ENV": "development", "DATABASE_URL": "postgresql://clinic@db.internal/clinic",
    })
    assert config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://clinic@db.internal/clinic"
    assert config["SQLALCHEMY_ENGINE_OPTIONS"]["hide_parameters"] is True


def test_an_unknown_mode_or_page_size_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="CLINIC_ENV"):
        load_config(str(tmp_path), {"CLINIC_ENV": "staging"})
    with pytest.raises(ConfigError, match="A4 or Letter"):
        load_config(str(tmp_path), {"CLINIC_ENV": "development", "CLINIC_PAGE_SIZE": "A5"})

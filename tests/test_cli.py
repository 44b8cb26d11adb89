"""The staff account commands."""

from __future__ import annotations

from clinic.extensions import db
from clinic.models import AuditEvent, StaffUser
from conftest import login


def _user(email):
    db.session.remove()
    return db.session.query(StaffUser).filter_by(email=email).one_or_none()


def test_user_create_takes_the_password_from_the_environment(runner, client, ctx):
    result = runner.invoke(args=["user", "create", "Lee@Clinic.example", "--role", "planner", "--name", "Lee Planner"],
                           env={"CLINIC_PASSWORD": "a sturdy passphrase"})
    assert result.exit_code == 0, result.output
    assert "Created planner account lee@clinic.example" in result.output
    user = _user("lee@clinic.example")
    assert user.role == "planner" and user.password_hash.startswith("$argon2id$")
    assert login(client, "lee@clinic.example", "a sturdy passphrase").status_code == 302
    created = db.session.query(AuditEvent).filter_by(entity="staff_user", action="create").one()
    assert created.actor_email == "cli"


def test_user_create_prompts_for_the_password_when_none_is_set(runner, ctx):
    result = runner.invoke(args=["user", "create", "kim@clinic.example", "--role", "counselor"],
                           input="a sturdy passphrase\na sturdy passphrase\n", env={"CLINIC_PASSWORD": ""})
    assert result.exit_code == 0, result.output
    assert _user("kim@clinic.example").role == "counselor"


def test_user_create_refuses_a_weak_password_a_duplicate_and_a_bad_role(runner, ctx):
    weak = runner.invoke(args=["user", "create", "a@clinic.example", "--role", "admin"], env={"CLINIC_PASSWORD": "short"})
    assert weak.exit_code != 0 and "at least 12 characters" in weak.output
    assert _user("a@clinic.example") is None
    ok = runner.invoke(args=["user", "create", "a@clinic.example", "--role", "admin"],
                       env={"CLINIC_PASSWORD": "a sturdy passphrase"})
    assert ok.exit_code == 0
    again = runner.invoke(args=["user", "create", "A@clinic.example", "--role", "admin"],
                          env={"CLINIC_PASSWORD": "a sturdy passphrase"})
    assert again.exit_code != 0 and "already exists" in again.output
    bad_role = runner.invoke(args=["user", "create", "b@clinic.example", "--role", "owner"],
                             env={"CLINIC_PASSWORD": "a sturdy passphrase"})
    assert bad_role.exit_code != 0
    assert _user("b@clinic.example") is None


def test_set_password_and_deactivate_change_who_can_log_in(runner, client, make, ctx):
    user = make.staff("counselor", email="sam@clinic.example")
    result = runner.invoke(args=["user", "set-password", "sam@clinic.example"],
                           env={"CLINIC_PASSWORD": "another sturdy phrase"})
    assert result.exit_code == 0, result.output
    assert login(client, "sam@clinic.example", "another sturdy phrase").status_code == 302
    client.post("/logout")
    result = runner.invoke(args=["user", "deactivate", "sam@clinic.example"])
    assert result.exit_code == 0, result.output
    assert login(client, "sam@clinic.example", "another sturdy phrase").status_code == 401
    missing = runner.invoke(args=["user", "deactivate", "nobody@clinic.example"])
    assert missing.exit_code != 0 and "No account" in missing.output
    assert user.id

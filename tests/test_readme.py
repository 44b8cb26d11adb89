"""README.md cannot drift: its commands exist with the options it shows, its links stay inside
the repository, and its demo logins are the demo's.

Every ``flask`` command in README's fenced shell examples and inline code spans is looked up in
the app's real command line (``flask --help`` of ``wsgi``, plug-in commands such as ``db``
included), down to its subcommand, and each ``--option`` it uses must be one that command
accepts. Every ``make`` target the fenced examples name must be in the Makefile.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import click
import pytest
from flask.cli import FlaskGroup, ScriptInfo

from clinic.services.demo_clinic import DEMO_PASSWORDS
from clinic.services.demo_spec import read_demo_spec

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
FENCED = re.findall(r"^```(?:sh|bash|shell|console)\n(.*?)^```", README, flags=re.S | re.M)


def _fenced_lines() -> list[str]:
    lines = []
    for block in FENCED:
        for line in block.replace("\\\n", " ").splitlines():
            if line.strip():
                lines.append(line.strip())
    return lines


def _flask_examples() -> list[list[str]]:
    """The words after ``flask`` (and ``--app wsgi``) of every flask command in README."""
    texts = _fenced_lines()
    texts += [" ".join(span.split()) for span in re.findall(r"`((?:\.venv/bin/)?flask [^`]+)`", README)]
    examples = []
    for text in texts:
        words = shlex.split(text, comments=True)
        while words and re.match(r"^[A-Z_][A-Z0-9_]*=", words[0]):  # VAR=value before the command
            words.pop(0)
        if not words or not words[0].endswith("flask") or words[0] not in ("flask", ".venv/bin/flask"):
            continue
        words = words[1:]
        if words[:2] == ["--app", "wsgi"]:
            words = words[2:]
        examples.append(words)
    return examples


def _option_names(command: click.Command) -> set[str]:
    names = {"--help"}
    for param in command.params:
        if isinstance(param, click.Option):
            names.update(param.opts)
            names.update(param.secondary_opts)
    return names


def test_readme_shows_flask_commands_at_all():
    examples = _flask_examples()
    assert len(examples) >= 10
    assert ["user", "create", "lee@clinic.example", "--role", "admin", "--name", "Lee Admin"] in examples


def test_every_flask_command_in_the_readme_exists_with_its_options(app):
    group = FlaskGroup(create_app=lambda: app)
    info = ScriptInfo(create_app=lambda: app)
    wrong = []
    for words in _flask_examples():
        ctx = click.Context(group, obj=info)
        command: click.Command = group
        rest = list(words)
        path = []
        while isinstance(command, click.Group) and rest and not rest[0].startswith("-"):
            name = rest.pop(0)
            found = command.get_command(ctx, name)
            if found is None:
                wrong.append(f"flask {' '.join(words)}: no command {' '.join([*path, name])!r}")
                break
            path.append(name)
            command = found
            ctx = click.Context(command, parent=ctx, info_name=name, obj=info)
        else:
            known = _option_names(command)
            for word in rest:
                if word.startswith("-") and word.split("=", 1)[0] not in known:
                    wrong.append(f"flask {' '.join(words)}: {' '.join(path) or 'flask'} has no option {word}")
    assert wrong == []


def test_every_make_target_in_the_readme_exists():
    targets = set(re.findall(r"^([A-Za-z][\w-]*):", (ROOT / "Makefile").read_text(encoding="utf-8"), flags=re.M))
    named = []
    for line in _fenced_lines():
        words = shlex.split(line, comments=True)
        while words and "=" in words[0]:
            words.pop(0)
        if words and words[0] == "make":
            named += [w for w in words[1:] if not w.startswith("-") and "=" not in w]
    assert {"run", "test", "reset-demo"} <= set(named)
    assert set(named) <= targets, set(named) - targets


@pytest.mark.parametrize("path", ["README.md", "docs/architecture.md"])
def test_links_and_paths_stay_inside_the_repository(path):
    text = (ROOT / path).read_text(encoding="utf-8")
    assert "shared/" not in text and "../" not in text
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"^(https?:|mailto:|#)", target):
            continue
        resolved = (ROOT / path).parent.joinpath(target.split("#")[0]).resolve()
        assert resolved.is_relative_to(ROOT) and resolved.exists(), target


def test_the_demo_logins_in_the_readme_are_the_demos():
    spec = read_demo_spec()
    for person in spec.staff:
        assert f"`{person['email']}`" in README, person["email"]
    for role, password in DEMO_PASSWORDS.items():
        assert re.search(rf"^\| {role} \|.*\| `{re.escape(password)}` \|$", README, flags=re.M), role
    assert "make reset-demo" in README

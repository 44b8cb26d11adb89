"""Reading the seed files (``seed/*.toml``): where they are, and checked field readers.

Shared by ``reference_data`` and ``demo_clinic``; every problem is a ``SeedError`` whose
message names the file and the entry.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from flask import current_app, has_app_context


#: Where the seed files live unless the app config sets ``SEED_DIR``.
SEED_DIR = Path(__file__).resolve().parents[2] / "seed"


class SeedError(Exception):
    """The seed files or the database do not allow the requested load; the message says why."""


def seed_dir() -> Path:
    """Return the folder holding the seed files (app config ``SEED_DIR`` wins if set)."""
    if has_app_context():
        configured = current_app.config.get("SEED_DIR")
        if configured:
            return Path(configured)
    return SEED_DIR


def read_toml(name: str) -> dict[str, Any]:
    """The parsed TOML file ``name`` from the seed folder; ``SeedError`` when missing or invalid."""
    path = seed_dir() / name
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise SeedError(f"The seed file {path} does not exist.") from None
    except tomllib.TOMLDecodeError as error:
        raise SeedError(f"The seed file {path} is not valid TOML: {error}") from None


def table_list(data: dict, key: str, source: str) -> list[dict]:
    """The list of tables ``[[key]]`` of ``data``."""
    rows = data.get(key, [])
    if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
        raise SeedError(f"{source}: '{key}' must be a list of tables ([[{key}]]).")
    return rows


def text_value(row: dict, key: str, where: str, *, required: bool = True, limit: int | None = None) -> str:
    """A trimmed text field, checked for presence and length."""
    value = row.get(key, "")
    if not isinstance(value, str):
        raise SeedError(f"{where}: '{key}' must be text.")
    value = value.strip()
    if required and not value:
        raise SeedError(f"{where}: '{key}' is missing.")
    if limit is not None and len(value) > limit:
        raise SeedError(f"{where}: '{key}' is longer than {limit} characters.")
    return value


def int_value(row: dict, key: str, where: str, low: int, high: int) -> int:
    """A whole-number field between ``low`` and ``high``."""
    value = row.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise SeedError(f"{where}: '{key}' must be a whole number from {low} to {high}.")
    return value


def code_list(row: dict, key: str, where: str) -> list[str]:
    """A non-empty list of track codes, without repeats."""
    value = row.get(key, [])
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise SeedError(f"{where}: '{key}' must be a non-empty list of track codes.")
    return list(dict.fromkeys(v.strip() for v in value))


def title_list(row: dict, key: str, where: str) -> list[str]:
    """A list of exercise titles, without repeats."""
    value = row.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise SeedError(f"{where}: '{key}' must be a list of exercise titles.")
    return list(dict.fromkeys(v.strip() for v in value))


def refuse_repeats(items: list[str], what: str, source: str) -> None:
    """Refuse a list in which an item appears twice."""
    seen: set[str] = set()
    for item in items:
        if item in seen:
            raise SeedError(f"{source}: {what} '{item}' appears more than once.")
        seen.add(item)

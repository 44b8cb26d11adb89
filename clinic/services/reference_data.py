"""Reference data: the tracks, the kindness exercise catalogue, activities and starter plans.

``load_reference`` reads ``seed/reference.toml`` and adds whatever is missing; running it
again creates nothing. The small readers here are shared with ``demo_clinic``.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import current_app, has_app_context

from clinic.extensions import db
from clinic.models import DIRECTIONS, ENERGY_LEVELS, Activity, KindnessExercise, Track

#: Where the seed files live unless the app config sets ``SEED_DIR``.
SEED_DIR = Path(__file__).resolve().parents[2] / "seed"


class SeedError(Exception):
    """The seed files or the database do not allow the requested load; the message says why."""


# ---------------------------------------------------------------------------
# Reading the seed files
# ---------------------------------------------------------------------------


def seed_dir() -> Path:
    """Return the folder holding the seed files (app config ``SEED_DIR`` wins if set)."""
    if has_app_context():
        configured = current_app.config.get("SEED_DIR")
        if configured:
            return Path(configured)
    return SEED_DIR


def _read_toml(name: str) -> dict[str, Any]:
    path = seed_dir() / name
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise SeedError(f"The seed file {path} does not exist.") from None
    except tomllib.TOMLDecodeError as error:
        raise SeedError(f"The seed file {path} is not valid TOML: {error}") from None


def _rows(data: dict, key: str, source: str) -> list[dict]:
    rows = data.get(key, [])
    if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
        raise SeedError(f"{source}: '{key}' must be a list of tables ([[{key}]]).")
    return rows


def _text(row: dict, key: str, where: str, *, required: bool = True, limit: int | None = None) -> str:
    value = row.get(key, "")
    if not isinstance(value, str):
        raise SeedError(f"{where}: '{key}' must be text.")
    value = value.strip()
    if required and not value:
        raise SeedError(f"{where}: '{key}' is missing.")
    if limit is not None and len(value) > limit:
        raise SeedError(f"{where}: '{key}' is longer than {limit} characters.")
    return value


def _int(row: dict, key: str, where: str, low: int, high: int) -> int:
    value = row.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise SeedError(f"{where}: '{key}' must be a whole number from {low} to {high}.")
    return value


def _codes(row: dict, key: str, where: str) -> list[str]:
    value = row.get(key, [])
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise SeedError(f"{where}: '{key}' must be a non-empty list of track codes.")
    return list(dict.fromkeys(v.strip() for v in value))


def _titles(row: dict, key: str, where: str) -> list[str]:
    value = row.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise SeedError(f"{where}: '{key}' must be a list of exercise titles.")
    return list(dict.fromkeys(v.strip() for v in value))


def _unique(items: list[str], what: str, source: str) -> None:
    seen: set[str] = set()
    for item in items:
        if item in seen:
            raise SeedError(f"{source}: {what} '{item}' appears more than once.")
        seen.add(item)


# ---------------------------------------------------------------------------
# Reference data
# ---------------------------------------------------------------------------


def _parse_reference(data: dict) -> tuple[list[dict], list[dict], list[dict]]:
    source = "reference.toml"
    tracks = []
    for row in _rows(data, "tracks", source):
        where = f"{source} track {row.get('code', '?')!r}"
        tracks.append(
            {
                "code": _text(row, "code", where, limit=20),
                "name": _text(row, "name", where, limit=80),
                "care_level": _int(row, "care_level", where, 1, 99),
                "weekly_min_minutes": _int(row, "weekly_min_minutes", where, 0, 7 * 24 * 60),
                "weekly_min_days": _int(row, "weekly_min_days", where, 0, 7),
                "description": _text(row, "description", where, required=False),
                "starter": _titles(row, "starter", where),
            }
        )
    exercises = []
    for row in _rows(data, "exercises", source):
        where = f"{source} exercise {row.get('title', '?')!r}"
        item = {
            "title": _text(row, "title", where, limit=120),
            "direction": _text(row, "direction", where),
            "energy": _text(row, "energy", where),
            "summary": _text(row, "summary", where, limit=255),
            "why_it_helps": _text(row, "why_it_helps", where),
            "how_to": _text(row, "how_to", where),
            "reflection_prompts": _text(row, "reflection_prompts", where),
            "default_times_per_week": _int(row, "default_times_per_week", where, 1, 14),
            "tracks": _codes(row, "tracks", where),
        }
        if item["direction"] not in DIRECTIONS:
            raise SeedError(f"{where}: 'direction' must be one of {', '.join(DIRECTIONS)}.")
        if item["energy"] not in ENERGY_LEVELS:
            raise SeedError(f"{where}: 'energy' must be one of {', '.join(ENERGY_LEVELS)}.")
        exercises.append(item)
    activities = []
    for row in _rows(data, "activities", source):
        where = f"{source} activity {row.get('name', '?')!r}"
        activities.append(
            {
                "name": _text(row, "name", where, limit=120),
                "description": _text(row, "description", where, required=False),
                "default_minutes": _int(row, "default_minutes", where, 1, 24 * 60),
                "tracks": _codes(row, "tracks", where),
                "exercise": _text(row, "exercise", where, required=False) or None,
            }
        )
    _unique([t["code"] for t in tracks], "track code", source)
    _unique([t["name"] for t in tracks], "track name", source)
    _unique([str(t["care_level"]) for t in tracks], "care level", source)
    _unique([e["title"] for e in exercises], "exercise title", source)
    _unique([a["name"] for a in activities], "activity name", source)
    return tracks, exercises, activities


def load_reference(*, commit: bool = True) -> dict[str, int]:
    """Add the tracks, exercises and activities from ``reference.toml`` that are missing.

    Rows are matched by track code, exercise title and activity name. Missing rows are
    created with their tracks and linked exercise; rows that already exist are never
    changed, so edits staff made in the app survive a re-run (and a row staff deleted
    comes back). Running it twice creates nothing the second time. Commits once (with
    ``commit=False`` only flushes, for a caller that loads more in the same transaction)
    and returns how many rows of each kind were created.
    """
    tracks_in, exercises_in, activities_in = _parse_reference(_read_toml("reference.toml"))
    counts = {"tracks": 0, "exercises": 0, "activities": 0, "starter plans": 0}
    session = db.session
    try:
        tracks = {track.code: track for track in session.scalars(sa.select(Track))}
        names = {track.name for track in tracks.values()}
        levels = {track.care_level for track in tracks.values()}
        for item in tracks_in:
            if item["code"] in tracks:
                continue
            if item["name"] in names or item["care_level"] in levels:
                raise SeedError(
                    f"reference.toml: track {item['code']!r} is missing, but another track "
                    f"already uses the name {item['name']!r} or care level "
                    f"{item['care_level']}. Rename one of them, then run the seed again."
                )
            track = Track(**{k: v for k, v in item.items() if k != "starter"})
            session.add(track)
            tracks[track.code] = track
            counts["tracks"] += 1
        session.flush()

        def pick_tracks(codes: list[str], where: str) -> list[Track]:
            unknown = [code for code in codes if code not in tracks]
            if unknown:
                raise SeedError(f"reference.toml: {where} names unknown track(s): {', '.join(unknown)}.")
            return [tracks[code] for code in codes]

        exercises = {ex.title: ex for ex in session.scalars(sa.select(KindnessExercise))}
        for item in exercises_in:
            if item["title"] in exercises:
                continue
            fields = {k: v for k, v in item.items() if k != "tracks"}
            exercise = KindnessExercise(
                **fields,
                active=True,
                tracks=pick_tracks(item["tracks"], f"exercise {item['title']!r}"),
            )
            session.add(exercise)
            exercises[exercise.title] = exercise
            counts["exercises"] += 1
        session.flush()

        # Starter plans are filled in only for tracks that have none, so a plan staff
        # edited (or emptied on purpose after adding others) is left as it is.
        for item in tracks_in:
            track = tracks[item["code"]]
            if not item["starter"] or track.starter_exercises:
                continue
            unknown = [title for title in item["starter"] if title not in exercises]
            if unknown:
                raise SeedError(
                    f"reference.toml: track {item['code']!r} starts with unknown exercise(s): "
                    f"{', '.join(unknown)}."
                )
            track.starter_exercises = [exercises[title] for title in item["starter"]]
            counts["starter plans"] += 1
        session.flush()

        existing_activities = set(session.scalars(sa.select(Activity.name)))
        for item in activities_in:
            if item["name"] in existing_activities:
                continue
            linked = None
            if item["exercise"]:
                linked = exercises.get(item["exercise"])
                if linked is None:
                    raise SeedError(
                        f"reference.toml: activity {item['name']!r} links to the exercise "
                        f"{item['exercise']!r}, which is not in the catalogue."
                    )
            session.add(
                Activity(
                    name=item["name"],
                    description=item["description"],
                    default_minutes=item["default_minutes"],
                    exercise=linked,
                    tracks=pick_tracks(item["tracks"], f"activity {item['name']!r}"),
                )
            )
            counts["activities"] += 1
        session.flush()
        if commit:
            session.commit()
    except BaseException:
        session.rollback()
        raise
    return counts

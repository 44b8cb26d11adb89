"""Reference data: the tracks, the kindness exercise catalogue, activities and starter plans.

``load_reference`` reads ``seed/reference.toml`` (and the catalogue's translations,
``seed/exercise_texts/<code>.toml``, with the tracks' default goals in its ``[tracks.<code>]``
tables) and adds whatever is missing; running it again
creates nothing.
"""

from __future__ import annotations

import sqlalchemy as sa

from clinic.extensions import db
from clinic.models import DIRECTIONS, ENERGY_LEVELS, Activity, ExerciseText, KindnessExercise, Track, TrackText
from clinic.services import exercise_texts, track_texts
from clinic.services.seed_files import (
    SeedError,
    code_list,
    int_value,
    read_toml,
    refuse_repeats,
    seed_dir,
    table_list,
    text_value,
    title_list,
)

# ---------------------------------------------------------------------------
# Reference data
# ---------------------------------------------------------------------------


def _parse_reference(data: dict) -> tuple[list[dict], list[dict], list[dict]]:
    source = "reference.toml"
    tracks = []
    for row in table_list(data, "tracks", source):
        where = f"{source} track {row.get('code', '?')!r}"
        tracks.append(
            {
                "code": text_value(row, "code", where, limit=20),
                "name": text_value(row, "name", where, limit=80),
                "care_level": int_value(row, "care_level", where, 1, 99),
                "weekly_min_minutes": int_value(row, "weekly_min_minutes", where, 0, 7 * 24 * 60),
                "weekly_min_days": int_value(row, "weekly_min_days", where, 0, 7),
                "description": text_value(row, "description", where, required=False),
                "starter": title_list(row, "starter", where),
                # The treatment plan (migration 0023): a fan-out's default goal, the recertification.
                "default_goal": text_value(row, "default_goal", where, limit=1000, required=False),
                "recert_first_days": (int_value(row, "recert_first_days", where, 1, 366)
                                      if "recert_first_days" in row else None),
                "recert_every_days": (int_value(row, "recert_every_days", where, 1, 366)
                                      if "recert_every_days" in row else None),
            }
        )
    exercises = []
    for row in table_list(data, "exercises", source):
        where = f"{source} exercise {row.get('title', '?')!r}"
        item = {
            "title": text_value(row, "title", where, limit=120),
            "direction": text_value(row, "direction", where),
            "energy": text_value(row, "energy", where),
            "summary": text_value(row, "summary", where, limit=255),
            "why_it_helps": text_value(row, "why_it_helps", where),
            "how_to": text_value(row, "how_to", where),
            "reflection_prompts": text_value(row, "reflection_prompts", where),
            "default_times_per_week": int_value(row, "default_times_per_week", where, 1, 14),
            "tracks": code_list(row, "tracks", where),
        }
        if item["direction"] not in DIRECTIONS:
            raise SeedError(f"{where}: 'direction' must be one of {', '.join(DIRECTIONS)}.")
        if item["energy"] not in ENERGY_LEVELS:
            raise SeedError(f"{where}: 'energy' must be one of {', '.join(ENERGY_LEVELS)}.")
        exercises.append(item)
    activities = []
    for row in table_list(data, "activities", source):
        where = f"{source} activity {row.get('name', '?')!r}"
        activities.append(
            {
                "name": text_value(row, "name", where, limit=120),
                "description": text_value(row, "description", where, required=False),
                "default_minutes": int_value(row, "default_minutes", where, 1, 24 * 60),
                "tracks": code_list(row, "tracks", where),
                "exercise": text_value(row, "exercise", where, required=False) or None,
            }
        )
    refuse_repeats([t["code"] for t in tracks], "track code", source)
    refuse_repeats([t["name"] for t in tracks], "track name", source)
    refuse_repeats([str(t["care_level"]) for t in tracks], "care level", source)
    refuse_repeats([e["title"] for e in exercises], "exercise title", source)
    refuse_repeats([a["name"] for a in activities], "activity name", source)
    return tracks, exercises, activities


#: The folder of the catalogue's translations, one ``<code>.toml`` per language.
TEXTS_FOLDER = "exercise_texts"


def _parse_texts(titles: set[str], track_codes: set[str]) -> tuple[dict[str, list[dict]], dict[str, dict[str, str]]]:
    """Language code -> the exercise texts of ``seed/exercise_texts/<code>.toml``, and language
    code -> track code -> the track's default goal (its ``[tracks.<code>]`` tables).

    Only languages patient paper can be printed in (``services.languages``) are read, and
    never English (the source, in ``reference.toml``). Each entry names its exercise by the
    English title (``exercise``), and each track goal its track by code; both must be in
    ``reference.toml``.
    """
    folder = seed_dir() / TEXTS_FOLDER
    if not folder.is_dir():
        return {}, {}
    wanted = set(exercise_texts.translation_languages())
    found: dict[str, list[dict]] = {}
    goals: dict[str, dict[str, str]] = {}
    for path in sorted(folder.glob("*.toml")):
        code = path.stem
        if code not in wanted:
            continue
        source = f"{TEXTS_FOLDER}/{path.name}"
        data = read_toml(f"{TEXTS_FOLDER}/{path.name}")
        tracks = data.get("tracks", {})
        if not isinstance(tracks, dict) or not all(isinstance(row, dict) for row in tracks.values()):
            raise SeedError(f"{source}: 'tracks' must be tables named by track code ([tracks.<code>]).")
        goals[code] = {}
        for track_code, row in tracks.items():
            where = f"{source} track {track_code!r}"
            if track_code not in track_codes:
                raise SeedError(f"{where}: reference.toml has no track with this code.")
            goals[code][track_code] = text_value(row, "default_goal", where, limit=track_texts.GOAL_LIMIT)
        rows = []
        for row in table_list(data, "exercises", source):
            where = f"{source} exercise {row.get('exercise', '?')!r}"
            item = {"exercise": text_value(row, "exercise", where, limit=120)}
            if item["exercise"] not in titles:
                raise SeedError(f"{where}: reference.toml has no exercise with this title.")
            for name in exercise_texts.FIELDS:
                item[name] = text_value(row, name, where, required=False, limit=exercise_texts.limit_of(name))
            rows.append(item)
        refuse_repeats([r["exercise"] for r in rows], "exercise", source)
        found[code] = rows
    return found, goals


def load_reference(*, commit: bool = True) -> dict[str, int]:
    """Add the tracks, exercises and activities from ``reference.toml`` that are missing.

    Rows are matched by track code, exercise title and activity name. Missing rows are
    created with their tracks and linked exercise; rows that already exist are never
    changed, so edits staff made in the app survive a re-run (and a row staff deleted
    comes back). Running it twice creates nothing the second time. Commits once (with
    ``commit=False`` only flushes, for a caller that loads more in the same transaction)
    and returns how many rows of each kind were created.
    """
    tracks_in, exercises_in, activities_in = _parse_reference(read_toml("reference.toml"))
    texts_in, goals_in = _parse_texts({item["title"] for item in exercises_in}, {item["code"] for item in tracks_in})
    counts = {"tracks": 0, "exercises": 0, "activities": 0, "starter plans": 0, "exercise translations": 0,
              "track goal translations": 0}
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

        # Translations of the catalogue: added where an exercise has none in that language
        # yet, so a translation planners edited (or blanked on purpose) is left as it is.
        for code, rows in texts_in.items():
            translated = set(session.scalars(sa.select(ExerciseText.exercise_id).where(ExerciseText.language == code)))
            for item in rows:
                exercise = exercises[item["exercise"]]
                if exercise.id in translated:
                    continue
                session.add(ExerciseText(exercise_id=exercise.id, language=code,
                                         **{name: item[name] for name in exercise_texts.FIELDS}))
                translated.add(exercise.id)
                counts["exercise translations"] += 1
        session.flush()

        # The tracks' default goals, the same way: a translation planners edited stays as it is.
        for code, by_track in goals_in.items():
            translated = set(session.scalars(sa.select(TrackText.track_id).where(TrackText.language == code)))
            for track_code, goal in by_track.items():
                track = tracks[track_code]
                if track.id in translated:
                    continue
                session.add(TrackText(track_id=track.id, language=code, default_goal=goal))
                translated.add(track.id)
                counts["track goal translations"] += 1
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


__all__ = ["load_reference"]

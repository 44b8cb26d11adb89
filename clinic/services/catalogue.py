"""The programme's catalogue: tracks, activities, kindness exercises and groups.

Every create, update and delete of these records goes through here. Updates carry the
row version the form was opened with (``locking.check_version``); nothing is committed
here, the caller commits.
"""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from ..extensions import db
from ..models import (
    DIRECTIONS,
    ENERGY_LEVELS,
    Activity,
    Assignment,
    CareGroup,
    Enrolment,
    GroupMembership,
    GroupSession,
    KindnessExercise,
    Track,
    track_starter_exercise,
)
from .assignments import MAX_TIMES_PER_WEEK, MIN_TIMES_PER_WEEK
from .errors import RuleViolation
from .exercise_texts import delete_translations
from .limits import TEXT_LIMIT, FieldViolation, choice, column_length, required_row, text, whole
from .locking import check_version
from .membership import peak_members
from .measure_schedule import DEFAULT_MEASURE_INTERVAL, MEASURE_INTERVAL_MAX, MEASURE_INTERVAL_MIN
from .series import MAX_SESSION_MINUTES

#: Most programme minutes a track can ask for in a week (every minute of it).
MAX_WEEK_MINUTES = 7 * 24 * 60


def _exists(statement) -> bool:
    return db.session.scalar(sa.select(statement.exists())) or False


def _unique(model, column, value, row_id: int | None, field: str, message: str) -> None:
    clash = db.session.scalar(sa.select(model.id).where(column == value, *([model.id != row_id] if row_id else [])))
    if clash is not None:
        raise FieldViolation(field, message)


def _rows(values: dict, field: str) -> list:
    return list(values.get(field) or [])


# Tracks ------------------------------------------------------------------------------
def _track_values(values: dict, track: Track | None) -> dict:
    row_id = track.id if track else None
    clean = {
        "code": text(values, "code", "code", column_length(Track.code), required=True).lower(),
        "name": text(values, "name", "name", column_length(Track.name), required=True),
        "care_level": whole(values, "care_level", "care level", 1, 99),
        "weekly_min_minutes": whole(values, "weekly_min_minutes", "weekly minimum in minutes", 0, MAX_WEEK_MINUTES),
        "weekly_min_days": whole(values, "weekly_min_days", "weekly minimum in days", 0, 7),
        "description": text(values, "description", "description", TEXT_LIMIT),
    }
    # The PHQ-9 / GAD-7 interval (services.measure_schedule): 1 to 90 days. A caller that
    # does not send it (an older form, the reference data) keeps what the track has.
    if "measure_interval_days" in values:
        clean["measure_interval_days"] = whole(
            values, "measure_interval_days", "days between PHQ-9 and GAD-7 measures",
            MEASURE_INTERVAL_MIN, MEASURE_INTERVAL_MAX)
    elif track is None:
        clean["measure_interval_days"] = DEFAULT_MEASURE_INTERVAL
    _unique(Track, Track.code, clean["code"], row_id, "code", "Another track already has this code.")
    _unique(Track, Track.name, clean["name"], row_id, "name", "Another track already has this name.")
    _unique(Track, Track.care_level, clean["care_level"], row_id, "care_level",
            "Another track already has this care level.")
    starters = _rows(values, "starter_exercises")
    before = {e.id for e in track.starter_exercises} if track else set()
    for exercise in starters:
        if not exercise.active and exercise.id not in before:
            raise FieldViolation("starter_exercises",
                                 f'"{exercise.title}" is retired, so it cannot join a starter plan.')
    clean["starter_exercises"] = starters
    # The treatment plan (services/treatment_plan): the fan-out's default goal, the recertification.
    if "default_goal" in values:
        clean["default_goal"] = text(values, "default_goal", "default goal", 1000)
    if "recert_first_days" in values or "recert_every_days" in values:
        first = whole(values, "recert_first_days", "first recertification (days)", 1, 366, required=False)
        every = whole(values, "recert_every_days", "recertification interval (days)", 1, 366, required=False)
        if (first is None) != (every is None):
            raise FieldViolation("recert_every_days" if every is None else "recert_first_days",
                                 "Give both recertification figures, or neither (the track is not certified).")
        clean["recert_first_days"], clean["recert_every_days"] = first, every
    return clean


def _apply(row, clean: dict) -> None:
    for key, value in clean.items():
        if key in ("tracks", "starter_exercises"):
            if {r.id for r in getattr(row, key)} != {r.id for r in value}:
                setattr(row, key, value)
        elif getattr(row, key) != value:
            setattr(row, key, value)


def create_track(values: dict) -> Track:
    """Add a track (unique code, name and care level; minimums within a week)."""
    track = Track()
    _apply(track, _track_values(values, None))
    db.session.add(track)
    db.session.flush()
    return track


def update_track(track: Track, values: dict, version) -> Track:
    """Change a track opened at ``version``; a retired exercise cannot join its starter plan."""
    check_version(track, version)
    _apply(track, _track_values(values, track))
    db.session.flush()
    return track


def delete_track(track: Track) -> None:
    """Remove a track nobody was ever enrolled in and no group belongs to."""
    if _exists(sa.select(Enrolment.id).where(Enrolment.track_id == track.id)):
        raise RuleViolation("Patients have been enrolled in this track, so it is kept for their history.")
    if _exists(sa.select(CareGroup.id).where(CareGroup.track_id == track.id)):
        raise RuleViolation("Groups belong to this track; remove or move them first.")
    for exercise in db.session.scalars(
        sa.select(KindnessExercise).where(KindnessExercise.tracks.any(Track.id == track.id))
    ):
        exercise.tracks = [t for t in exercise.tracks if t.id != track.id]
    for activity in db.session.scalars(sa.select(Activity).where(Activity.tracks.any(Track.id == track.id))):
        activity.tracks = [t for t in activity.tracks if t.id != track.id]
    track.starter_exercises = []
    db.session.flush()
    db.session.delete(track)
    db.session.flush()


# Activities --------------------------------------------------------------------------
def _activity_values(values: dict, activity: Activity | None) -> dict:
    clean = {
        "name": text(values, "name", "name", column_length(Activity.name), required=True),
        "description": text(values, "description", "description", TEXT_LIMIT),
        "default_minutes": whole(values, "default_minutes", "usual length in minutes", 1, MAX_SESSION_MINUTES),
        "exercise": values.get("exercise"),
        "tracks": _rows(values, "tracks"),
    }
    _unique(Activity, Activity.name, clean["name"], activity.id if activity else None, "name",
            "Another activity already has this name.")
    before = activity.exercise_id if activity else None
    if clean["exercise"] is not None and not clean["exercise"].active and clean["exercise"].id != before:
        raise FieldViolation("exercise", f'"{clean["exercise"].title}" is retired; choose a current exercise.')
    return clean


def create_activity(values: dict) -> Activity:
    """Add an activity."""
    activity = Activity()
    _apply(activity, _activity_values(values, None))
    db.session.add(activity)
    db.session.flush()
    return activity


def update_activity(activity: Activity, values: dict, version) -> Activity:
    """Change an activity opened at ``version``."""
    check_version(activity, version)
    _apply(activity, _activity_values(values, activity))
    db.session.flush()
    return activity


def delete_activity(activity: Activity) -> None:
    """Remove an activity no session uses."""
    if _exists(sa.select(GroupSession.id).where(GroupSession.activity_id == activity.id)):
        raise RuleViolation("Sessions use this activity, so it is kept for their history.")
    activity.tracks = []
    db.session.flush()
    db.session.delete(activity)
    db.session.flush()


# Kindness exercises ------------------------------------------------------------------
def _exercise_values(values: dict, exercise: KindnessExercise | None) -> dict:
    clean = {
        "title": text(values, "title", "title", column_length(KindnessExercise.title), required=True),
        "direction": choice(values, "direction", "direction", DIRECTIONS),
        "energy": choice(values, "energy", "energy", ENERGY_LEVELS),
        "summary": text(values, "summary", "summary", column_length(KindnessExercise.summary)),
        "why_it_helps": text(values, "why_it_helps", "text on why it helps", TEXT_LIMIT),
        "how_to": text(values, "how_to", "text on how to do it", TEXT_LIMIT),
        "reflection_prompts": text(values, "reflection_prompts", "reflection prompts", TEXT_LIMIT),
        "default_times_per_week": whole(values, "default_times_per_week", "usual times per week",
                                        MIN_TIMES_PER_WEEK, MAX_TIMES_PER_WEEK),
        "tracks": _rows(values, "tracks"),
        "active": bool(values.get("active")),
    }
    _unique(KindnessExercise, KindnessExercise.title, clean["title"], exercise.id if exercise else None,
            "title", "Another exercise already has this title.")
    return clean


def create_exercise(values: dict) -> KindnessExercise:
    """Add an exercise to the catalogue."""
    exercise = KindnessExercise()
    _apply(exercise, _exercise_values(values, None))
    db.session.add(exercise)
    db.session.flush()
    return exercise


def update_exercise(exercise: KindnessExercise, values: dict, version) -> KindnessExercise:
    """Change an exercise opened at ``version``; retiring it keeps its assignments as history."""
    check_version(exercise, version)
    _apply(exercise, _exercise_values(values, exercise))
    db.session.flush()
    return exercise


def delete_exercise(exercise: KindnessExercise) -> None:
    """Remove an exercise never assigned, in no starter plan and practised by no activity."""
    if _exists(sa.select(Assignment.id).where(Assignment.exercise_id == exercise.id)):
        raise RuleViolation("This exercise has been assigned, so it is kept for history: retire it instead.")
    if _exists(sa.select(track_starter_exercise.c.track_id).where(
            track_starter_exercise.c.exercise_id == exercise.id)):
        raise RuleViolation("This exercise is in a track's starter plan; take it out of the plan first.")
    if _exists(sa.select(Activity.id).where(Activity.exercise_id == exercise.id)):
        raise RuleViolation("An activity practises this exercise; change the activity first.")
    delete_translations(exercise)
    exercise.tracks = []
    db.session.flush()
    db.session.delete(exercise)
    db.session.flush()


# Groups ------------------------------------------------------------------------------
def _group_values(values: dict, group: CareGroup | None, today: date) -> dict:
    clean = {
        "name": text(values, "name", "name", column_length(CareGroup.name), required=True),
        "track": required_row(values, "track", "track"),
        "facilitator": values.get("facilitator"),
        "room": text(values, "room", "room", column_length(CareGroup.room)),
        "capacity": whole(values, "capacity", "capacity", 1, 500),
        "active": bool(values.get("active")),
    }
    _unique(CareGroup, CareGroup.name, clean["name"], group.id if group else None, "name",
            "Another group already has this name.")
    if clean["facilitator"] is not None and not clean["facilitator"].is_active_account:
        raise FieldViolation("facilitator", "This staff account is deactivated; choose someone else.")
    if group is not None:
        if clean["track"].id != group.track_id and _exists(
                sa.select(GroupMembership.id).where(GroupMembership.group_id == group.id)):
            raise FieldViolation("track", "This group has members, who rest on their enrolment in its track; "
                                          "its track cannot change.")
        members = peak_members(group.id, today, None)
        if clean["capacity"] < members:
            raise FieldViolation("capacity", f"The group has {members} members from today on; "
                                             "its capacity cannot be lower.")
    return clean


def create_group(values: dict) -> CareGroup:
    """Add a group."""
    group = CareGroup()
    _apply(group, _group_values(values, None, date.today()))
    db.session.add(group)
    db.session.flush()
    return group


def update_group(group: CareGroup, values: dict, version, *, today: date | None = None) -> CareGroup:
    """Change a group opened at ``version``; capacity never below its current member count."""
    check_version(group, version)
    _apply(group, _group_values(values, group, today or date.today()))
    db.session.flush()
    return group


def delete_group(group: CareGroup) -> None:
    """Remove a group that never had members or sessions."""
    if _exists(sa.select(GroupMembership.id).where(GroupMembership.group_id == group.id)):
        raise RuleViolation("This group has had members, so it is kept for history: mark it inactive instead.")
    if _exists(sa.select(GroupSession.id).where(GroupSession.group_id == group.id)):
        raise RuleViolation("This group has sessions, so it is kept for history: mark it inactive instead.")
    db.session.delete(group)
    db.session.flush()


__all__ = [
    "create_activity",
    "create_exercise",
    "create_group",
    "create_track",
    "delete_activity",
    "delete_exercise",
    "delete_group",
    "delete_track",
    "update_activity",
    "update_exercise",
    "update_group",
    "update_track",
]

"""Reference data and the fictional demo clinic.

``load_reference`` reads ``seed/reference.toml`` (tracks, the kindness exercise catalogue
and group activities) and adds whatever is missing. ``load_demo`` reads ``seed/demo.toml``
and fills an empty, non-production clinic with invented staff, patients, groups, sessions,
attendance, assignments and check-ins so the app can be tried out.

Both are called by the ``flask seed`` command; neither reads a request.
"""

from __future__ import annotations

import random
import tomllib
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import current_app, has_app_context

from clinic.extensions import db
from clinic.models import (
    DIRECTIONS,
    ENERGY_LEVELS,
    ROLES,
    Activity,
    Assignment,
    Attendance,
    CareGroup,
    Enrolment,
    ExerciseCheckin,
    GroupMembership,
    GroupSession,
    KindnessExercise,
    Patient,
    StaffUser,
    Track,
)
from clinic.services.accounts import hash_password

#: Where the seed files live unless the app config sets ``SEED_DIR``.
SEED_DIR = Path(__file__).resolve().parents[2] / "seed"

#: The fixed passwords of the demo accounts, by role. They are documented on purpose:
#: the demo clinic exists only outside production, for people trying the app out.
DEMO_PASSWORDS = {
    "admin": "demo-admin-pass",
    "planner": "demo-planner-pass",
    "counselor": "demo-counselor-pass",
}

#: The demo covers this many days before ``today`` (held sessions) ...
DEMO_PAST_DAYS = 21
#: ... and this many days from ``today`` on (planned sessions, today included).
DEMO_FUTURE_DAYS = 7

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class SeedError(Exception):
    """The seed files or the database do not allow the requested load; the message says why."""


@dataclass
class DemoLogin:
    """One demo account. ``password`` is None when the account existed before the demo."""

    email: str
    full_name: str
    role: str
    password: str | None


@dataclass
class DemoResult:
    """What ``load_demo`` did: whether it loaded, a message for people, logins and counts."""

    loaded: bool
    message: str
    logins: list[DemoLogin] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    reference_counts: dict[str, int] = field(default_factory=dict)

    def describe(self) -> str:
        """Return the message and, when the demo loaded, the logins, as text for the CLI."""
        lines = [self.message]
        if self.logins:
            lines.append("Demo logins (fictional accounts; never use these passwords for real ones):")
            width = max(len(login.email) for login in self.logins)
            for login in self.logins:
                password = login.password or "(account existed before; password unchanged)"
                lines.append(f"  {login.role:<9}  {login.email:<{width}}  {password}")
        return "\n".join(lines)


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


def load_reference() -> dict[str, int]:
    """Add the tracks, exercises and activities from ``reference.toml`` that are missing.

    Rows are matched by track code, exercise title and activity name. Missing rows are
    created with their tracks and linked exercise; rows that already exist are never
    changed, so edits staff made in the app survive a re-run (and a row staff deleted
    comes back). Running it twice creates nothing the second time. Commits once and
    returns how many rows of each kind were created.
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
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return counts


# ---------------------------------------------------------------------------
# The demo clinic: reading demo.toml
# ---------------------------------------------------------------------------


@dataclass
class _GroupSpec:
    name: str
    track: str
    room: str
    capacity: int
    facilitator: str
    days: list[int]
    start_times: list[time]
    session_minutes: int
    members: int


@dataclass
class _DemoSpec:
    record_prefix: str
    first_names: list[str]
    last_names: list[str]
    nicknames: dict[str, str]
    stepped_down_into: dict[str, int]
    full_journey: int
    staff: list[dict[str, str]]
    groups: list[_GroupSpec]


def _parse_demo(data: dict) -> _DemoSpec:
    source = "demo.toml"
    prefix = _text(data, "record_prefix", source, limit=20)
    if "DEMO" not in prefix.upper():
        raise SeedError(f"{source}: 'record_prefix' must contain DEMO so record numbers look fake.")

    def names(key: str) -> list[str]:
        value = data.get(key)
        if not isinstance(value, list) or not value or not all(isinstance(v, str) and v.strip() for v in value):
            raise SeedError(f"{source}: '{key}' must be a non-empty list of names.")
        return list(dict.fromkeys(v.strip() for v in value))

    first_names, last_names = names("first_names"), names("last_names")
    nicknames = data.get("nicknames", {})
    if not isinstance(nicknames, dict) or not all(isinstance(v, str) for v in nicknames.values()):
        raise SeedError(f"{source}: [nicknames] must map first names to preferred names.")

    history = data.get("history", {})
    into = history.get("stepped_down_into", {}) if isinstance(history, dict) else {}
    if not isinstance(into, dict) or not all(isinstance(v, int) and v >= 0 for v in into.values()):
        raise SeedError(f"{source}: [history] stepped_down_into must map track codes to counts.")
    full_journey = history.get("full_journey", 0) if isinstance(history, dict) else 0
    if not isinstance(full_journey, int) or full_journey < 0:
        raise SeedError(f"{source}: [history] full_journey must be a whole number.")

    staff = []
    for row in _rows(data, "staff", source):
        where = f"{source} staff {row.get('email', '?')!r}"
        member = {
            "email": _text(row, "email", where, limit=254).lower(),
            "full_name": _text(row, "full_name", where, limit=120),
            "role": _text(row, "role", where),
        }
        if member["role"] not in ROLES:
            raise SeedError(f"{where}: 'role' must be one of {', '.join(ROLES)}.")
        if not member["email"].endswith(".example"):
            raise SeedError(f"{where}: demo e-mails must use a reserved .example domain.")
        staff.append(member)
    _unique([s["email"] for s in staff], "staff e-mail", source)
    for role in ("planner", "counselor"):
        if not any(s["role"] == role for s in staff):
            raise SeedError(f"{source}: the demo needs at least one {role}.")
    counselors = {s["email"] for s in staff if s["role"] == "counselor"}

    rooms = data.get("rooms", [])
    if not isinstance(rooms, list):
        raise SeedError(f"{source}: 'rooms' must be a list of room names.")
    groups = []
    for row in _rows(data, "groups", source):
        where = f"{source} group {row.get('name', '?')!r}"
        facilitator = _text(row, "facilitator", where).lower()
        if facilitator not in counselors:
            raise SeedError(f"{where}: the facilitator must be one of the demo counselors.")
        room = _text(row, "room", where, limit=40)
        if rooms and room not in rooms:
            raise SeedError(f"{where}: the room {room!r} is not in the 'rooms' list.")
        days = row.get("days")
        if not isinstance(days, list) or not days or any(d not in WEEKDAYS for d in days):
            raise SeedError(f"{where}: 'days' must list weekdays as {', '.join(WEEKDAYS)}.")
        starts = row.get("start_times")
        try:
            start_times = [time.fromisoformat(value) for value in starts]
        except (TypeError, ValueError):
            raise SeedError(f"{where}: 'start_times' must list times such as \"09:30\".") from None
        if not start_times:
            raise SeedError(f"{where}: 'start_times' must list at least one time.")
        spec = _GroupSpec(
            name=_text(row, "name", where, limit=80),
            track=_text(row, "track", where),
            room=room,
            capacity=_int(row, "capacity", where, 1, 500),
            facilitator=facilitator,
            days=sorted({WEEKDAYS.index(d) for d in days}),
            start_times=sorted(start_times),
            session_minutes=_int(row, "session_minutes", where, 1, 12 * 60),
            members=_int(row, "members", where, 0, 500),
        )
        if spec.members > spec.capacity:
            raise SeedError(f"{where}: more members than the capacity.")
        groups.append(spec)
    _unique([g.name for g in groups], "group name", source)
    patients = sum(g.members for g in groups)
    if patients > len(first_names) * len(last_names):
        raise SeedError(f"{source}: not enough name combinations for {patients} patients.")
    if patients > 9999:
        raise SeedError(f"{source}: the demo numbers patients with four digits; use fewer.")
    return _DemoSpec(
        record_prefix=prefix,
        first_names=first_names,
        last_names=last_names,
        nicknames={k.strip(): v.strip() for k, v in nicknames.items()},
        stepped_down_into=dict(into),
        full_journey=full_journey,
        staff=staff,
        groups=groups,
    )


# ---------------------------------------------------------------------------
# The demo clinic: building it
# ---------------------------------------------------------------------------

_GROUP_NOTES = (
    "{activity}: everyone who wanted to took a turn. Calm, supportive atmosphere.",
    "{activity}: the group warmed up slowly, then shared openly. Several people offered encouragement.",
    "{activity}: good energy today. We ended with each person naming one thing to try this week.",
    "{activity}: a quieter session; passing was used and respected. Short grounding exercise at the end.",
    "{activity}: the group talked about what makes kindness hard on low-energy days.",
)
_PRESENT_NOTES = (
    "Joined in readily and shared an example from the week.",
    "Quiet at first; spoke up in the second half.",
    "Offered encouragement to another member.",
    "Said the exercise felt easier than last week.",
    "Seemed tired; took part in the pair work.",
    "Asked for a copy of the handout to take home.",
)
_LATE_NOTES = ("Arrived late after an appointment; settled in quickly.", "Arrived late; joined the second round.")
_LEFT_EARLY_NOTES = ("Left early for a medical appointment.", "Left early; felt unwell, staff informed.")
_ABSENT_NOTES = ("Did not attend; counselor to follow up.", "No message received; will check in tomorrow.")
_EXCUSED_NOTES = (
    "Excused: medical appointment.",
    "Excused: family commitment, told us in advance.",
    "Excused: resting on medical advice.",
)
_REFLECTIONS = {
    "done": (
        "Felt lighter afterwards.",
        "Easier than I expected.",
        "They smiled, and so did I.",
        "Nice to do something for someone else.",
        "I noticed I was less hard on myself today.",
        "Small, but it counted.",
        "Want to do this again tomorrow.",
    ),
    "partly": (
        "Started it but ran out of energy. Still glad I tried.",
        "Did half; that's more than last week.",
        "Got interrupted, will finish tomorrow.",
        "Managed a shorter version.",
    ),
    "not_done": (
        "Too tired today.",
        "Forgot, then felt bad about it. Trying again tomorrow.",
        "Bad day; I rested instead.",
        "Didn't feel up to it.",
    ),
}


@dataclass
class _Stint:
    """One enrolment of one patient, with the group they were in."""

    track: Track
    group: CareGroup
    start: date
    end: date | None
    counselor: StaffUser
    next_track: Track | None = None


@dataclass
class _PlannedPatient:
    patient: Patient
    stints: list[_Stint]  # oldest first; the last one is open
    engagement_base: float
    mood_base: float

    @property
    def current(self) -> _Stint:
        return self.stints[-1]


class _DemoBuilder:
    """Builds the demo clinic in the current session; the caller commits."""

    def __init__(self, spec: _DemoSpec, today: date, rng: random.Random) -> None:
        self.spec = spec
        self.today = today
        self.rng = rng
        self.session = db.session
        self.counts: dict[str, int] = {}
        self.logins: list[DemoLogin] = []

    # -- helpers ---------------------------------------------------------

    def _add(self, kind: str, rows: list) -> None:
        self.session.add_all(rows)
        self.session.flush()
        self.counts[kind] = self.counts.get(kind, 0) + len(rows)

    def _weighted(self, options: dict[str, float]) -> str:
        return self.rng.choices(list(options), weights=list(options.values()))[0]

    # -- steps -----------------------------------------------------------

    def build(self) -> None:
        self._load_catalogue()
        self._check_free_names()
        self._make_staff()
        self._make_groups()
        self._make_patients()
        self._make_sessions()
        self._make_attendance()
        self._make_assignments()
        self._make_checkins()

    def _load_catalogue(self) -> None:
        self.tracks = {t.code: t for t in self.session.scalars(sa.select(Track))}
        codes = {g.track for g in self.spec.groups} | set(self.spec.stepped_down_into)
        missing = sorted(codes - set(self.tracks))
        if missing:
            raise SeedError(f"The demo needs the track(s) {', '.join(missing)}, which are not in the database.")
        self.by_level = sorted(self.tracks.values(), key=lambda t: t.care_level)
        self.exercises: dict[int, list[KindnessExercise]] = {}
        self.activities: dict[int, list[Activity]] = {}
        for track in self.tracks.values():
            self.exercises[track.id] = list(
                self.session.scalars(
                    sa.select(KindnessExercise)
                    .join(KindnessExercise.tracks)
                    .where(Track.id == track.id, KindnessExercise.active.is_(True))
                    .order_by(KindnessExercise.title)
                )
            )
            self.activities[track.id] = list(
                self.session.scalars(
                    sa.select(Activity).join(Activity.tracks).where(Track.id == track.id).order_by(Activity.name)
                )
            )

    def _check_free_names(self) -> None:
        names = [g.name for g in self.spec.groups]
        taken = list(self.session.scalars(sa.select(CareGroup.name).where(CareGroup.name.in_(names))))
        if taken:
            raise SeedError(
                f"The group name(s) {', '.join(sorted(taken))} are already in use; the demo "
                "loads only into an empty clinic."
            )

    def _make_staff(self) -> None:
        emails = [s["email"] for s in self.spec.staff]
        existing = {
            u.email: u for u in self.session.scalars(sa.select(StaffUser).where(StaffUser.email.in_(emails)))
        }
        created = []
        self.staff: dict[str, StaffUser] = {}
        for member in self.spec.staff:
            user = existing.get(member["email"])
            password = None
            if user is None:
                password = DEMO_PASSWORDS[member["role"]]
                user = StaffUser(
                    email=member["email"],
                    full_name=member["full_name"],
                    role=member["role"],
                    password_hash=hash_password(password),
                    is_active_account=True,
                )
                created.append(user)
            self.staff[member["email"]] = user
            self.logins.append(DemoLogin(user.email, user.full_name, user.role, password))
        self._add("staff", created)
        self.planners = [u for u in self.staff.values() if u.role == "planner"]
        self.counselors = [u for u in self.staff.values() if u.role == "counselor"]

    def _make_groups(self) -> None:
        self.groups: list[tuple[_GroupSpec, CareGroup]] = []
        for spec in self.spec.groups:
            group = CareGroup(
                name=spec.name,
                track=self.tracks[spec.track],
                facilitator=self.staff[spec.facilitator],
                room=spec.room,
                capacity=spec.capacity,
                active=True,
            )
            self.groups.append((spec, group))
        self._add("groups", [group for _, group in self.groups])
        self.groups_by_track: dict[int, list[CareGroup]] = {}
        for _, group in self.groups:
            self.groups_by_track.setdefault(group.track_id, []).append(group)

    def _previous_track(self, track: Track) -> Track | None:
        index = self.by_level.index(track)
        return self.by_level[index - 1] if index > 0 else None

    def _stint_days(self, track: Track) -> int:
        # Ward stays are short; day programmes last a few weeks.
        return self.rng.randint(10, 21) if track.care_level == 1 else self.rng.randint(14, 30)

    def _make_patients(self) -> None:
        rng, today = self.rng, self.today
        # Who goes where: one slot per current member, in file order.
        slots = [(spec, group) for spec, group in self.groups for _ in range(spec.members)]
        combos = rng.sample(
            [(f, l) for f in self.spec.first_names for l in self.spec.last_names], len(slots)
        )
        # Histories: which patients stepped down into their current track.
        history: dict[int, list[Track]] = {}
        for code, count in self.spec.stepped_down_into.items():
            track = self.tracks[code]
            previous = self._previous_track(track)
            in_track = [i for i, (spec, _) in enumerate(slots) if spec.track == code]
            if previous is None or count == 0 or not in_track:
                continue
            chosen = sorted(rng.sample(in_track, min(count, len(in_track))))
            for rank, index in enumerate(chosen):
                chain = [previous]
                if rank < self.spec.full_journey:
                    # Came all the way down from the most intensive level.
                    while (earlier := self._previous_track(chain[0])) is not None:
                        chain.insert(0, earlier)
                history[index] = chain
        rotation = {track_id: 0 for track_id in self.groups_by_track}

        self.planned: list[_PlannedPatient] = []
        patients, enrolments, memberships = [], [], []
        for index, ((spec, group), (first, last)) in enumerate(zip(slots, combos)):
            facilitator = group.facilitator
            counselor = facilitator if rng.random() < 0.5 else rng.choice(self.counselors)
            chain = history.get(index, [])
            if chain:
                start = today - timedelta(days=rng.randint(3, 18))
            elif group.track.care_level == 1:
                start = today - timedelta(days=rng.randint(2, 24))
            else:
                start = today - timedelta(days=rng.randint(5, 60))
            stints = [_Stint(group.track, group, start, None, counselor)]
            next_start, next_track = start, group.track
            for earlier in reversed(chain):
                end = next_start - timedelta(days=1)
                begin = end - timedelta(days=self._stint_days(earlier) - 1)
                options = self.groups_by_track.get(earlier.id)
                if not options:
                    raise SeedError(f"The demo needs a group in the {earlier.code} track for its history.")
                earlier_group = options[rotation[earlier.id] % len(options)]
                rotation[earlier.id] += 1
                stints.insert(
                    0, _Stint(earlier, earlier_group, begin, end, earlier_group.facilitator, next_track)
                )
                next_start, next_track = begin, earlier
            preferred = None
            if first in self.spec.nicknames and rng.random() < 0.7:
                preferred = self.spec.nicknames[first]
            patient = Patient(
                record_number=f"{self.spec.record_prefix}{index + 1:04d}",
                first_name=first,
                last_name=last,
                preferred_name=preferred,
                active=True,
                created_at=datetime.combine(stints[0].start, time(8, 0)),
            )
            patients.append(patient)
            self.planned.append(
                _PlannedPatient(
                    patient,
                    stints,
                    engagement_base=rng.choice((2.0, 2.5, 3.0, 3.0, 3.5)),
                    mood_base=rng.choice((2.0, 3.0, 3.0, 4.0, 5.0)),
                )
            )
        self._add("patients", patients)

        for planned in self.planned:
            for stint in planned.stints:
                if stint.end is None:
                    status, reason = "active", ""
                else:
                    status, reason = "stepped_down", f"Stepped down to {stint.next_track.name}."
                enrolments.append(
                    Enrolment(
                        patient=planned.patient,
                        track=stint.track,
                        start_date=stint.start,
                        end_date=stint.end,
                        status=status,
                        end_reason=reason,
                        primary_counselor=stint.counselor,
                    )
                )
                memberships.append(
                    GroupMembership(
                        group=stint.group, patient=planned.patient, start_date=stint.start, end_date=stint.end
                    )
                )
        self._add("enrolments", enrolments)
        self._add("memberships", memberships)
        # Roster lookup: group id -> [(planned patient, start, end)].
        self.rosters: dict[int, list[tuple[_PlannedPatient, date, date | None]]] = {}
        for planned in self.planned:
            for stint in planned.stints:
                self.rosters.setdefault(stint.group.id, []).append((planned, stint.start, stint.end))

    def _make_sessions(self) -> None:
        rng, today = self.rng, self.today
        self.sessions: list[GroupSession] = []
        for spec, group in self.groups:
            series = [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in spec.start_times]
            activities = self.activities.get(group.track_id, [])
            for offset in range(-DEMO_PAST_DAYS, DEMO_FUTURE_DAYS):
                day = today + timedelta(days=offset)
                if day.weekday() not in spec.days:
                    continue
                if len(activities) >= len(spec.start_times):
                    todays = rng.sample(activities, len(spec.start_times))
                else:
                    todays = [rng.choice(activities) if activities else None for _ in spec.start_times]
                # Yesterday's sessions are left unrecorded, so "My day" has work waiting.
                held = day < today - timedelta(days=1)
                for slot, starts in enumerate(spec.start_times):
                    activity = todays[slot]
                    note = ""
                    if held and activity is not None:
                        note = rng.choice(_GROUP_NOTES).format(activity=activity.name)
                    starts_at = datetime.combine(day, starts)
                    ends_at = starts_at + timedelta(minutes=spec.session_minutes)
                    # Records older than a few days are signed; the most recent are saved only.
                    signed = held and day < today - timedelta(days=3)
                    self.sessions.append(
                        GroupSession(
                            group=group,
                            activity=activity,
                            starts_at=starts_at,
                            duration_minutes=spec.session_minutes,
                            room=group.room,
                            facilitator=group.facilitator,
                            status="held" if held else "planned",
                            group_note=note,
                            series_id=series[slot],
                            recorded_at=ends_at if held else None,
                            recorded_by=group.facilitator if held else None,
                            signed_at=ends_at + timedelta(minutes=10) if signed else None,
                            signed_by=group.facilitator if signed else None,
                        )
                    )
        self._add("sessions", self.sessions)

    def _make_attendance(self) -> None:
        rng = self.rng
        rows = []
        #: (patient id, day) -> a session the patient attended that day.
        self.attended: dict[tuple[int, date], GroupSession] = {}
        statuses = {"present": 78, "late": 7, "left_early": 5, "absent": 6, "excused": 4}
        for session in self.sessions:
            if session.status != "held":
                continue
            day = session.starts_at.date()
            length = session.duration_minutes
            ended = session.starts_at + timedelta(minutes=length)
            for planned, start, end in self.rosters.get(session.group_id, []):
                if not (start <= day and (end is None or day <= end)):
                    continue
                status = self._weighted(statuses)
                engagement, note = None, ""
                if status in ("absent", "excused"):
                    minutes = 0
                    if status == "excused" or rng.random() < 0.5:
                        note = rng.choice(_EXCUSED_NOTES if status == "excused" else _ABSENT_NOTES)
                else:
                    if status == "present":
                        minutes = length
                        if rng.random() < 0.18:
                            note = rng.choice(_PRESENT_NOTES)
                    elif status == "late":
                        minutes = max(1, length - rng.randint(10, min(30, max(10, length // 2))))
                        note = rng.choice(_LATE_NOTES) if rng.random() < 0.6 else ""
                    else:
                        minutes = max(1, length - rng.randint(15, max(15, length // 2)))
                        note = rng.choice(_LEFT_EARLY_NOTES) if rng.random() < 0.6 else ""
                    # Engagement tends to grow over the first weeks in a track.
                    trend = min(1.0, (day - start).days / 28)
                    engagement = round(planned.engagement_base + trend + rng.gauss(0, 0.7))
                    engagement = max(1, min(5, engagement))
                    self.attended.setdefault((planned.patient.id, day), session)
                rows.append(
                    Attendance(
                        session=session,
                        patient=planned.patient,
                        status=status,
                        minutes_attended=minutes,
                        engagement=engagement,
                        note=note,
                        recorded_by=session.facilitator,
                        recorded_at=ended + timedelta(minutes=15),
                    )
                )
        self._add("attendance", rows)

    def _make_assignments(self) -> None:
        rng, today = self.rng, self.today
        weights = {"low": 3.0, "medium": 2.0, "high": 1.0}
        self.assignments: list[tuple[_PlannedPatient, Assignment]] = []
        for planned in self.planned:
            current = planned.current
            pool = list(self.exercises.get(current.track.id, []))
            wanted = min(len(pool), rng.choice((2, 2, 3)))
            chosen: list[KindnessExercise] = []
            while len(chosen) < wanted:
                exercise = rng.choices(pool, weights=[weights.get(e.energy, 1.0) for e in pool])[0]
                pool.remove(exercise)
                chosen.append(exercise)
            for rank, exercise in enumerate(chosen):
                if rank == 0:
                    # The track's starter exercise, given on the first day.
                    source, start, due = "track", current.start, None
                else:
                    source = rng.choice(("individual", "group"))
                    room = max(0, min(10, (today - current.start).days - 1))
                    start = current.start + timedelta(days=rng.randint(0, room))
                    due = today + timedelta(days=rng.randint(5, 21))
                assignment = Assignment(
                    exercise=exercise,
                    patient=planned.patient,
                    start_date=start,
                    due_date=due,
                    times_per_week=exercise.default_times_per_week,
                    status="active",
                    assigned_by=rng.choice(self.planners),
                    source=source,
                    created_at=datetime.combine(start, time(8, 30)),
                )
                self.assignments.append((planned, assignment))
        self._add("assignments", [assignment for _, assignment in self.assignments])

    def _make_checkins(self) -> None:
        rng, today = self.rng, self.today
        outcomes = {"done": 60, "partly": 25, "not_done": 15}
        rows = []
        window_start = today - timedelta(days=DEMO_PAST_DAYS)
        for planned, assignment in self.assignments:
            chance = min(0.9, assignment.times_per_week / 7 * 0.85)
            counselor = planned.current.counselor
            day = max(assignment.start_date, window_start)
            while day < today:
                if rng.random() < chance:
                    outcome = self._weighted(outcomes)
                    trend = min(1.5, (day - planned.current.start).days / 14)
                    before = max(0, min(10, round(planned.mood_base + trend + rng.gauss(0, 1))))
                    if outcome == "done":
                        after = before + rng.choice((0, 1, 1, 2, 2, 3))
                    elif outcome == "partly":
                        after = before + rng.choice((-1, 0, 0, 1, 1, 2))
                    else:
                        after = None
                    if after is not None:
                        after = max(0, min(10, after))
                    reflection = rng.choice(_REFLECTIONS[outcome]) if rng.random() < 0.8 else ""
                    session = self.attended.get((planned.patient.id, day))
                    if session is not None and rng.random() < 0.5:
                        recorder = session.facilitator
                        at = session.starts_at + timedelta(minutes=session.duration_minutes + 15)
                    else:
                        session, recorder = None, counselor
                        at = datetime.combine(day, time(16, 30))
                    rows.append(
                        ExerciseCheckin(
                            assignment=assignment,
                            on_date=day,
                            outcome=outcome,
                            mood_before=before,
                            mood_after=after,
                            reflection=reflection,
                            recorded_by=recorder,
                            session=session,
                            recorded_at=at,
                        )
                    )
                day += timedelta(days=1)
        self._add("checkins", rows)


def load_demo(today: date | None = None) -> DemoResult:
    """Fill an empty clinic with the fictional demo from ``demo.toml`` and commit once.

    Refuses with ``SeedError`` in production (``CLINIC_ENV`` is ``production`` or unset).
    When the clinic already holds any patient nothing is changed, and the result says so
    (``loaded`` is False); this makes a second run harmless. Reference data is loaded
    first when no track exists yet. The demo covers three weeks of held sessions before
    ``today`` (default: the real today) and one week of planned ones from ``today`` on,
    and is the same every time for the same ``today`` and catalogue. Demo accounts get
    the passwords in ``DEMO_PASSWORDS``; the result lists them for the CLI to print.
    """
    mode = current_app.config.get("CLINIC_ENV", "production")
    if mode == "production":
        raise SeedError(
            "The demo clinic is never loaded in production (CLINIC_ENV=production): it "
            "creates accounts with published passwords. Use CLINIC_ENV=development."
        )
    if db.session.scalar(sa.select(Patient.id).limit(1)) is not None:
        return DemoResult(
            loaded=False,
            message=(
                "The clinic already has patients, so the demo was not loaded: it loads only "
                "into an empty clinic. Nothing was changed."
            ),
        )
    spec = _parse_demo(_read_toml("demo.toml"))
    today = today or date.today()
    reference_counts: dict[str, int] = {}
    if db.session.scalar(sa.select(sa.func.count()).select_from(Track)) == 0:
        reference_counts = load_reference()
    builder = _DemoBuilder(spec, today, random.Random(2026))
    try:
        builder.build()
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    counts = builder.counts
    message = (
        f"Loaded the demo clinic: {counts.get('patients', 0)} patients in "
        f"{counts.get('groups', 0)} groups, {counts.get('sessions', 0)} sessions, "
        f"{counts.get('attendance', 0)} attendance records, {counts.get('assignments', 0)} "
        f"assignments and {counts.get('checkins', 0)} check-ins."
    )
    return DemoResult(
        loaded=True,
        message=message,
        logins=builder.logins,
        counts=dict(counts),
        reference_counts=reference_counts,
    )

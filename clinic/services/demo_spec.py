"""What ``seed/demo.toml`` describes: the demo clinic's names, staff, groups and histories.

``read_demo_spec`` reads and checks the file before anything is written, so a broken
file refuses the whole ``flask seed --demo``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time

from clinic.models import ROLES
from clinic.services.errors import RuleViolation
from clinic.services.languages import check_language
from clinic.services.seed_files import SeedError, int_value, read_toml, refuse_repeats, table_list, text_value

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass
class GroupSpec:
    """One demo group as ``demo.toml`` describes it."""

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
class DemoSpec:
    """Everything ``demo.toml`` says about the demo clinic."""

    record_prefix: str
    first_names: list[str]
    last_names: list[str]
    nicknames: dict[str, str]
    #: Record number -> that patient's language of patient paper (English when not named).
    languages: dict[str, str]
    stepped_down_into: dict[str, int]
    full_journey: int
    discharged: dict[str, int]
    staff: list[dict[str, str]]
    groups: list[GroupSpec]


def parse_demo(data: dict) -> DemoSpec:
    """Check the contents of ``demo.toml`` and return them; ``SeedError`` says what is wrong."""
    source = "demo.toml"
    prefix = text_value(data, "record_prefix", source, limit=20)
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
    spoken = data.get("languages", {})
    if not isinstance(spoken, dict) or not all(isinstance(v, str) for v in spoken.values()):
        raise SeedError(f"{source}: [languages] must map record numbers to language codes.")
    for number, code in spoken.items():
        if not number.startswith(prefix):
            raise SeedError(f"{source}: [languages] {number}: a demo record number starts with {prefix}.")
        try:
            check_language(code.strip())
        except RuleViolation as exc:
            raise SeedError(f"{source}: [languages] {number}: {exc}") from exc

    history = data.get("history", {})
    into = history.get("stepped_down_into", {}) if isinstance(history, dict) else {}
    if not isinstance(into, dict) or not all(isinstance(v, int) and v >= 0 for v in into.values()):
        raise SeedError(f"{source}: [history] stepped_down_into must map track codes to counts.")
    full_journey = history.get("full_journey", 0) if isinstance(history, dict) else 0
    if not isinstance(full_journey, int) or full_journey < 0:
        raise SeedError(f"{source}: [history] full_journey must be a whole number.")
    discharged = history.get("discharged", {}) if isinstance(history, dict) else {}
    if not isinstance(discharged, dict) or not all(isinstance(v, int) and v >= 0 for v in discharged.values()):
        raise SeedError(f"{source}: [history] discharged must map track codes to counts.")

    staff = []
    for row in table_list(data, "staff", source):
        where = f"{source} staff {row.get('email', '?')!r}"
        member = {
            "email": text_value(row, "email", where, limit=254).lower(),
            "full_name": text_value(row, "full_name", where, limit=120),
            "role": text_value(row, "role", where),
        }
        if member["role"] not in ROLES:
            raise SeedError(f"{where}: 'role' must be one of {', '.join(ROLES)}.")
        if not member["email"].endswith(".example"):
            raise SeedError(f"{where}: demo e-mails must use a reserved .example domain.")
        staff.append(member)
    refuse_repeats([s["email"] for s in staff], "staff e-mail", source)
    for role in ("planner", "counselor"):
        if not any(s["role"] == role for s in staff):
            raise SeedError(f"{source}: the demo needs at least one {role}.")
    counselors = {s["email"] for s in staff if s["role"] == "counselor"}

    rooms = data.get("rooms", [])
    if not isinstance(rooms, list):
        raise SeedError(f"{source}: 'rooms' must be a list of room names.")
    groups = []
    for row in table_list(data, "groups", source):
        where = f"{source} group {row.get('name', '?')!r}"
        facilitator = text_value(row, "facilitator", where).lower()
        if facilitator not in counselors:
            raise SeedError(f"{where}: the facilitator must be one of the demo counselors.")
        room = text_value(row, "room", where, limit=40)
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
        spec = GroupSpec(
            name=text_value(row, "name", where, limit=80),
            track=text_value(row, "track", where),
            room=room,
            capacity=int_value(row, "capacity", where, 1, 500),
            facilitator=facilitator,
            days=sorted({WEEKDAYS.index(d) for d in days}),
            start_times=sorted(start_times),
            session_minutes=int_value(row, "session_minutes", where, 1, 12 * 60),
            members=int_value(row, "members", where, 0, 500),
        )
        if spec.members > spec.capacity:
            raise SeedError(f"{where}: more members than the capacity.")
        groups.append(spec)
    refuse_repeats([g.name for g in groups], "group name", source)
    patients = sum(g.members for g in groups) + sum(discharged.values())
    if patients > len(first_names) * len(last_names):
        raise SeedError(f"{source}: not enough name combinations for {patients} patients.")
    if patients > 9999:
        raise SeedError(f"{source}: the demo numbers patients with four digits; use fewer.")
    return DemoSpec(
        record_prefix=prefix,
        first_names=first_names,
        last_names=last_names,
        nicknames={k.strip(): v.strip() for k, v in nicknames.items()},
        languages={k.strip(): v.strip() for k, v in spoken.items()},
        stepped_down_into=dict(into),
        full_journey=full_journey,
        discharged=dict(discharged),
        staff=staff,
        groups=groups,
    )


def read_demo_spec() -> DemoSpec:
    """Read and check ``demo.toml``; ``SeedError`` says what is wrong with it."""
    return parse_demo(read_toml("demo.toml"))

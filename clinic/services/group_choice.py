"""Choosing a group where a clinic may have thousands: a name search, at most ``CHOICES`` matches.

The assign form and the calendar feeds page never list every group of the clinic. They
offer the groups a search finds (the name contains the words typed, optionally within one
track), at most ``CHOICES`` of them by name, with how many more there are (counted up to
``COUNT_CAP``). The same search answers the forms' type-ahead (a small JSON answer) and
their plain-HTML "Find groups" button, so the form works without JavaScript.

``chosen_group`` is the check a POST goes through: the group must exist, be active and, when
the form was scoped to a track, belong to that track; otherwise a ``RuleViolation`` says
which, in words staff understand. Group names are not patient data.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa

from ..extensions import db
from ..models import CareGroup, Track
from .errors import RuleViolation

#: The most groups a search offers at once.
CHOICES = 25
#: Matches are counted up to this many ("more than 1,000").
COUNT_CAP = 1000
#: The longest search text kept (a group's name is at most 80 characters).
TERM_LIMIT = 80


@dataclass(frozen=True)
class GroupChoice:
    """One group a chooser offers."""

    id: int
    name: str
    track_id: int
    track_name: str

    @property
    def label(self) -> str:
        return f"{self.name} ({self.track_name})"

    def as_json(self) -> dict:
        return {"id": self.id, "name": self.name, "track": self.track_name, "label": self.label}


@dataclass
class GroupMatches:
    """What a group search found: the first ``CHOICES`` by name and how many match in all."""

    term: str = ""
    track_id: int | None = None
    groups: list[GroupChoice] = field(default_factory=list)
    #: Every match, counted up to ``COUNT_CAP`` (``capped`` says the count stopped there).
    total: int = 0
    capped: bool = False
    limit: int = CHOICES

    @property
    def more(self) -> int:
        """Matches not offered (at least this many when ``capped``)."""
        return max(0, self.total - len(self.groups))

    def text(self) -> str:
        """'3 groups', '25 of 890 groups: refine the search to see the others'."""
        if not self.total:
            return "No group matches." if self.term else "No active group."
        if not self.more:
            return f"{self.total} group{'s' if self.total != 1 else ''}."
        counted = f"more than {COUNT_CAP:,}" if self.capped else f"{self.total:,}"
        return (f"The first {len(self.groups)} of {counted} groups by name: "
                "type more of the name to find the others.")

    def as_json(self) -> dict:
        return {"groups": [g.as_json() for g in self.groups], "total": self.total, "capped": self.capped,
                "more": self.more, "limit": self.limit, "text": self.text()}


def clean_term(value) -> str:
    """The search text as typed, trimmed and cut to ``TERM_LIMIT`` characters."""
    return str(value or "").strip()[:TERM_LIMIT]


def whole_id(value) -> int | None:
    """A form's or query's id as a positive whole number, else None."""
    text = str(value or "").strip()
    return int(text) if text.isdigit() and 0 < len(text) < 10 and int(text) > 0 else None


def _matching(term: str, track_id: int | None):
    conditions = [CareGroup.active.is_(True)]
    if track_id is not None:
        conditions.append(CareGroup.track_id == track_id)
    for word in term.split():
        conditions.append(CareGroup.name.icontains(word, autoescape=True))
    return conditions


def find_groups(term: str = "", track_id: int | None = None, *, limit: int = CHOICES) -> GroupMatches:
    """The active groups whose name contains every word of ``term`` (any case; ``%`` and ``_``
    are plain characters), of track ``track_id`` when given: the first ``limit`` (at most
    ``CHOICES``) by name, with the count of all matches up to ``COUNT_CAP``.

    One statement, whatever the number of groups: the name index gives them in order and
    the count stops at ``COUNT_CAP``.
    """
    term = clean_term(term)
    limit = max(1, min(int(limit), CHOICES))
    conditions = _matching(term, track_id)
    counted = (sa.select(sa.func.count()).select_from(
        sa.select(CareGroup.id).where(*conditions).limit(COUNT_CAP + 1).subquery()).scalar_subquery())
    rows = db.session.execute(
        sa.select(CareGroup.id, CareGroup.name, CareGroup.track_id, Track.name.label("track_name"),
                  counted.label("total"))
        .join(Track, Track.id == CareGroup.track_id)
        .where(*conditions)
        .order_by(CareGroup.name, CareGroup.id)
        .limit(limit)
    ).all()
    total = int(rows[0].total) if rows else 0
    return GroupMatches(
        term=term, track_id=track_id, limit=limit,
        groups=[GroupChoice(r.id, r.name, r.track_id, r.track_name) for r in rows],
        total=min(total, COUNT_CAP), capped=total > COUNT_CAP,
    )


def track_options() -> list:
    """The tracks a chooser scopes to (id and name, by care level): a handful, one statement."""
    return db.session.execute(sa.select(Track.id, Track.name).order_by(Track.care_level, Track.id)).all()


def group_choice(group_id: int | None) -> GroupChoice | None:
    """The active group ``group_id`` as a chooser shows it (to keep a chosen group offered)."""
    if group_id is None:
        return None
    row = db.session.execute(
        sa.select(CareGroup.id, CareGroup.name, CareGroup.track_id, Track.name.label("track_name"))
        .join(Track, Track.id == CareGroup.track_id)
        .where(CareGroup.id == group_id, CareGroup.active.is_(True))
    ).one_or_none()
    return GroupChoice(row.id, row.name, row.track_id, row.track_name) if row else None


def chosen_group(group_id: int | None, track_id: int | None = None) -> CareGroup:
    """The group a form posted, checked: it exists, is active and, with ``track_id``, is one of
    that track's groups. Raises ``RuleViolation`` with the reason otherwise."""
    group = db.session.get(CareGroup, group_id) if group_id is not None else None
    if group is None:
        raise RuleViolation("That group no longer exists. Choose a group.")
    if not group.active:
        raise RuleViolation(f"{group.name} is no longer active. Choose an active group.")
    if track_id is not None and group.track_id != track_id:
        track = db.session.get(Track, track_id)
        raise RuleViolation(
            f"{group.name} is not a group of {track.name if track else 'the chosen track'}. "
            "Choose one of that track's groups, or choose the groups of all tracks."
        )
    return group


__all__ = [
    "CHOICES",
    "COUNT_CAP",
    "GroupChoice",
    "GroupMatches",
    "chosen_group",
    "clean_term",
    "find_groups",
    "group_choice",
    "track_options",
    "whole_id",
]

"""Calendar feeds: staff subscribe to sessions from their calendar app (iCalendar, RFC 5545).

A feed is a secret address, ``/calendar/<token>.ics``, that a calendar app fetches without
logging in. What it may carry:

- ``staff``: the sessions the owner facilitates (every role);
- ``group``: one group's sessions, ``room``: one room's sessions (planners and admins, who
  plan rooms and groups).

Each event carries the group, the activity, the room, the time and the facilitator, never a
patient. The token is 32 random bytes; only its sha256 is stored, so the address is shown
once, when it is made. The owner turns a feed off or renews it (a new address; the old one
stops at once). A feed also stops when its owner's account is deactivated or, for group and
room feeds, when the owner no longer plans.

Events keep a stable UID per session (``session-<id>@<host>``), so a calendar updates an
event instead of adding a second one; ``SEQUENCE`` is the session's row version, and a
cancelled session is sent as ``STATUS:CANCELLED``. Times are the clinic's wall-clock times:
with ``CLINIC_TIMEZONE`` set they carry that zone (and its VTIMEZONE), otherwise they are
"floating" local times, the same hour wherever the calendar is.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from ..extensions import db
from ..models import Activity, CalendarFeed, CareGroup, GroupSession, StaffUser, Track
from ..models._types import utcnow
from .access import OVERSEEING_ROLES, role_of
from .errors import RuleViolation
from .group_choice import chosen_group
from .logins import hash_token

#: Sessions in a feed: from this long ago ...
PAST = timedelta(days=90)
#: ... to this far ahead.
AHEAD = timedelta(days=400)
#: ``last_fetched_at`` is written at most this often.
TOUCH_EVERY = timedelta(hours=1)
PRODID = "-//Kindness Programme//Clinic sessions//EN"

KIND_WORDS = {"staff": "My sessions", "group": "A group's sessions", "room": "A room's sessions"}


def may_plan_feeds(user) -> bool:
    """Group and room feeds are for those who plan groups and rooms (planners and admins)."""
    return role_of(user) in OVERSEEING_ROLES


# Making, renewing and turning off -----------------------------------------------------------
def create(owner: StaffUser, kind: str, *, group_id: int | None = None, room: str = "",
           group_track_id: int | None = None, commit: bool = True) -> tuple[CalendarFeed, str]:
    """Make a feed for ``owner``; returns it and its token (shown once, never stored).

    ``group_track_id``: the track the page's group choice was scoped to; a group of another
    track (or an inactive one) is then refused (``group_choice.chosen_group``)."""
    room = (room or "").strip()
    if kind == "staff":
        group_id, room = None, ""
    elif kind in ("group", "room"):
        if not may_plan_feeds(owner):
            raise RuleViolation("Group and room feeds are for planners and admins.")
        if kind == "group":
            room = ""
            if group_id is None or db.session.get(CareGroup, group_id) is None:
                raise RuleViolation("Choose a group.")
            if group_track_id is not None:
                chosen_group(group_id, group_track_id)
        else:
            group_id = None
            if room not in rooms():
                raise RuleViolation("Choose a room that sessions use.")
    else:
        raise RuleViolation("Choose what the feed should carry.")
    token = secrets.token_urlsafe(32)
    feed = CalendarFeed(owner_id=owner.id, kind=kind, group_id=group_id, room=room,
                        token_hash=hash_token(token), created_at=utcnow())
    db.session.add(feed)
    if commit:
        db.session.commit()
    return feed, token


def _owned(owner: StaffUser, feed_id: int) -> CalendarFeed:
    feed = db.session.get(CalendarFeed, feed_id)
    if feed is None or feed.owner_id != owner.id:
        raise LookupError("no such feed")
    return feed


def revoke(owner: StaffUser, feed_id: int, *, commit: bool = True) -> CalendarFeed:
    """Turn ``owner``'s feed off: its address stops working at once. Refused when already off."""
    feed = _owned(owner, feed_id)
    if feed.revoked_at is not None:
        raise RuleViolation("This feed was already turned off.")
    feed.revoked_at = utcnow()
    if commit:
        db.session.commit()
    return feed


def renew(owner: StaffUser, feed_id: int) -> tuple[CalendarFeed, str]:
    """Turn the feed off and make the same feed at a new address (after a leak, say)."""
    old = revoke(owner, feed_id, commit=False)
    feed, token = create(owner, old.kind, group_id=old.group_id, room=old.room, commit=False)
    db.session.commit()
    return feed, token


@dataclass(frozen=True)
class FeedLine:
    """One of a person's feeds, as their calendar page lists it."""

    id: int
    kind: str
    subject: str
    created_at: datetime
    last_fetched_at: datetime | None

    @property
    def kind_words(self) -> str:
        return KIND_WORDS[self.kind]


def feeds_of(owner: StaffUser) -> list[FeedLine]:
    """``owner``'s working feeds, oldest first (one statement)."""
    rows = db.session.execute(
        sa.select(CalendarFeed.id, CalendarFeed.kind, CalendarFeed.room, CareGroup.name,
                  CalendarFeed.created_at, CalendarFeed.last_fetched_at)
        .outerjoin(CareGroup, CareGroup.id == CalendarFeed.group_id)
        .where(CalendarFeed.owner_id == owner.id, CalendarFeed.revoked_at.is_(None))
        .order_by(CalendarFeed.id)
    ).all()
    return [FeedLine(r.id, r.kind, {"staff": owner.full_name, "group": r.name, "room": r.room}[r.kind],
                     r.created_at, r.last_fetched_at) for r in rows]


def groups() -> list[tuple[int, str]]:
    """Every active group, by name: what a group feed can follow. Pages offer a search instead
    (``group_choice.find_groups``): a clinic may have thousands."""
    return [tuple(r) for r in db.session.execute(
        sa.select(CareGroup.id, CareGroup.name).where(CareGroup.active.is_(True)).order_by(CareGroup.name))]


def rooms() -> list[str]:
    """Every room that groups or sessions name, sorted (one statement).

    The sessions' rooms are read by skipping from one room to the next through the room
    index (migration 0022): a few index probes per room, however many sessions were ever
    held there, instead of reading the whole session history.
    """
    found = sa.select(sa.func.min(GroupSession.room).label("room")).cte("session_room", recursive=True)
    following = sa.select(
        sa.select(sa.func.min(GroupSession.room)).where(GroupSession.room > found.c.room).scalar_subquery()
    ).where(found.c.room.is_not(None))
    found = found.union_all(following)
    names = db.session.scalars(
        sa.union(sa.select(CareGroup.room), sa.select(found.c.room).where(found.c.room.is_not(None)))
    ).all()
    return sorted({n.strip() for n in names if n and n.strip()}, key=str.casefold)


# Serving -----------------------------------------------------------------------------------
def feed_for_token(token: str) -> CalendarFeed | None:
    """The working feed behind ``token``, or None (unknown, turned off, or no longer allowed)."""
    if not token or len(token) > 100:
        return None
    feed = db.session.scalar(
        sa.select(CalendarFeed).where(CalendarFeed.token_hash == hash_token(token),
                                      CalendarFeed.revoked_at.is_(None))
    )
    if feed is None or not feed.owner.is_active_account:
        return None
    if feed.kind != "staff" and not may_plan_feeds(feed.owner):
        return None
    return feed


def _touch(feed: CalendarFeed, now: datetime) -> None:
    """Note the fetch (at most once an hour; a plain UPDATE: a fetch is not a change to audit)."""
    if feed.last_fetched_at is None or now - feed.last_fetched_at >= TOUCH_EVERY:
        db.session.execute(sa.update(CalendarFeed.__table__)
                           .where(CalendarFeed.__table__.c.id == feed.id)
                           .values(last_fetched_at=now))
        db.session.commit()


def calendar_name(feed: CalendarFeed, clinic_name: str) -> str:
    subject = {"staff": feed.owner.full_name, "group": feed.group.name if feed.group else "",
               "room": feed.room}[feed.kind]
    return f"{clinic_name}: {subject}"


def ical(feed: CalendarFeed, *, host: str, clinic_name: str, zone: str = "",
         today: date | None = None) -> bytes:
    """The feed as an iCalendar file: one statement for the sessions, whatever their number."""
    from icalendar import Calendar, Event

    today = today or date.today()
    start = datetime.combine(today - PAST, datetime.min.time())
    end = datetime.combine(today + AHEAD, datetime.min.time())
    facilitator = aliased(StaffUser)
    query = (
        sa.select(GroupSession.id, GroupSession.starts_at, GroupSession.duration_minutes, GroupSession.room,
                  GroupSession.status, GroupSession.version, CareGroup.name.label("group_name"),
                  Activity.name.label("activity_name"), Track.name.label("track_name"),
                  facilitator.full_name.label("facilitator_name"))
        .join(CareGroup, CareGroup.id == GroupSession.group_id)
        .join(Track, Track.id == CareGroup.track_id)
        .outerjoin(Activity, Activity.id == GroupSession.activity_id)
        .outerjoin(facilitator, facilitator.id == GroupSession.facilitator_id)
        .where(GroupSession.starts_at >= start, GroupSession.starts_at < end)
        .order_by(GroupSession.starts_at, GroupSession.id)
    )
    if feed.kind == "staff":
        query = query.where(GroupSession.facilitator_id == feed.owner_id)
    elif feed.kind == "group":
        query = query.where(GroupSession.group_id == feed.group_id)
    else:
        query = query.where(sa.func.lower(sa.func.trim(GroupSession.room)) == feed.room.strip().lower())
    rows = db.session.execute(query).all()

    tz = None
    if zone:
        from zoneinfo import ZoneInfo

        tz = ZoneInfo(zone)
    now = datetime.now(timezone.utc)
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", calendar_name(feed, clinic_name))
    if zone:
        cal.add("x-wr-timezone", zone)
    for row in rows:
        event = Event()
        event.add("uid", f"session-{row.id}@{host}")
        event.add("dtstamp", now)
        begins = row.starts_at if tz is None else row.starts_at.replace(tzinfo=tz)
        event.add("dtstart", begins)
        event.add("dtend", begins + timedelta(minutes=row.duration_minutes))
        what = row.activity_name or "Group session"
        event.add("summary", f"{row.group_name}: {what}")
        if row.room:
            event.add("location", row.room)
        lines = [f"Group: {row.group_name} ({row.track_name})", f"Activity: {what}"]
        if row.facilitator_name:
            lines.append(f"Facilitator: {row.facilitator_name}")
        event.add("description", "\n".join(lines))
        event.add("sequence", row.version)
        event.add("status", "CANCELLED" if row.status == "cancelled" else "CONFIRMED")
        event.add("transp", "TRANSPARENT" if row.status == "cancelled" else "OPAQUE")
        cal.add_component(event)
    if tz is not None:
        cal.add_missing_timezones()
    _touch(feed, utcnow())
    return cal.to_ical()


__all__ = [
    "AHEAD", "FeedLine", "KIND_WORDS", "PAST", "calendar_name", "create", "feed_for_token", "feeds_of", "groups", "ical",
    "may_plan_feeds", "renew", "revoke", "rooms",
]

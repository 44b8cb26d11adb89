"""Calendar feeds: the "Calendar feeds" page (make, renew, turn off) and the feed address itself.

The page is under the role table like every admin page; the feed address
(``/calendar/<token>.ics``) needs no login, since calendar apps cannot log in: the secret
token is the key, and the service decides what it may still show
(``services/calendar_feeds``).
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, flash, jsonify, redirect, request, url_for
from flask_admin import expose
from flask_login import current_user

from ..extensions import db
from ..services import calendar_feeds, group_choice
from ..services.access import allowed, role_of
from ..services.errors import RuleViolation
from .base import SecureBaseView

public = Blueprint("calendar_feed", __name__)


@public.route("/calendar/<token>.ics")
def feed(token: str):
    """The iCalendar file behind a feed address; 404 for an unknown or turned-off address."""
    found = calendar_feeds.feed_for_token(token)
    if found is None:
        abort(404)
    body = calendar_feeds.ical(found, host=request.host.split(":")[0] or "clinic",
                               clinic_name=current_app.config["CLINIC_NAME"],
                               zone=current_app.config.get("CLINIC_TIMEZONE", ""))
    response = Response(body, mimetype="text/calendar")
    response.headers["Content-Disposition"] = 'inline; filename="sessions.ics"'
    return response


def _whole(value) -> int | None:
    text = (value or "").strip()
    return int(text) if text.isdigit() and len(text) < 10 else None


class CalendarView(SecureBaseView):
    """A person's calendar feeds: their own sessions, and (planners) a group's or a room's."""

    permission_key = "calendar"

    def is_visible(self) -> bool:
        return False  # reached from the top bar, beside two-factor sign-in, like an account page

    def _page(self, made=None, status: int = 200, message: str = ""):
        planner = calendar_feeds.may_plan_feeds(current_user)
        matches, tracks = None, []
        if planner:
            # Never every group of the clinic: the first few a search finds (``?group_q=``,
            # ``?group_track=``: the "Find groups" button without JavaScript).
            source = request.form if request.method == "POST" else request.args
            matches = group_choice.find_groups(source.get("group_q", ""),
                                               group_choice.whole_id(source.get("group_track")))
            tracks = group_choice.track_options()
        page = self.render(
            "admin/calendar/index.html", feeds=calendar_feeds.feeds_of(current_user), planner=planner,
            group_matches=matches, tracks=tracks, rooms=calendar_feeds.rooms() if planner else [], made=made,
            message=message, past_days=calendar_feeds.PAST.days, ahead_days=calendar_feeds.AHEAD.days,
        )
        return page, status

    def _made(self, feed, token: str):
        """The page with the new address shown once (never flashed, never in a URL)."""
        url = url_for("calendar_feed.feed", token=token, _external=True)
        return self._page(made={"url": url, "kind": calendar_feeds.KIND_WORDS[feed.kind]})

    @expose("/")
    def index(self):
        return self._page()

    @expose("/groups/")
    def groups(self):
        """The group type-ahead of the group feed form (planners and admins): at most
        ``group_choice.CHOICES`` active groups whose name contains ``?q=``, of ``?track=``."""
        if not calendar_feeds.may_plan_feeds(current_user):
            abort(403)
        matches = group_choice.find_groups(request.args.get("q", ""), group_choice.whole_id(request.args.get("track")))
        response = jsonify(matches.as_json())
        response.headers["Cache-Control"] = "no-store"
        return response

    @expose("/new/", methods=("POST",))
    def new(self):
        if not allowed(self.permission_key, role_of(current_user), "c"):
            abort(403)
        kind = request.form.get("kind", "")
        try:
            feed, token = calendar_feeds.create(current_user, kind, group_id=_whole(request.form.get("group_id")),
                                                room=request.form.get("room", "")[:40],
                                                group_track_id=group_choice.whole_id(request.form.get("group_track")))
        except RuleViolation as exc:
            db.session.rollback()
            return self._page(status=400, message=str(exc))
        return self._made(feed, token)

    @expose("/renew/", methods=("POST",))
    def renew(self):
        feed_id = _whole(request.form.get("feed_id"))
        try:
            feed, token = calendar_feeds.renew(current_user, feed_id if feed_id is not None else -1)
        except LookupError:
            abort(404)
        except RuleViolation as exc:
            db.session.rollback()
            return self._page(status=409, message=str(exc))
        return self._made(feed, token)

    @expose("/off/", methods=("POST",))
    def off(self):
        feed_id = _whole(request.form.get("feed_id"))
        try:
            calendar_feeds.revoke(current_user, feed_id if feed_id is not None else -1)
        except LookupError:
            abort(404)
        except RuleViolation as exc:
            db.session.rollback()
            return self._page(status=409, message=str(exc))
        flash("The feed is turned off: calendars subscribed to it get no more updates.", "success")
        return redirect(url_for(".index"))


def register(admin) -> None:
    """Add "Calendar feeds" to the menu and the feed address to the app."""
    admin.add_view(CalendarView(name="Calendar feeds", endpoint="calendar", url="calendar"))
    admin.app.register_blueprint(public)

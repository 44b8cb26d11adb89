"""Admin → Active sign-ins: who is logged in where, and ending someone's logins."""

from __future__ import annotations

from flask import abort, current_app, flash, g, redirect, request, url_for
from flask_admin import expose
from flask_login import current_user

from ..extensions import db
from ..models import StaffUser
from ..services import logins
from ..services.access import allowed, role_of
from .base import SecureBaseView


class SignInsView(SecureBaseView):
    """Open login sessions per staff member (no patient data); admins can end them."""

    permission_key = "staff"

    @expose("/")
    def index(self):
        rows = logins.active(current_app.config)
        by_user: dict[int, list] = {}
        for row in rows:
            by_user.setdefault(row.staff_id, []).append(row)
        people = sorted(
            ((rows_[0].staff, rows_) for rows_ in by_user.values()), key=lambda pair: pair[0].full_name
        )
        return self.render("admin/signins.html", people=people,
                           current_session_id=g.get("login_session_id"))

    @expose("/end/", methods=("POST",))
    def end(self):
        """End every login of one account at once (on every app server)."""
        if not allowed(self.permission_key, role_of(current_user), "e"):
            abort(403)
        try:
            staff_id = int(request.form.get("staff_id", ""))
        except ValueError:
            abort(404)
        user = db.session.get(StaffUser, staff_id)
        if user is None:
            abort(404)
        ended = logins.end_all(user, "ended_by_admin")
        db.session.commit()
        flash(f"Ended {ended} sign-in{'s' if ended != 1 else ''} of this account.", "success")
        if request.form.get("back") == "details":
            return redirect(url_for("staff.details_view", id=staff_id))
        return redirect(url_for(".index"))


def register(admin) -> None:
    """Add Admin → Active sign-ins."""
    admin.add_view(SignInsView(name="Active sign-ins", category="Admin", endpoint="signins", url="signins"))

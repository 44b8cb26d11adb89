"""Staff login and logout."""

from __future__ import annotations

from flask import Blueprint, Flask, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from sqlalchemy.exc import SQLAlchemyError
from wtforms import EmailField, PasswordField, SubmitField
from wtforms.validators import DataRequired, Length

from ..extensions import db, login_manager
from ..input_limits import no_nul
from ..models import StaffUser
from ..safe_urls import safe_next
from ..services import accounts, audit, logins

bp = Blueprint("auth", __name__)


class LoginForm(FlaskForm):
    """E-mail and password."""

    email = EmailField("E-mail", validators=[DataRequired(), Length(max=254), no_nul])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=512), no_nul])
    submit = SubmitField("Log in")


@login_manager.user_loader
def _load_user(token: str) -> StaffUser | None:
    """Resolve the cookie's token to the user of an open login session.

    When the database fails, the error goes on as usual once; asked again in the same
    request (the error page) the visitor counts as logged out, so the page still renders.
    """
    if g.get("_login_lookup_failed"):
        return None
    try:
        found = logins.resolve(token, current_app.config)
    except SQLAlchemyError:
        g._login_lookup_failed = True
        raise
    if found is None:
        return None
    g.login_session_id = found.id
    return found.user


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Show the login form and log a staff member in."""
    if current_user.is_authenticated:
        return redirect(url_for("admin.index"))
    form = LoginForm()
    message = None
    if form.validate_on_submit():
        address = request.remote_addr or ""
        result = accounts.authenticate(form.email.data, form.password.data, address, current_app.config)
        if result.user is not None:
            token = logins.start(result.user, address, request.headers.get("User-Agent", ""))
            db.session.commit()
            session.clear()
            session.permanent = True
            login_user(result.user)
            # The cookie names the login session, never the account.
            session["_user_id"] = token
            return redirect(safe_next(request.args.get("next")) or url_for("admin.index"))
        message = result.message
    elif form.is_submitted() and _malformed(form):
        _audit_malformed_login(form.email.data)
        return render_template("auth/login.html", form=form, message=None), 400
    status = 200 if message is None else 401
    return render_template("auth/login.html", form=form, message=message), status


def _malformed(form: LoginForm) -> bool:
    """True when a typed value was refused for its content (a NUL byte, over-long), not for being blank."""
    values = [form.email.data or "", form.password.data or ""]
    return any("\x00" in value for value in values) or len(values[0]) > 254 or len(values[1]) > 512


def _audit_malformed_login(email) -> None:
    """Audit a login refused at the form (a NUL byte, an over-long value) as a failed login."""
    text = (email or "") if isinstance(email, str) else ""
    audit.record("failed_login", actor_email=text.replace("\x00", "")[:254].lower(),
                 ip_address=request.remote_addr or "", changes={"reason": "malformed"})
    db.session.commit()


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    """Log out (POST only, so a link on another site cannot do it); the session ends everywhere."""
    audit.record("logout", actor=current_user._get_current_object())
    logins.end(session.get("_user_id", ""), "logout")
    db.session.commit()
    logout_user()
    session.clear()
    flash("You are logged out.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/keepalive", methods=["POST"])
@login_required
def keepalive():
    """Keep the login alive while someone is typing on a page (called by the page's script).

    Loading the user refreshed the session's last-seen time; nothing extends its maximum length.
    """
    session.modified = True
    return ("", 204)


@bp.route("/")
def home():
    """Send people to the programme (or to the login page)."""
    return redirect(url_for("admin.index"))


def init_app(app: Flask) -> None:
    """Register the login pages and Flask-Login's settings."""
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please log in to continue."
    login_manager.login_message_category = "info"
    login_manager.session_protection = "strong"
    app.register_blueprint(bp)

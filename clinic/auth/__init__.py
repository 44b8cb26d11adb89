"""Staff login and logout."""

from __future__ import annotations

from flask import Blueprint, Flask, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SubmitField
from wtforms.validators import DataRequired, Length

from ..extensions import db, login_manager
from ..input_limits import no_nul
from ..models import StaffUser
from ..safe_urls import safe_next
from ..services import accounts, audit

bp = Blueprint("auth", __name__)


class LoginForm(FlaskForm):
    """E-mail and password."""

    email = EmailField("E-mail", validators=[DataRequired(), Length(max=254), no_nul])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=512), no_nul])
    submit = SubmitField("Log in")


@login_manager.user_loader
def _load_user(user_id: str) -> StaffUser | None:
    try:
        user = db.session.get(StaffUser, int(user_id))
    except (TypeError, ValueError):
        return None
    return user if user is not None and user.is_active else None


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Show the login form and log a staff member in."""
    if current_user.is_authenticated:
        return redirect(url_for("admin.index"))
    form = LoginForm()
    message = None
    if form.validate_on_submit():
        result = accounts.authenticate(
            form.email.data, form.password.data, request.remote_addr or "", current_app.config
        )
        if result.user is not None:
            session.clear()
            session.permanent = True
            login_user(result.user)
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
    """Log out (POST only, so a link on another site cannot do it)."""
    audit.record("logout", actor=current_user._get_current_object())
    db.session.commit()
    logout_user()
    session.clear()
    flash("You are logged out.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/keepalive", methods=["POST"])
@login_required
def keepalive():
    """Keep the login alive while someone is typing on a page (called by the page's script)."""
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

"""Staff login and logout."""

from __future__ import annotations

import time

from flask import Blueprint, Flask, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from sqlalchemy.exc import SQLAlchemyError
from wtforms import EmailField, PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, Length

from ..extensions import db, login_manager
from ..input_limits import no_nul
from ..models import StaffUser
from ..safe_urls import safe_next
from ..services import accounts, audit, logins, two_factor
from ..services.errors import RuleViolation

bp = Blueprint("auth", __name__)


class LoginForm(FlaskForm):
    """E-mail and password."""

    email = EmailField("E-mail", validators=[DataRequired(), Length(max=254), no_nul])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=512), no_nul])
    submit = SubmitField("Log in")


class CodeForm(FlaskForm):
    """A 6-digit code from the authenticator app, or a recovery code."""

    code = StringField("Code", validators=[DataRequired(), Length(max=32), no_nul])
    submit = SubmitField("Continue")


#: Between the password and the code: only this marker, never a login.
PENDING_KEY = "two_factor_pending"
PENDING_SECONDS = 5 * 60


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
    """Show the login form and check the password; the login starts now, or after the code step."""
    if current_user.is_authenticated:
        return redirect(url_for("admin.index"))
    form = LoginForm()
    message = None
    if form.validate_on_submit():
        address = request.remote_addr or ""
        result = accounts.authenticate(form.email.data, form.password.data, address, current_app.config)
        if result.user is not None:
            next_url = safe_next(request.args.get("next")) or url_for("admin.index")
            user = result.user
            if user.two_factor_enabled or two_factor.required_for(user, current_app.config):
                _set_pending(user, next_url)
                if user.two_factor_enabled:
                    return redirect(url_for("auth.two_factor_code"))
                return redirect(url_for("auth.two_factor_enrol"))
            _start_login(user)
            return redirect(next_url)
        message = result.message
    elif form.is_submitted() and _malformed(form):
        _audit_malformed_login(form.email.data)
        return render_template("auth/login.html", form=form, message=None), 400
    status = 200 if message is None else 401
    return render_template("auth/login.html", form=form, message=message), status


def _start_login(user: StaffUser) -> None:
    """Open the login session and put its token in a fresh cookie session."""
    token = logins.start(user, request.remote_addr or "", request.headers.get("User-Agent", ""))
    db.session.commit()
    session.clear()
    session.permanent = True
    login_user(user)
    # The cookie names the login session, never the account.
    session["_user_id"] = token


def _set_pending(user: StaffUser, next_url: str) -> None:
    """Remember, for five minutes, that this browser gave ``user``'s password (no login yet)."""
    session.clear()
    session[PENDING_KEY] = {"uid": user.id, "until": time.time() + PENDING_SECONDS, "next": next_url}


def _pending_user() -> tuple[StaffUser | None, str]:
    """The user waiting for the second step and where to go after it, or (None, "")."""
    pending = session.get(PENDING_KEY)
    if not isinstance(pending, dict) or not isinstance(pending.get("until"), (int, float)) \
            or pending["until"] < time.time() or not isinstance(pending.get("uid"), int):
        session.pop(PENDING_KEY, None)
        return None, ""
    user = db.session.get(StaffUser, pending["uid"])
    if user is None or not user.is_active:
        session.pop(PENDING_KEY, None)
        return None, ""
    return user, safe_next(pending.get("next")) or url_for("admin.index")


def _start_over(message: str = "Please log in again."):
    session.pop(PENDING_KEY, None)
    flash(message, "error")
    return redirect(url_for("auth.login"))


def _no_store(response):
    response = current_app.make_response(response)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/login/code", methods=["GET", "POST"])
def two_factor_code():
    """Second step: the code from the authenticator app (or a recovery code)."""
    user, next_url = _pending_user()
    if user is None or not user.two_factor_enabled:
        return _start_over()
    form = CodeForm()
    message = None
    if form.validate_on_submit():
        result = two_factor.check_code(user.id, form.code.data, request.remote_addr or "", current_app.config)
        if result.user is not None:
            _start_login(result.user)
            return redirect(next_url)
        if result.start_over:
            return _start_over(result.message)
        message = result.message
    status = 200 if message is None else 401
    return render_template("auth/two_factor_code.html", form=form, message=message), status


@bp.route("/login/enrol", methods=["GET", "POST"])
def two_factor_enrol():
    """Enrolment required at sign-in: scan, confirm with a code, then the login starts."""
    user, next_url = _pending_user()
    if user is None or user.two_factor_enabled:
        return _start_over()
    return _enrol(user, next_url, start_login=True)


@bp.route("/account/two-factor", methods=["GET", "POST"])
@login_required
def two_factor_settings():
    """The "Two-factor sign-in" page: its state, or enrolment for those not yet enrolled."""
    user = current_user._get_current_object()
    if user.two_factor_enabled:
        return render_template("auth/two_factor_status.html",
                               remaining=two_factor.remaining_recovery_codes(user),
                               enabled_at=user.totp_enabled_at)
    return _enrol(user, url_for("admin.index"), start_login=False)


def _enrol(user: StaffUser, next_url: str, *, start_login: bool):
    form = CodeForm()
    message = None
    if form.validate_on_submit():
        try:
            codes = two_factor.confirm_enrolment(user, form.code.data, request.remote_addr or "")
        except RuleViolation as exc:
            message = str(exc)
        else:
            if start_login:
                _start_login(user)
            return _no_store(render_template("auth/recovery_codes.html", codes=codes, next_url=next_url))
    secret = two_factor.pending_secret(user)
    uri = two_factor.provisioning_uri(user, secret, current_app.config["CLINIC_NAME"])
    page = render_template("auth/two_factor_enrol.html", form=form, message=message, secret=secret,
                           qr=two_factor.qr_data_uri(uri), required=start_login)
    return _no_store((page, 200 if message is None else 400))


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

"""The clinic kindness programme manager."""

from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask, request
from flask_login import current_user
from sqlalchemy import event
from sqlalchemy.engine import Engine

from .config import load_config
from .extensions import csrf, db, login_manager, migrate

ROOT = Path(__file__).resolve().parent.parent

#: No inline script or style, nothing from another origin, no framing (scripts and styles
#: live in ``static/``; Flask-Admin's inline handlers are replaced, see static/js/admin_csp.js).
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
OUT_OF_RANGE_MESSAGE = "A value is out of range (a number too large or a date too far away). Nothing was changed."
TOO_LARGE_MESSAGE = "The request is too large. Nothing was saved."
BAD_REQUEST_MESSAGE = "The request could not be understood. Nothing was changed."


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record) -> None:
    """Turn on foreign keys and a busy timeout for every SQLite connection."""
    module = type(dbapi_connection).__module__
    if module.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.close()


def create_app(test_config: dict | None = None) -> Flask:
    """Create and configure the application."""
    app = Flask(
        __name__,
        instance_relative_config=True,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    environ = None
    if test_config and "ENVIRON" in test_config:
        environ = test_config.pop("ENVIRON")
    app.config.update(load_config(app.instance_path, environ))
    if test_config:
        app.config.update(test_config)

    proxies = app.config.get("CLINIC_TRUSTED_PROXIES", 0)
    if proxies:
        from werkzeug.middleware.proxy_fix import ProxyFix

        # Only the last ``proxies`` hops are believed: an address a client writes itself is not.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=0, x_port=0, x_prefix=0)

    from . import models  # noqa: F401  (registers the tables)

    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    login_manager.init_app(app)
    from .i18n import init_app as init_i18n

    init_i18n(app)

    from .auth import init_app as init_auth
    from .admin import init_app as init_admin
    from .cli import init_app as init_cli
    from .services import audit

    init_auth(app)
    init_admin(app)
    init_cli(app)
    from .jobs import init_app as init_jobs

    init_jobs(app)

    def _actor():
        from flask import has_request_context

        if not has_request_context():
            return None
        address = request.remote_addr or ""
        if current_user and current_user.is_authenticated:
            return (current_user.id, current_user.email, address)
        return (None, "anonymous", address)

    audit.set_actor_provider(_actor)

    from .input_limits import InputRefused, check_request

    app.before_request(check_request)

    @app.after_request
    def _security_headers(response):
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if app.config.get("CLINIC_ENV") == "production":
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        if not request.path.startswith("/static/") and "/static/" not in request.path:
            # Patient data must not stay in browser or proxy caches.
            response.headers["Cache-Control"] = "no-store"
        return response

    @app.errorhandler(500)
    def _server_error(error):
        from flask import render_template

        return render_template("errors/500.html"), 500

    from flask_wtf.csrf import CSRFError

    @app.errorhandler(CSRFError)
    def _csrf_error(error):
        from flask import render_template

        return render_template("errors/form_expired.html"), 400

    @app.errorhandler(InputRefused)
    def _input_refused(error):
        from flask import render_template

        db.session.rollback()
        if error.status == 404:
            return render_template("errors/404.html"), 404
        return render_template("errors/400.html", message=error.message), 400

    from sqlalchemy.exc import DataError, StatementError

    @app.errorhandler(StatementError)
    def _statement_error(error):
        # A typed value SQLAlchemy cannot bind (say an unknown enum value in a list filter)
        # is the visitor's input; anything else stays a server fault.
        if isinstance(error, DataError) or isinstance(error.orig, (LookupError, ValueError, TypeError, OverflowError)):
            return _out_of_range(error)
        raise error

    @app.errorhandler(OverflowError)
    def _out_of_range(error):
        # A last line behind the edge checks: a value the database or date arithmetic
        # cannot hold is the visitor's input, not a server fault.
        from flask import render_template

        db.session.rollback()
        app.logger.warning("Refused out-of-range input on %s: %s", request.endpoint, type(error).__name__)
        return render_template("errors/400.html", message=OUT_OF_RANGE_MESSAGE), 400

    @app.errorhandler(413)
    def _too_large(error):
        from flask import render_template

        return render_template("errors/400.html", message=TOO_LARGE_MESSAGE), 413

    @app.errorhandler(400)
    def _bad_request(error):
        from flask import render_template

        return render_template("errors/400.html", message=BAD_REQUEST_MESSAGE), 400

    @app.errorhandler(403)
    def _forbidden(error):
        from flask import render_template

        return render_template("errors/403.html"), 403

    @app.errorhandler(404)
    def _not_found(error):
        from flask import render_template

        return render_template("errors/404.html"), 404

    logging.getLogger("sqlalchemy.engine").setLevel(logging.WARNING)
    return app

"""The secure base views every admin page is built on."""

from __future__ import annotations

import logging

from flask import abort, flash, g, has_request_context, redirect, request, url_for
from flask_admin import AdminIndexView, BaseView, expose
from flask_admin.contrib.sqla import ModelView
from flask_login import current_user
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm.exc import StaleDataError
from wtforms import HiddenField

from ..extensions import db
from ..services.access import allowed

log = logging.getLogger(__name__)

STALE_MESSAGE = (
    "Someone else saved this record after you opened it. Your changes were not saved "
    "and are still in the form: reload the record in another tab, compare, and apply them again."
)
DB_ERROR_MESSAGE = (
    "The record could not be saved because it conflicts with other data "
    "(for example a duplicate, a missing link or a value out of range). Nothing was changed."
)


def _role() -> str | None:
    if has_request_context() and current_user and current_user.is_authenticated:
        return current_user.role
    return None


class SecureMixin:
    """Access checks shared by model views and plain views.

    Every view declares a ``permission_key``; the role table decides the rest.
    Anonymous visitors are sent to the login page, logged-in staff without the
    right get 403.
    """

    permission_key: str = ""

    def is_accessible(self) -> bool:
        return allowed(self.permission_key, _role(), "r")

    def is_visible(self) -> bool:
        return self.is_accessible()

    def inaccessible_callback(self, name, **kwargs):
        if not (current_user and current_user.is_authenticated):
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        abort(403)


class SecureModelView(SecureMixin, ModelView):
    """A model view whose rights follow the role table, with row scoping and stale-save checks."""

    page_size = 20
    page_size_options = (20, 50, 100)
    can_set_page_size = True
    can_view_details = True
    can_export = False  # CSV exports leave the audit trail and invite formula injection
    column_display_pk = False
    create_modal = False
    edit_modal = False
    list_template = "admin/clinic_list.html"
    form_excluded_columns = ("version",)
    column_exclude_list = ("version",)
    column_details_exclude_list = ("version",)

    def __init__(self, model, session, **kwargs):
        super().__init__(model, session, **kwargs)

    def scaffold_form(self):
        """Every edit form carries the row version it was opened with."""
        form_class = super().scaffold_form()
        form_class.row_version = HiddenField()
        return form_class

    # Rights -------------------------------------------------------------
    @property
    def can_create(self) -> bool:  # type: ignore[override]
        return allowed(self.permission_key, _role(), "c")

    @can_create.setter
    def can_create(self, value) -> None:
        pass

    @property
    def can_edit(self) -> bool:  # type: ignore[override]
        return allowed(self.permission_key, _role(), "e")

    @can_edit.setter
    def can_edit(self, value) -> None:
        pass

    @property
    def can_delete(self) -> bool:  # type: ignore[override]
        return allowed(self.permission_key, _role(), "d")

    @can_delete.setter
    def can_delete(self, value) -> None:
        pass

    # Row scoping: list, count and single-record loads all pass through scope_query.
    def scope_query(self, query):
        """Narrow ``query`` to the rows the current user may see (all, by default)."""
        return query

    def get_query(self):
        return self.scope_query(super().get_query())

    def get_count_query(self):
        return self.scope_query(super().get_count_query())

    def get_one(self, id):
        pk = self.model.__mapper__.primary_key[0]
        try:
            value = pk.type.python_type(id)
        except (TypeError, ValueError):
            return None
        return self.get_query().filter(pk == value).one_or_none()

    # Searches: the typed term travels in a POST and lives on the server; URLs carry a token.
    @expose("/search/", methods=("POST",))
    def search_view(self):
        """Turn a typed search into a token and show the list for it."""
        from ..services import searches

        term = (request.form.get("search") or "").strip()
        args = {}
        for key in ("sort", "desc", "page_size"):
            if request.form.get(key):
                args[key] = request.form[key]
        for key, value in request.form.items(multi=True):
            if key.startswith("flt"):
                args[key] = value
        if term:
            args["q"] = searches.save(current_user.id, term)
        return redirect(self.get_url(".index_view", **args))

    def _get_list_extra_args(self):
        from ..services import searches

        view_args = super()._get_list_extra_args()
        token = request.args.get("q")
        if token:
            term = searches.lookup(current_user.id, token)
            if term is None:
                flash("That search has expired; please search again.", "info")
            else:
                view_args.search = term
                g.clinic_search_token = token
        return view_args

    def _get_list_url(self, view_args):
        from ..services import searches

        if not view_args.search:
            return super()._get_list_url(view_args)
        token = getattr(g, "clinic_search_token", None)
        if token is None:
            # A term that came in the URL itself: swap it for a token once per request.
            token = g.clinic_search_token = searches.token_for(current_user.id, view_args.search)
        extra = dict(view_args.extra_args)
        extra["q"] = token
        return super()._get_list_url(view_args.clone(search=None, extra_args=extra))

    # Errors -------------------------------------------------------------
    def handle_view_exception(self, exc: Exception) -> bool:
        if isinstance(exc, StaleDataError):
            flash(STALE_MESSAGE, "error")
            return True
        if isinstance(exc, SQLAlchemyError):
            # Neither SQL nor values reach the page, the session cookie or the log.
            log.warning("Database refused a save on %s: %s", self.permission_key, type(exc).__name__)
            flash(DB_ERROR_MESSAGE, "error")
            return True
        return super().handle_view_exception(exc)

    # Stale saves ---------------------------------------------------------
    def edit_form(self, obj=None):
        form = super().edit_form(obj)
        if request.method == "GET" and obj is not None and hasattr(form, "row_version"):
            form.row_version.data = str(obj.version)
        return form

    def update_model(self, form, model) -> bool:
        submitted = getattr(getattr(form, "row_version", None), "data", None)
        if submitted and submitted != str(model.version):
            flash(STALE_MESSAGE, "error")
            return False
        return super().update_model(form, model)


class SecureIndexView(AdminIndexView):
    """The home page: open to every logged-in member of staff, to no one else."""

    def is_accessible(self) -> bool:
        return _role() is not None

    def inaccessible_callback(self, name, **kwargs):
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))

    @expose("/")
    def index(self):
        from .dashboard import dashboard_context

        return self.render("admin/clinic_index.html", **dashboard_context(current_user))


class SecureBaseView(SecureMixin, BaseView):
    """A plain admin page (not a model list) under the same role table."""

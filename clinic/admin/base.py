"""The secure base views every admin page is built on."""

from __future__ import annotations

import logging

from flask import abort, flash, g, has_request_context, make_response, redirect, render_template, request, url_for
import flask_admin.actions
import flask_admin.helpers
import flask_admin.model.base
from flask_admin import AdminIndexView, BaseView, expose
from flask_admin.actions import action
from flask_admin.babel import lazy_gettext
from flask_admin.contrib.sqla import ModelView
from flask_admin.contrib.sqla.tools import parse_like_term
from flask_admin.model.template import DeleteRowAction
from flask_login import current_user
import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.exc import StaleDataError
from wtforms import HiddenField

from ..extensions import db
from ..input_limits import NUL_MESSAGE
from ..safe_urls import is_safe_url, safe_redirect_target
from ..services.locking import STALE_MESSAGE
from ..services.access import allowed, may_see_patient, role_of, sees_everyone
from ..services.errors import RuleViolation
from . import paging

log = logging.getLogger(__name__)

DB_ERROR_MESSAGE = (
    "The record could not be saved because it conflicts with other data "
    "(for example a duplicate, a missing link or a value out of range). Nothing was changed."
)

# Flask-Admin follows any ``url`` argument its own check lets through (``http:host`` and
# friends pass it): every model view (details, edit, new, delete, export, bulk actions)
# now uses the one site-path check the login page uses.
flask_admin.model.base.get_redirect_target = safe_redirect_target
flask_admin.actions.get_redirect_target = safe_redirect_target
flask_admin.helpers.get_redirect_target = safe_redirect_target
flask_admin.helpers.is_safe_url = is_safe_url

# Staff read clinic words, not Flask-Admin's generic ones ("Patient added.", "All patients").
from . import words  # noqa: E402

words.install()


def _role() -> str | None:
    return role_of(current_user) if has_request_context() else None


def id_arg(name: str) -> int:
    """The whole number in ``?name=``; anything else (or one too long for the database) is a 404."""
    raw = request.args.get(name, "").strip()
    if not raw.isdigit() or len(raw) > 18:
        abort(404)
    return int(raw)


def visible_patient(patient_id: int):
    """The patient with ``patient_id`` if the signed-in user may see them; otherwise a 404, the
    same answer as a missing id, so that nothing is learnt about other caseloads."""
    from ..models import Patient

    patient = db.session.get(Patient, patient_id)
    if patient is None or not may_see_patient(current_user, patient.id):
        abort(404)
    return patient


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
    """A model view whose rights follow the role table and whose every write is a service call.

    A view changes nothing itself: ``create_record``, ``update_record`` and
    ``delete_record`` hand the form's values to a function in ``clinic.services`` that
    enforces the rules (and, for updates, the row version the form was opened with).
    A view that does not override one of them cannot do that operation, whatever the
    role table says. A refusal is shown at the field (or at the top) and nothing changes.
    """

    page_size = 20
    page_size_options = (20, 50, 100)
    can_set_page_size = True
    can_view_details = True
    can_export = False  # CSV exports leave the audit trail and invite formula injection
    column_display_pk = False
    create_modal = False
    edit_modal = False
    fast_mass_delete = False  # bulk delete goes row by row through delete_record
    column_editable_list = ()  # no in-list editing: ajax_update is closed below
    list_template = "admin/clinic_list.html"
    create_template = "admin/clinic_create.html"
    edit_template = "admin/clinic_edit.html"
    form_excluded_columns = ("version",)
    column_exclude_list = ("version",)
    column_details_exclude_list = ("version",)
    #: Fields of the create and edit forms when they differ from ``form_columns``.
    form_create_columns: tuple[str, ...] | None = None
    form_edit_columns: tuple[str, ...] | None = None

    def scaffold_form(self):
        """Every edit form carries the row version it was opened with."""
        form_class = super().scaffold_form()
        form_class.row_version = HiddenField()
        return form_class

    def _form_with(self, columns):
        if columns is None:
            return self.get_form()
        saved = self.form_columns
        self.form_columns = columns
        try:
            return self.get_form()
        finally:
            self.form_columns = saved

    def get_create_form(self):
        return self._form_with(self.form_create_columns)

    def get_edit_form(self):
        return self._form_with(self.form_edit_columns)

    def validate_form(self, form) -> bool:
        """Validate a submitted form; a NUL byte in any field is refused at that field."""
        valid = super().validate_form(form)
        if request.method != "POST":
            return valid
        for field in form:
            if isinstance(field.data, str) and "\x00" in field.data:
                field.errors = [*field.errors, NUL_MESSAGE]
                valid = False
        return valid

    # The services --------------------------------------------------------
    def create_record(self, values: dict):
        """Create a record from the form's values through a service; return it (no commit)."""
        raise NotImplementedError

    def update_record(self, model, values: dict, version):
        """Change ``model`` through a service, checking ``version``; no commit."""
        raise NotImplementedError

    def delete_record(self, model) -> None:
        """Remove ``model`` through a service; no commit."""
        raise NotImplementedError

    # Words ----------------------------------------------------------------
    @property
    def thing(self) -> str:
        """The kind of record this view shows, singular ("patient")."""
        return words.things_of(self)[0]

    @property
    def things(self) -> str:
        """The kind of record this view shows, plural ("patients")."""
        return words.things_of(self)[1]

    def get_list_row_actions(self):
        """View and Edit on each row; Delete is on the edit page, away from View."""
        return [a for a in super().get_list_row_actions() if not isinstance(a, DeleteRowAction)]

    def _offers(self, name: str) -> bool:
        return getattr(type(self), name) is not getattr(SecureModelView, name)

    # Rights -------------------------------------------------------------
    @property
    def can_create(self) -> bool:  # type: ignore[override]
        return self._offers("create_record") and allowed(self.permission_key, _role(), "c")

    @can_create.setter
    def can_create(self, value) -> None:
        pass

    @property
    def can_edit(self) -> bool:  # type: ignore[override]
        return self._offers("update_record") and allowed(self.permission_key, _role(), "e")

    @can_edit.setter
    def can_edit(self, value) -> None:
        pass

    @property
    def can_delete(self) -> bool:  # type: ignore[override]
        return self._offers("delete_record") and allowed(self.permission_key, _role(), "d")

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

    def render(self, template, **kwargs):
        """Every page of the view also knows what to say about a capped list (``paging``)."""
        kwargs.setdefault("list_note", paging.list_note())
        return super().render(template, **kwargs)

    def get_list(self, page, sort_column, sort_desc, search, filters, execute=True, page_size=None):
        """Flask-Admin's list query with a look-ahead count and no page past the cap (see ``paging``).

        Search and filters narrow both queries before the sort and the page are applied;
        the count reads at most the next ``paging.PAGES_AHEAD`` pages' rows (never more than
        ``paging.COUNT_CAP``), and a page starting past the cap is not read at all (its note
        says how to reach those rows).

        A search over several tables (a check-in's patient and its exercise) is read part by
        part when the list is not narrowed to a caseload (``paging.search_parts``): each part
        its own sorted first rows up to the page's end (and its own capped count), the page
        then taken from their union, in the same two statements (the page's few candidates
        sorted with ties broken by id; each part keeps the list's own sort, which an index
        serves).
        """
        joins, count_joins = {}, {}
        query = self.get_query()
        count_query = self.get_count_query() if not self.simple_list_pager else None
        if hasattr(query, "_join_entities"):
            for entity in query._join_entities:
                for table in entity.tables:
                    joins[table] = None
        parts = None
        if self._search_supported and search:
            parts = self._search_parts(search)
            if parts is None or len(parts) == 1:
                query, count_query, joins, count_joins = self._apply_search(
                    query, count_query, joins, count_joins, search, parts[0] if parts else None)
                parts = None
        if filters and self._filters:
            query, count_query, joins, count_joins = self._apply_filters(
                query, count_query, joins, count_joins, filters)
        size = self.page_size if page_size is None else page_size
        limit = paging.count_limit(page, size)
        pk = self.model.__mapper__.primary_key[0]
        if count_query is None:
            count, capped = None, False
        elif parts:
            count, capped = paging.capped_union_count(
                [count_query.filter(*chosen).with_entities(pk) for chosen in parts], limit)
        else:
            count, capped = paging.capped_count(count_query, limit)
        if count_query is None:  # a list without a count (the audit trail) pages up to the cap
            limit = paging.COUNT_CAP
        beyond = (capped or count_query is None) and paging.beyond_cap(page, size)
        paging.remember(capped, beyond, limit)
        if beyond:
            return count, []
        if parts:
            # Each part's first rows in the list's order, to the end of this page; the page is
            # then the first of their union (a row of the page is among its part's first rows).
            reach = ((page or 0) + 1) * size if size else paging.COUNT_CAP
            firsts = []
            for chosen in parts:
                part, part_joins = self._apply_sorting(query.filter(*chosen), dict(joins), sort_column, sort_desc)
                if g.get("clinic_matches_first"):  # its matches are sorted anyway: ties by id, as the page
                    part = part.order_by(pk.desc() if self._sorted_desc(sort_column, sort_desc) else pk)
                firsts.append(part.with_entities(pk).limit(reach).subquery())
            found = sa.union(*[sa.select(sub.c[0]) for sub in firsts])
            query = self.get_query().filter(pk.in_(found))
            joins = {}
        for j in self._auto_joins:
            query = query.options(joinedload(j))
        query, joins = self._apply_sorting(query, joins, sort_column, sort_desc)
        if parts:
            query = query.order_by(pk.desc() if self._sorted_desc(sort_column, sort_desc) else pk)
        query = self._apply_pagination(query, page, page_size)
        return count, (query.all() if execute else query)

    def _sorted_desc(self, sort_column, sort_desc) -> bool:
        """Whether the list runs last first (the id breaking ties runs the same way)."""
        if sort_column is not None:
            return bool(sort_desc)
        order = list(self._get_default_order())
        return bool(order and order[0][2])

    #: Read a search's matching rows first (through the trigram indexes) and then sort them,
    #: rather than walk the list in its sort order testing each row: for lists sorted by the
    #: searched column itself (patients by last name), where a walk in name order passes every
    #: name before the match (see ``_order_by``).
    search_matches_first = False

    def rows_narrowed(self) -> bool:
        """True when ``scope_query`` narrows the list for the current user (a counselor's caseload)."""
        unscoped = ModelView.get_query(self)
        return self.scope_query(unscoped) is not unscoped

    def _search_parts(self, search):
        """``paging.search_parts`` of ``search`` for this list; one part (the whole search) when
        the list is narrowed to a caseload, whose few rows are tested one by one."""
        terms = [parse_like_term(term) for term in search.split(" ") if term]
        if self.rows_narrowed():
            clause_for = paging.search_clause(self._search_fields, per_row=True)
            return None if clause_for is None else [[clause_for(term) for term in terms]]
        return paging.search_parts(self._search_fields, terms)

    def _apply_search(self, query, count_query, joins, count_joins, search, clauses=None):
        """Filter by the search's ``clauses`` (one per word: ``_search_parts``), or Flask-Admin's joins.

        A list sorted by a searched column (``search_matches_first``) reads its matches
        first for the page; its count reads them directly (it stops at the cap).
        """
        if clauses is None:
            return super()._apply_search(query, count_query, joins, count_joins, search)
        g.clinic_matches_first = self.search_matches_first and not self.rows_narrowed()
        for clause in clauses:
            query = query.filter(clause)
            if count_query is not None:
                count_query = count_query.filter(clause)
        return query, count_query, joins, count_joins

    def _order_by(self, query, joins, sort_joins, sort_field, sort_desc):
        """A list reading its matches first sorts them by the text of its own column
        (``name || ''``, the same order), which no index serves: PostgreSQL then reads the
        matches through the trigram indexes and sorts those, instead of walking the name index
        from "A" testing every patient before the first match."""
        if (g.get("clinic_matches_first") and not sort_joins and sort_field is not None
                and isinstance(getattr(sort_field, "type", None), sa.String)
                and getattr(sort_field, "class_", None) is self.model):
            field = sort_field + ""
            return query.order_by(field.desc() if sort_desc else field), joins
        return super()._order_by(query, joins, sort_joins, sort_field, sort_desc)

    def get_one(self, id):
        pk = self.model.__mapper__.primary_key[0]
        try:
            value = pk.type.python_type(id)
        except (TypeError, ValueError):
            row = None
        else:
            row = g.clinic_loaded_row = self.get_query().filter(pk == value).one_or_none()
        if row is None and request.endpoint in (f"{self.endpoint}.details_view", f"{self.endpoint}.edit_view"):
            abort(self._not_here())
        return row

    def _not_here(self):
        """The kind page for a record that is missing or outside the caseload (404, nothing named).

        A counselor's "not on your caseload" and "not there" read the same, so the page
        tells nobody whether the record exists.
        """
        page = render_template(
            "errors/not_here.html", thing=self.thing, things=self.things,
            caseload=not sees_everyone(current_user), list_url=self.get_url(".index_view"),
        )
        return make_response(page, 404)

    # Reads of clinical data ----------------------------------------------------
    def patient_ids_of(self, model) -> list[int] | None:
        """The patients whose clinical data the row's details page shows; None when it shows none.

        Every view with a details page says which: its page writes one "view" audit event.
        """
        raise NotImplementedError(f"{type(self).__name__} does not say whose data its details page shows")

    @expose("/details/")
    def details_view(self):
        """The record's page; a page showing patients' clinical data is audited as a "view"."""
        from ..services import audit

        g.clinic_loaded_row = None
        response = super().details_view()
        model = g.pop("clinic_loaded_row", None)
        if isinstance(response, str) and model is not None:
            patients = self.patient_ids_of(model)
            if patients is not None:
                audit.record_view(self.model.__tablename__, self.get_pk_value(model), patients)
        return response

    @expose("/edit/", methods=("GET", "POST"))
    def edit_view(self):
        """The edit form; someone without the right to edit who opens a record they may not see
        (or one that is not there) gets the kind page first, like its details page."""
        if not self.can_edit and request.args.get("id") is not None:
            self.get_one(request.args.get("id"))
        return super().edit_view()

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

    def _refused(self, exc: RuleViolation, form=None) -> None:
        """Show a refusal at its field when the form has it, else at the top."""
        field = getattr(exc, "field", None)
        if form is not None and field and field in form:
            form[field].errors = [*form[field].errors, str(exc)]
            flash("Nothing was saved: see the marked field.", "error")
        else:
            flash(str(exc), "error")

    def _run(self, work, form=None):
        """Run ``work`` (a service call) and commit; on refusal roll back and return None."""
        try:
            result = work()
            db.session.commit()
        except RuleViolation as exc:
            db.session.rollback()
            self._refused(exc, form)
            return None
        except SQLAlchemyError as exc:
            db.session.rollback()
            self.handle_view_exception(exc)
            return None
        return result if result is not None else True

    # Writes: every path ends in a service --------------------------------
    @staticmethod
    def form_values(form) -> dict:
        """The form's typed values by field name, without the CSRF token and the row version."""
        return {field.name: field.data for field in form if field.name not in ("csrf_token", "row_version")}

    def create_model(self, form):
        if not self.can_create:
            abort(403)
        model = self._run(lambda: self.create_record(self.form_values(form)), form)
        return model or False

    def update_model(self, form, model) -> bool:
        if not self.can_edit:
            abort(403)
        version = getattr(getattr(form, "row_version", None), "data", None)
        return self._run(lambda: self.update_record(model, self.form_values(form), version), form) is not None

    def delete_model(self, model) -> bool:
        if not self.can_delete:
            abort(403)
        return self._run(lambda: self.delete_record(model)) is not None

    @action("delete", lazy_gettext("Delete"), lazy_gettext("Delete the ticked rows? This cannot be undone."))
    def action_delete(self, ids):
        """Delete the selected rows one by one through the service; refusals are named."""
        if not self.can_delete:
            abort(403)
        pk = self.model.__mapper__.primary_key[0]
        wanted = set()
        for value in ids:
            try:
                wanted.add(pk.type.python_type(value))
            except (TypeError, ValueError):
                continue
        count = 0
        for model in self.get_query().filter(pk.in_(wanted)).all():
            if self.delete_model(model):
                count += 1
        flash(f"{count} of {len(ids)} ticked {self.things} deleted.", "success" if count == len(ids) else "info")

    @expose("/ajax/update/", methods=("POST",))
    def ajax_update(self):
        """In-list editing is off: it would save one field without a row version."""
        abort(404)

    # Stale saves ---------------------------------------------------------
    def edit_form(self, obj=None):
        form = super().edit_form(obj)
        if request.method == "GET" and obj is not None and hasattr(form, "row_version"):
            form.row_version.data = str(obj.version)
        return form


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

"""Clinic words for Flask-Admin's generic ones ("Record was successfully saved", "List", "Create").

Flask-Admin passes every word staff see through ``flask_admin.babel.gettext`` (its templates
get it as ``_gettext``; its views call it for their flash messages). Without Flask-Babel that
function returns the English text unchanged, so this module is the clinic's one "translation":
``install`` puts ``clinic_gettext`` in its place, and ``clinic_gettext`` looks the English text
up in ``WORDS``, naming the kind of record of the page being shown (``THINGS``, by endpoint):
"All patients", "New patient", "Patient added.", "Save and add another patient". Text not in
the table passes through unchanged. No message here names a patient or a record number.
"""

from __future__ import annotations

from typing import Any

#: Each model view's kind of record, singular and plural, by endpoint.
THINGS: dict[str, tuple[str, str]] = {
    "tracks": ("track", "tracks"),
    "groups": ("group", "groups"),
    "memberships": ("group membership", "group memberships"),
    "activities": ("activity", "activities"),
    "sessions": ("session", "sessions"),
    "exercises": ("kindness exercise", "kindness exercises"),
    "assignments": ("exercise assignment", "exercise assignments"),
    "patients": ("patient", "patients"),
    "enrolments": ("enrolment", "enrolments"),
    "staff": ("staff account", "staff accounts"),
    "attendance": ("attendance entry", "attendance entries"),
    "checkins": ("exercise check-in", "exercise check-ins"),
    "audit": ("audit event", "audit events"),
}
GENERIC = ("record", "records")

#: Flask-Admin's English text -> the clinic's; ``{thing}``/``{things}`` name the page's records.
WORDS: dict[str, str] = {
    # Tabs and buttons.
    "List": "All {things}",
    "Create": "New {thing}",
    "Create New Record": "Add a new {thing}",
    "Details": "View",
    "Save and Add Another": "Save and add another {thing}",
    "Save and Continue Editing": "Save and keep editing",
    "View Record": "View",
    "Edit Record": "Edit",
    "Delete Record": "Delete this {thing}",
    "Are you sure you want to delete this record?": "Delete this {thing}? This cannot be undone.",
    "Are you sure you want to delete selected records?": "Delete the ticked {things}? This cannot be undone.",
    "Please select at least one record.": "Tick at least one {thing} first.",
    "With selected": "With the ticked {things}",
    "Select all records": "Select every {thing} on this page",
    "Select record": "Select this {thing}",
    "Add Filter": "Filter",
    "Reset Filters": "Clear the filters",
    "Filter": "Find on this page",
    "There are no items in the table.": "No {things} to show.",
    # Flash messages.
    "Record was successfully created.": "{Thing} added.",
    "Record was successfully saved.": "Saved.",
    "Record was successfully deleted.": "{Thing} deleted.",
    "%(count)s records were successfully deleted.": "%(count)s {things} deleted.",
    "Record does not exist.": "That {thing} is not there: it may have been removed, or it is not yours to open.",
    "Failed to create record.": "The {thing} was not added.",
    "Failed to save record.": "Nothing was saved.",
    "Failed to delete record. %(error)s": "The {thing} was not deleted. %(error)s",
    "Permission denied.": "Your role does not allow this.",
}


def things_of(view: Any) -> tuple[str, str]:
    """The kind of record ``view`` shows, singular and plural ("record" for other pages)."""
    endpoint = getattr(view, "endpoint", None)
    return THINGS.get(endpoint, GENERIC) if endpoint else GENERIC


def clinic_words(string: str, view: Any = None) -> str:
    """The clinic's text for Flask-Admin's English ``string`` on ``view``'s pages."""
    clinic = WORDS.get(str(string))
    if clinic is None:
        return str(string)
    thing, things = things_of(view)
    return clinic.replace("{Thing}", thing[:1].upper() + thing[1:]).replace(
        "{thing}", thing).replace("{things}", things)


def clinic_gettext(string: str, **variables: Any) -> str:
    """``flask_admin.babel.gettext`` in clinic words."""
    from flask_admin.helpers import get_current_view

    try:
        view = get_current_view()
    except RuntimeError:  # outside a request (row action titles are made at import time)
        view = None
    text = clinic_words(string, view)
    return text % variables if variables else text


def clinic_ngettext(singular: str, plural: str, num: int, **variables: Any) -> str:
    """``flask_admin.babel.ngettext`` in clinic words."""
    variables.setdefault("num", num)
    return clinic_gettext(singular if num == 1 else plural, **variables)


def install() -> None:
    """Put the clinic's words in place of Flask-Admin's (idempotent)."""
    import flask_admin.babel
    import flask_admin.contrib.sqla.view
    import flask_admin.model.base
    import flask_admin.model.template

    for module in (flask_admin.babel, flask_admin.model.base, flask_admin.contrib.sqla.view):
        module.gettext = clinic_gettext
        module.ngettext = clinic_ngettext
    flask_admin.model.template.gettext = clinic_gettext

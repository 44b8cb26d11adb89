"""Helpers for driving the generic admin forms as a browser would: read a form, post it back."""

from __future__ import annotations

from html.parser import HTMLParser

import sqlalchemy as sa

from clinic.extensions import db

HOSTILE = "<img src=x onerror=alert(1)>"
ESCAPED = "&lt;img src=x onerror=alert(1)&gt;"


class _FormReader(HTMLParser):
    """Collects the values a browser would submit from the page's model form."""

    def __init__(self):
        super().__init__()
        self.values: dict[str, list[str]] = {}
        self._select: str | None = None
        self._textarea: str | None = None
        self._in_form = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and attrs.get("method", "").upper() == "POST" and "admin-form" in attrs.get("class", ""):
            self._in_form = True
        if not self._in_form:
            return
        name = attrs.get("name")
        if tag == "input" and name:
            kind = attrs.get("type", "text")
            if kind in ("submit", "button"):
                return
            if kind == "checkbox":
                if "checked" in attrs:
                    self.values.setdefault(name, []).append(attrs.get("value", "y"))
                return
            self.values.setdefault(name, []).append(attrs.get("value") or "")
        elif tag == "select" and name:
            self._select = name
            self.values.setdefault(name, [])
        elif tag == "option" and self._select and "selected" in attrs:
            self.values[self._select].append(attrs.get("value") or "")
        elif tag == "textarea" and name:
            self._textarea = name
            self.values[name] = [""]

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None
        elif tag == "form":
            self._in_form = False

    def handle_data(self, data):
        if self._textarea:
            self.values[self._textarea][0] += data


def read_form(client, url: str) -> dict:
    """The values the form at ``url`` would submit unchanged (lists for multiple selects)."""
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    reader = _FormReader()
    reader.feed(response.get_data(as_text=True))
    values = {}
    for name, found in reader.values.items():
        if name == "csrf_token":
            continue
        values[name] = found if len(found) != 1 else found[0]
    return values


def snapshot(*models) -> list:
    """Every row of each model as plain column values, by id: compare before and after a request."""
    rows = []
    with db.engine.connect() as conn:
        for model in models:
            table = model.__table__
            for row in conn.execute(sa.select(table).order_by(*table.primary_key.columns)):
                rows.append((table.name, tuple(row)))
    return rows


def link_rows() -> list:
    """The many-to-many link tables (exercise and activity tracks, starter plans)."""
    from clinic.models import activity_track, exercise_track, track_starter_exercise

    with db.engine.connect() as conn:
        return [(t.name, tuple(r)) for t in (activity_track, exercise_track, track_starter_exercise)
                for r in conn.execute(sa.select(t).order_by(*t.columns))]

"""Flask-Admin at /admin/: the clinic's working screens."""

from __future__ import annotations

from flask import Flask
from flask_admin import Admin
from flask_admin.theme import Bootstrap4Theme

from ..extensions import db
from .base import SecureIndexView
from .views import MODEL_VIEWS

CATEGORY_ORDER = ("Programme", "People", "Records", "Reports", "Admin")


def init_app(app: Flask) -> Admin:
    """Create the admin for ``app`` with every view, grouped by menu category."""
    admin = Admin(
        app,
        name=app.config["CLINIC_NAME"],
        url="/admin",
        index_view=SecureIndexView(name="Home", url="/admin"),
        theme=Bootstrap4Theme(base_template="admin/clinic_base.html", fluid=True),
    )
    for category in CATEGORY_ORDER:
        for view_class, model, name, view_category, endpoint in MODEL_VIEWS:
            if view_category == category:
                admin.add_view(view_class(model, db, name=name, category=category, endpoint=endpoint))
    from . import assigning, calendar, day, kindness, measures, planner, printing, programme, recording, safety, signins, unfinished
    from . import exercise_texts, plan, reports

    printing.register(admin)
    day.register(admin)
    recording.register(admin)
    measures.register(admin)
    safety.register(admin)
    reports.register(admin)
    unfinished.register(admin)
    planner.register(admin)
    assigning.register(admin)
    programme.register(admin)
    signins.register(admin)
    calendar.register(admin)
    kindness.register(admin)
    plan.register(admin)
    exercise_texts.register(admin)
    app.extensions["clinic_admin"] = admin
    return admin

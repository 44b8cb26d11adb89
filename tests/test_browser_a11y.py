"""Every main page, for every role that has it, has no serious or critical axe-core violation.

The pages are listed in ``PAGES`` below: one row per page, ``(URL, roles)``. To cover a new
page, add a row. URLs may name ids of the demo clinic in braces, filled from ``_ids``:
``{patient}`` (on the counselor's caseload), ``{session}`` (one the counselor facilitates,
already started, so its record opens), ``{group}``, ``{track}``, ``{enrolment}``,
``{membership}``, ``{assignment}``, ``{exercise}``, ``{activity}``, ``{staff}``, ``{future}``
(a planned session of the counselor's), ``{signed}`` and ``{signed_patient}`` (a signed record
of the counselor's and someone on it), ``{moved}`` (a patient who changed track),
``{last_week}`` and ``{next_week}`` (Mondays for the week planner), ``{job}`` (a finished batch
print job of the counselor's group, started by the counselor), ``{measure}`` (a signed PHQ-9 of
``{patient}``, corrected once) and ``{draft_measure}`` (a draft GAD-7 of theirs).

The pages are served from the fictional demo clinic (``clinic/services/demo_clinic.py``,
42 patients, three weeks of records and a planned week), seeded once for the module, so the
week planner and the lists hold as many rows as a real week does. SQLite only: the markup
does not depend on the database backend. One Chromium, one browser context per role; every
page is checked at 1400 px wide, and the ``NARROW`` ones at 390 px as well, where the page must
not be wider than the screen either.
"""

from __future__ import annotations

import shutil
from datetime import date, datetime, timedelta

import pytest
import sqlalchemy as sa

from clinic.extensions import db
from clinic.models import (
    Activity, Assignment, Attendance, CareGroup, Enrolment, GroupMembership, GroupSession, KindnessExercise, Patient,
    StaffUser,
)
from clinic.pdf import batches
from clinic.services import access, measures, print_jobs, seeding, two_factor
from clinic.services.demo_clinic import DEMO_PASSWORDS
from conftest import CHROMIUM, CHROMIUM_ARGS, TIMEOUT_MS, _make_app, missing, serving

A = "admin"
P = "planner"
C = "counselor"
ALL = (A, P, C)
ANON = ("anonymous",)
#: A planner with an authenticator: the code page after the password, then the pages above.
TWO_FACTOR = "planner with two-factor"

#: (URL, roles that see it). Error pages are reached on purpose (403: a counselor on a page
#: of another role; 404: an address that does not exist).
PAGES: list[tuple[str, tuple[str, ...]]] = [
    ("/login", ANON),
    ("/admin/", ALL),
    ("/admin/day/", ALL),
    ("/admin/day/?counselor={staff}", (A, P)),
    ("/admin/unfinished/", (A, P)),
    ("/admin/unfinished/?facilitator={staff}", (A, P)),
    ("/admin/record/?session={session}", ALL),
    ("/admin/record/?session={signed}", ALL),
    ("/admin/record/correct/?session={signed}&patient={signed_patient}", ALL),
    ("/admin/record/correct-note/?session={signed}", ALL),
    ("/admin/planner/", ALL),
    ("/admin/planner/?week={last_week}", ALL),
    ("/admin/planner/?week={next_week}", ALL),
    ("/admin/planner/clashes/", ALL),  # every clash of the week, 25 a page (none in a tidy demo)
    ("/admin/planner/clashes/?week={last_week}", ALL),
    ("/admin/series/", (A, P)),
    ("/admin/series/occurrence/?id={future}", (A, P)),
    ("/admin/assign/", (A, P)),
    ("/admin/tracks/", ALL),
    ("/admin/tracks/details/?id={track}", ALL),
    ("/admin/tracks/edit/?id={track}", (A, P)),
    ("/admin/groups/", ALL),
    ("/admin/groups/details/?id={group}", ALL),
    ("/admin/groups/new/", (A, P)),
    ("/admin/groups/edit/?id={group}", (A, P)),
    ("/admin/memberships/", ALL),
    ("/admin/memberships/new/", (A, P)),
    ("/admin/memberships/edit/?id={membership}", (A, P)),
    ("/admin/activities/", ALL),
    ("/admin/activities/new/", (A, P)),
    ("/admin/activities/edit/?id={activity}", (A, P)),
    ("/admin/sessions/", ALL),
    ("/admin/sessions/details/?id={session}", ALL),
    ("/admin/sessions/new/", (A, P)),
    ("/admin/sessions/edit/?id={future}", (A, P)),
    ("/admin/exercises/", ALL),
    ("/admin/exercises/details/?id={exercise}", ALL),
    ("/admin/exercises/new/", (A, P)),
    ("/admin/exercises/edit/?id={exercise}", (A, P)),
    ("/admin/exercise-texts/", (A, P)),
    ("/admin/exercise-texts/edit/?exercise={exercise}&language=es", (A, P)),
    ("/admin/assignments/", ALL),
    ("/admin/assignments/new/", (A, P)),
    ("/admin/assignments/edit/?id={assignment}", (A, P)),
    ("/admin/patients/", ALL),
    ("/admin/patients/details/?id={patient}", ALL),
    ("/admin/patients/new/", (A,)),
    ("/admin/patients/edit/?id={patient}", (A,)),
    ("/admin/enrolments/", ALL),
    ("/admin/enrolments/new/", (A, P)),
    ("/admin/enrolments/edit/?id={enrolment}", (A, P)),
    ("/admin/attendance/", ALL),
    ("/admin/checkins/", ALL),
    ("/admin/day/checkin/?assignment={assignment}", ALL),
    ("/admin/connectedness/?patient={patient}", ALL),  # the week's connectedness answer
    ("/admin/plan/?patient={patient}", ALL),  # the treatment plan (read only for planners)
    ("/admin/staff/", (A,)),
    ("/admin/staff/new/", (A,)),
    ("/admin/staff/edit/?id={staff}", (A,)),
    ("/admin/staff/details/?id={staff}", (A,)),
    ("/admin/audit/", (A,)),
    # A page past the deepest one a list shows: the note saying how to narrow it (paging.py).
    ("/admin/audit/?page=200", (A,)),
    ("/admin/signins/", (A,)),
    ("/admin/programme/enrol/?patient={patient}", (A, P)),
    ("/admin/programme/transfer/?patient={patient}", (A, P)),
    ("/admin/programme/discharge/?patient={patient}", (A, P)),
    ("/admin/programme/join/?patient={patient}", (A, P)),
    ("/admin/programme/moved/?patient={moved}", (A, P)),
    ("/admin/print/progress/?patient={patient}", ALL),
    ("/admin/print/progress/batch/?group={group}", ALL),
    ("/admin/print/progress/batch/?track={track}", (A, P)),
    ("/admin/print/jobs/{job}/", (C,)),  # the counselor's own batch job (done), with its download
    ("/admin/calendar/", ALL),
    ("/admin/safety/", ALL),  # the open safety tasks (none in the demo unless a PHQ-9 item 9 is above 0)  # calendar feeds (planners and admins also see the group and room forms)
    ("/admin/print/jobs/2147483647/", ALL),  # a job that is gone (expired, or not theirs): the kind 404
    ("/account/two-factor", ALL),  # enrolment (the demo accounts have no authenticator yet)
    ("/account/two-factor", (TWO_FACTOR,)),  # the state of an enrolled account
    ("/admin/measures/", ALL),
    ("/admin/measures/new/?patient={patient}&instrument=phq9", ALL),
    ("/admin/measures/view/?id={measure}", ALL),
    ("/admin/measures/correct/?id={measure}", ALL),
    ("/admin/measures/edit/?id={draft_measure}", ALL),
    ("/admin/staff/", (C,)),  # 403
    ("/admin/no-such-page/", ALL),  # 404
]

#: Pages also checked at a phone's width.
NARROW = {"/login", "/admin/", "/admin/day/", "/admin/unfinished/", "/admin/unfinished/?facilitator={staff}",
          "/admin/record/?session={session}",
          "/admin/record/?session={signed}", "/admin/record/correct/?session={signed}&patient={signed_patient}",
          "/admin/planner/", "/admin/programme/moved/?patient={moved}", "/admin/tracks/details/?id={track}",
          "/admin/programme/transfer/?patient={patient}", "/admin/programme/join/?patient={patient}",
          "/admin/sessions/", "/admin/assign/", "/admin/print/progress/batch/?group={group}",
          "/admin/patients/", "/admin/patients/details/?id={patient}", "/admin/patients/edit/?id={patient}",
          "/admin/sessions/new/", "/admin/series/", "/admin/groups/details/?id={group}",
          "/admin/print/progress/?patient={patient}", "/account/two-factor", "/admin/no-such-page/",
          "/admin/print/jobs/{job}/", "/admin/measures/new/?patient={patient}&instrument=phq9",
          "/admin/measures/view/?id={measure}",
          "/admin/connectedness/?patient={patient}", "/admin/plan/?patient={patient}"}

ROLE_EMAILS = {
    A: "admin@demo.clinic.example",
    P: "orla.brightwater@demo.clinic.example",
    C: "wrenna.stillwater@demo.clinic.example",
    TWO_FACTOR: "tobin.marchfield@demo.clinic.example",
}
PASSWORDS = {**DEMO_PASSWORDS, TWO_FACTOR: DEMO_PASSWORDS[P]}
SERIOUS = {"serious", "critical"}


@pytest.fixture(scope="module")
def demo(sqlite_template, tmp_path_factory):
    """The demo clinic on SQLite, served locally; yields (base URL, ids for the URL templates)."""
    folder = tmp_path_factory.mktemp("a11y")
    path = folder / "clinic.sqlite"
    shutil.copyfile(sqlite_template, path)
    app = _make_app(f"sqlite:///{path}", folder, WTF_CSRF_ENABLED=True)
    with app.app_context():
        seeding.load_demo()
        ids = _ids()
        ids["recovery_code"] = _enrol_two_factor(ROLE_EMAILS[TWO_FACTOR])
        db.session.remove()
    with serving(app) as url:
        yield url, ids


def _enrol_two_factor(email: str) -> str:
    """Give the account an authenticator, as its enrolment page would; return a recovery code.

    (The code used to enrol cannot be used again, so the sign-in uses a recovery code.)
    """
    import pyotp

    user = db.session.scalar(sa.select(StaffUser).where(StaffUser.email == email))
    secret = two_factor.pending_secret(user)
    return two_factor.confirm_enrolment(user, pyotp.TOTP(secret).now())[0]


def _ids() -> dict[str, int]:
    """Ids of the demo clinic's rows for the URL templates, seen from the counselor's side."""
    counselor = db.session.scalar(sa.select(StaffUser).where(StaffUser.email == ROLE_EMAILS[C]))
    mine = access.caseload_patient_ids(counselor.id)
    now = datetime.now()
    session = db.session.scalar(
        sa.select(GroupSession).where(GroupSession.facilitator_id == counselor.id, GroupSession.starts_at < now)
        .order_by(GroupSession.starts_at.desc()).limit(1))
    future = db.session.scalar(
        sa.select(GroupSession).where(GroupSession.facilitator_id == counselor.id, GroupSession.starts_at > now)
        .order_by(GroupSession.starts_at).limit(1))
    group = db.session.get(CareGroup, session.group_id)
    signed = db.session.scalar(
        sa.select(GroupSession).where(GroupSession.facilitator_id == counselor.id, GroupSession.signed_at.is_not(None))
        .order_by(GroupSession.starts_at.desc()).limit(1))
    signed_patient = db.session.scalar(
        sa.select(Attendance.patient_id).where(Attendance.session_id == signed.id).order_by(Attendance.patient_id)
        .limit(1))
    moved = db.session.scalar(
        sa.select(Enrolment.patient_id).group_by(Enrolment.patient_id).having(sa.func.count() > 1)
        .order_by(Enrolment.patient_id).limit(1))
    monday = date.today() - timedelta(days=date.today().weekday())
    group_id = group.id
    visible = access.visible_patient_ids(counselor, [p.id for p in batches.group_patients(
        group, monday - timedelta(days=14), monday, "staff")])
    job = print_jobs.start_progress_batch(
        counselor, batches.in_print_order([db.session.get(Patient, i) for i in visible], "staff"),
        monday - timedelta(days=14), monday, "staff", target=f"group:{group_id}", title="Progress sheets",
        source={"group": group_id}, filename=f"progress-group-{group_id}-staff.pdf")
    group = db.session.get(CareGroup, group_id)
    assignment = db.session.scalar(
        sa.select(Assignment).where(Assignment.patient_id.in_(mine), Assignment.status == "active").limit(1))
    measure, draft_measure = _measures(counselor, db.session.get(Patient, assignment.patient_id))
    return {
        "patient": assignment.patient_id,
        "assignment": assignment.id,
        "session": session.id,
        "future": future.id,
        "group": group.id,
        "track": group.track_id,
        "enrolment": db.session.scalar(sa.select(Enrolment.id).where(Enrolment.patient_id == assignment.patient_id)
                                       .limit(1)),
        "membership": db.session.scalar(sa.select(GroupMembership.id).where(GroupMembership.group_id == group.id)
                                        .limit(1)),
        "exercise": db.session.scalar(sa.select(KindnessExercise.id).limit(1)),
        "activity": db.session.scalar(sa.select(Activity.id).limit(1)),
        "staff": counselor.id,
        "signed": signed.id,
        "signed_patient": signed_patient,
        "moved": moved,
        "last_week": (monday - timedelta(days=7)).isoformat(),
        "next_week": (monday + timedelta(days=7)).isoformat(),
        "job": job.id,
        "measure": measure,
        "draft_measure": draft_measure,
    }


def _measures(counselor, patient) -> tuple[int, int]:
    """A signed PHQ-9 of ``patient`` corrected once (one item missing), and a draft GAD-7: their ids."""
    phq9 = {1: 2, 2: 1, 3: None, 4: 2, 5: 1, 6: 0, 7: 1, 8: 0, 9: 0}
    signed = measures.save_administration(
        patient, "phq9", measures.Entry(answers=phq9, administered_on=date.today(), mode="paper", difficulty=1),
        counselor, sign=True)
    measures.correct_by_addendum(signed, {**phq9, 6: 1}, 1, "Item 6 was misread", counselor)
    draft = measures.save_administration(
        patient, "gad7", measures.Entry(answers=dict.fromkeys(range(1, 8), 1), administered_on=date.today(),
                                        mode="in_person"), counselor)
    return signed.id, draft.id


@pytest.fixture(scope="module")
def chromium():
    """One headless Chromium for the whole module."""
    if not CHROMIUM.exists():
        missing("Debian's Chromium at /usr/bin/chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("the playwright package")
    try:
        from axe_playwright_python.sync_playwright import Axe  # noqa: F401
    except ImportError:
        missing("the axe-playwright-python package")
    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
    finally:
        playwright.stop()


def _serious(page, label: str) -> list[str]:
    """The serious and critical violations on ``page``, one line per node."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    found = []
    for violation in results.response["violations"]:
        if violation.get("impact") not in SERIOUS:
            continue
        for node in violation["nodes"]:
            summary = (node.get("failureSummary") or "").replace("\n", " ")
            found.append(f"{label}: [{violation['impact']}] {violation['id']} at {node['target']}: {summary[:300]}")
    return found


def _visit(page, base: str, url: str, label: str) -> list[str]:
    response = page.goto(base + url)
    assert response is not None, label
    assert response.status < 500, f"{label} answered {response.status}"
    assert "/login" not in page.url or url == "/login", f"{label} went to the login page"
    return _serious(page, label)


@pytest.mark.parametrize("role", [*ANON, A, P, C, TWO_FACTOR])
def test_no_serious_accessibility_violations(chromium, demo, role):
    base, ids = demo
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    try:
        found = []
        if role != "anonymous":
            page.goto(base + "/login")
            page.get_by_label("E-mail").fill(ROLE_EMAILS[role])
            page.get_by_label("Password").fill(PASSWORDS[role])
            with page.expect_navigation():
                page.get_by_role("button", name="Log in").click()
        if role == TWO_FACTOR:
            assert "/login/code" in page.url
            found += _serious(page, f"{role} /login/code (1400 px)")
            page.locator("input[name=code]").fill(ids["recovery_code"])
            with page.expect_navigation():
                page.locator("form [type=submit]").first.click()
            assert "/login" not in page.url, page.url
        pages = [url for url, roles in PAGES if role in roles]
        assert pages
        for template in pages:
            found += _visit(page, base, template.format(**ids), f"{role} {template} (1400 px)")
        page.set_viewport_size({"width": 390, "height": 844})
        for template in pages:
            if template in NARROW:
                label = f"{role} {template} (390 px)"
                found += _visit(page, base, template.format(**ids), label)
                # Nothing pushes the page off a phone's screen: no sideways scrolling of the page.
                width = page.evaluate("document.documentElement.scrollWidth")
                if width > 390:
                    found.append(f"{label}: the page is {width} px wide, wider than the screen")
    finally:
        context.close()
    assert not found, f"{len(found)} serious or critical violations:\n" + "\n".join(found)

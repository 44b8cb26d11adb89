"""Whole-clinic reports of a large clinic are computed by the report worker, stored and shown.

``CLINIC_REPORT_JOB_ROWS`` set to 0 makes every admin's and planner's report a run (the
tests' clinics are small). The tests' queue is in-process (``immediate``): a run has been
computed when the request that started it returns. To watch a run that is still waiting,
``held`` keeps the queue's messages back and ``work`` then does what the worker would.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from clinic import jobs
from clinic.extensions import db
from clinic.models import AuditEvent, ReportRun
from clinic.models._types import utcnow
from clinic.services.reports import kinds, parse_filters, runs
from conftest import login
import test_reports
from test_reports import MONDAY, _rows, _statements

week = test_reports.week  # the fixture: an IOP week with the cases a payer asks about

HOURS = f"/admin/reports/hours/?week={MONDAY.isoformat()}"
PERIOD = {"from": "2026-10-12", "to": "2026-11-08"}


@pytest.fixture
def as_job(app):
    """Every whole-clinic report is computed by the worker."""
    app.config["CLINIC_REPORT_JOB_ROWS"] = 0
    return app


@pytest.fixture
def held(monkeypatch):
    """The queue keeps its messages (no worker yet): runs stay queued; returns the held run ids."""
    kept: list[int] = []
    monkeypatch.setattr(jobs, "enqueue_report", kept.append)
    return kept


def work(kept: list[int]) -> None:
    """Compute the held runs, as the worker would."""
    while kept:
        runs.run(kept.pop(0))
    db.session.expire_all()


def _runs() -> list[ReportRun]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(ReportRun).order_by(ReportRun.id)))


def _run_page(answer) -> str:
    assert answer.status_code == 303, answer.status_code
    location = answer.headers["Location"]
    assert re.search(r"/admin/reports/runs/\d+/$", location), location
    return location


def _listed(client, url=HOURS) -> str:
    answer = client.get(url)
    assert answer.status_code == 200, answer.status_code
    return "\n".join(_rows(answer.get_data(as_text=True)))


def test_a_small_clinic_computes_the_report_in_the_request(client, week, make):
    login(client, make.staff("planner").email)
    answer = client.get(HOURS)
    html = answer.get_data(as_text=True)
    assert answer.status_code == 200 and "Alder, Ana" in html
    assert 'id="report-computed"' not in html
    assert _runs() == []


def test_a_large_clinic_s_report_is_computed_by_the_worker_with_the_same_figures(client, week, make, app):
    login(client, make.staff("planner").email)
    inline_html = client.get(HOURS).get_data(as_text=True)
    app.config["CLINIC_REPORT_JOB_ROWS"] = 0
    answer = client.get(HOURS)
    html = answer.get_data(as_text=True)
    assert answer.status_code == 200
    assert 'id="report-computed"' in html and "Figures computed by the report worker at" in html
    for key in ("report-patients", "report-tracks"):
        def table(page):
            return page.split(f'id="{key}"', 1)[1].split("</table>", 1)[0]
        assert table(html) == table(inline_html)
    [run] = _runs()
    assert (run.state, run.kind, run.owner_id is not None, run.active_key) == ("done", "hours", True, None)
    assert run.filters == {"week": MONDAY.isoformat()}
    # The page names patients: its reading is in the audit trail, as inline.
    event = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "view", AuditEvent.entity == "report")
                               .order_by(AuditEvent.id.desc())).first()
    assert week["people"]["short"].id in event.changes["patients"]


def test_every_report_stored_by_the_worker_is_the_report_the_builder_makes(as_job, week, make):
    planner = make.staff("planner")
    for found in kinds():
        filters = parse_filters({"week": MONDAY.isoformat(), **PERIOD})
        status = runs.ask(planner, found, filters)
        assert status.state == "done", (found.key, status.message)
        stored = runs.report_of(planner, status.id)
        built = found.build(filters, planner, everything=True) if found.pages else found.build(filters, planner)
        assert stored.tables == built.tables, found.key
        assert (stored.title, stored.period, stored.notes, stored.filters, stored.patient_ids, stored.chart) == \
            (built.title, built.period, built.notes, built.filters, built.patient_ids, built.chart), found.key
    assert runs.report_of(make.staff("planner"), status.id) is None  # another login: not theirs


def test_a_counselor_s_caseload_report_stays_in_the_request(client, as_job, week):
    login(client, week["wren"].email)
    html = client.get(HOURS).get_data(as_text=True)
    assert "Alder, Ana" in html and "Fir, Fay" not in html
    assert _runs() == []


def test_a_running_report_has_a_plain_page_only_its_owner_opens(client, app, as_job, week, make, held):
    owner = make.staff("planner", email="owner@clinic.example")
    other = make.staff("admin", email="other@clinic.example")
    login(client, owner.email)
    page = _run_page(client.get(HOURS))
    answer = client.get(page)
    html = answer.get_data(as_text=True)
    assert answer.status_code == 200 and answer.headers["Cache-Control"] == "no-store"
    assert '<meta http-equiv="refresh" content="2">' in html  # without JavaScript it refreshes itself
    assert "Hours against the minimum" in html and f"week of {MONDAY.isoformat()}, all tracks" in html
    assert "Waiting for the report worker" in html
    assert "Alder" not in html and "Birch" not in html  # what is prepared, never whom
    status = client.get(page + "status").get_json()
    assert (status["state"], status["report"]) == ("queued", None)
    # The files wait for the same run too, and nothing is exported meanwhile.
    assert _run_page(client.get(f"/admin/reports/hours.csv?week={MONDAY.isoformat()}&table=patients")) == page
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)
                             .where(AuditEvent.action == "export")) == 0
    stranger = app.test_client()
    login(stranger, other.email)
    assert stranger.get(page).status_code == 404
    assert stranger.get(page + "status").status_code == 404
    assert stranger.get("/admin/reports/runs/999999/").status_code == 404
    work(held)
    done = client.get(page)
    assert done.status_code == 303 and done.headers["Location"].endswith(
        f"/admin/reports/hours/?week={MONDAY.isoformat()}")
    assert client.get(page + "status").get_json()["report"].endswith(f"/admin/reports/hours/?week={MONDAY.isoformat()}")
    assert "Alder, Ana" in _listed(client)
    assert stranger.get(page).status_code == 404


def test_the_same_report_asked_again_while_it_runs_joins_that_run(client, app, as_job, week, make, held):
    planner = make.staff("planner")
    login(client, planner.email)
    first = _run_page(client.get(HOURS))
    second = _run_page(client.get(HOURS))
    assert first == second and len(_runs()) == 1 and len(held) == 1
    # Another week is another report; another login asks for its own.
    other_week = (MONDAY - timedelta(days=7)).isoformat()
    assert _run_page(client.get(f"/admin/reports/hours/?week={other_week}")) != first
    colleague = app.test_client()
    login(colleague, make.staff("planner").email)
    assert _run_page(colleague.get(HOURS)) != first
    assert len(_runs()) == 3
    work(held)
    assert "Alder, Ana" in _listed(client)
    assert len(_runs()) == 3  # the finished run is reused while fresh


def test_a_stored_report_older_than_the_fresh_time_is_computed_again(client, app, as_job, week, make):
    login(client, make.staff("planner").email)
    assert "Alder, Ana" in _listed(client)
    # Ana's missing half hour is recorded late: the stored figures still show her (fresh)...
    db.session.execute(sa.update(db.metadata.tables["attendance"])
                       .where(db.metadata.tables["attendance"].c.patient_id == week["people"]["short"].id)
                       .values(minutes_attended=180))
    db.session.commit()
    assert "Alder, Ana" in _listed(client)
    assert len(_runs()) == 1
    # ... until they are older than CLINIC_REPORT_FRESH_MINUTES: then they are computed again.
    [run] = _runs()
    run.finished_at = utcnow() - timedelta(minutes=app.config["CLINIC_REPORT_FRESH_MINUTES"], seconds=1)
    db.session.commit()
    assert "Alder, Ana" not in _listed(client)
    assert [r.state for r in _runs()] == ["done", "done"]


def test_a_report_that_fails_says_so_plainly_and_can_be_asked_for_again(client, as_job, week, make, monkeypatch):
    from clinic.services.reports import hours

    login(client, make.staff("planner").email)

    def broken(*_args, **_kwargs):
        raise RuntimeError("Alder, Ana broke it")

    monkeypatch.setattr(hours, "build", broken)
    page = _run_page(client.get(HOURS))
    html = client.get(page).get_data(as_text=True)
    assert "The report could not be computed" in html and "Ask for it again" in html
    assert "http-equiv" not in html and "Alder" not in html  # not left spinning; no patient data
    status = client.get(page + "status").get_json()
    assert status["state"] == "failed" and "could not be computed" in status["message"]
    monkeypatch.undo()
    assert "Alder, Ana" in _listed(client)  # asking again starts a new run
    assert [r.state for r in _runs()] == ["failed", "done"]


def test_a_report_that_cannot_be_stored_fails_plainly_instead_of_running_on(client, as_job, week, make, monkeypatch):
    login(client, make.staff("planner").email)
    real = runs._finish

    def refusing(run_id, state, **kwargs):
        if state == "done":
            raise RuntimeError("the database refused the result")
        return real(run_id, state, **kwargs)

    monkeypatch.setattr(runs, "_finish", refusing)
    page = _run_page(client.get(HOURS))
    assert client.get(page + "status").get_json()["state"] == "failed"
    assert "The report could not be computed" in client.get(page).get_data(as_text=True)
    assert [r.state for r in _runs()] == ["failed"]


def test_a_run_whose_worker_was_lost_fails_plainly_and_is_purged_later(client, app, as_job, week, make, held):
    login(client, make.staff("planner").email)
    page = _run_page(client.get(HOURS))
    [run] = _runs()
    run.created_at = utcnow() - timedelta(seconds=app.config["CLINIC_REPORT_STALE_SECONDS"] + 1)
    db.session.commit()
    html = client.get(page).get_data(as_text=True)
    assert "was not finished in time" in html and "http-equiv" not in html
    assert client.get(page + "status").get_json()["state"] == "failed"
    held.clear()
    assert "Alder, Ana" not in html
    _run_page(client.get(HOURS))  # a new run; the lost one's late worker stores nothing
    assert runs.run(run.id) is False
    # Stored results name patients: they are deleted after CLINIC_REPORT_KEEP_MINUTES.
    later = utcnow() + timedelta(minutes=app.config["CLINIC_REPORT_KEEP_MINUTES"] + 1)
    assert runs.recover(later) == 1 and runs.purge_expired(later) == 2
    assert _runs() == []
    assert client.get(page).status_code == 404


def test_the_files_of_a_stored_report_are_its_rows_and_are_audited_as_exports(client, app, week, make):
    login(client, make.staff("admin").email)
    url = f"/admin/reports/hours.csv?week={MONDAY.isoformat()}&table=patients"
    inline_rows = list(csv.reader(io.StringIO(client.get(url).get_data(as_text=True).lstrip("\ufeff"))))
    app.config["CLINIC_REPORT_JOB_ROWS"] = 0
    answer = client.get(url)
    assert answer.status_code == 200 and answer.headers["Cache-Control"] == "no-store"
    rows = list(csv.reader(io.StringIO(answer.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows == inline_rows and any("Alder" in r[0] for r in rows)
    pdf = client.get(f"/admin/reports/hours.pdf?week={MONDAY.isoformat()}")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    assert len(_runs()) == 1  # both files from the one stored run
    events = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "export")
                                .order_by(AuditEvent.id)).all()
    assert [e.changes["format"] for e in events] == ["csv", "csv", "pdf"]
    assert all(week["people"]["short"].id in e.changes["patients"] for e in events)
    assert events[1].changes["filters"] == {"week": MONDAY.isoformat()}


def test_report_pages_and_the_run_page_read_a_fixed_number_of_statements(client, as_job, week, make, monkeypatch):
    login(client, make.staff("planner").email)
    urls = [f"/admin/reports/{k.key}/?week={MONDAY.isoformat()}&from={PERIOD['from']}&to={PERIOD['to']}"
            for k in kinds()]
    for url in urls:  # computed once; the pages then read the stored result
        client.get(url)
    kept: list[int] = []
    monkeypatch.setattr(jobs, "enqueue_report", kept.append)
    waiting = _run_page(client.get(f"/admin/reports/hours/?week={(MONDAY - timedelta(days=14)).isoformat()}"))
    before = [_statements(client, url) for url in urls + [waiting]]
    iop = week["iop"]
    group = make.group(iop, name="Grown")
    for n in range(60):  # the clinic grows: more patients, sessions and attendance
        p = make.patient(first_name=f"Grow{n}", last_name=f"More{n}")
        make.enrolment(p, iop, start=MONDAY - timedelta(days=30))
        make.membership(group, p, start=MONDAY - timedelta(days=30))
    for run in _runs():
        run.finished_at = utcnow() - timedelta(days=1)  # recomputed with the new rows
    db.session.commit()
    monkeypatch.undo()
    for url in urls:
        client.get(url)
    monkeypatch.setattr(jobs, "enqueue_report", kept.append)
    after = [_statements(client, url) for url in urls + [waiting]]
    assert before == after, (before, after)
    assert "More0, Grow0" in _listed(client, urls[1])  # the grown clinic's figures were computed again


def test_the_report_settings_have_defaults_and_refuse_nonsense(tmp_path):
    from clinic.config import ConfigError, load_config

    base = {"CLINIC_ENV": "testing", "SECRET_KEY": "x" * 40, "DATABASE_URL": "sqlite://"}
    config = load_config(str(tmp_path), base)
    assert (config["CLINIC_REPORT_JOB_ROWS"], config["CLINIC_REPORT_FRESH_MINUTES"],
            config["CLINIC_REPORT_STALE_SECONDS"], config["CLINIC_REPORT_KEEP_MINUTES"]) == (100_000, 5, 600, 60)
    assert load_config(str(tmp_path), {**base, "CLINIC_REPORT_JOB_ROWS": "0"})["CLINIC_REPORT_JOB_ROWS"] == 0
    for name, value in (("CLINIC_REPORT_JOB_ROWS", "many"), ("CLINIC_REPORT_FRESH_MINUTES", "0"),
                        ("CLINIC_REPORT_KEEP_MINUTES", "-5")):
        with pytest.raises(ConfigError, match=name):
            load_config(str(tmp_path), {**base, name: value})


def test_the_worker_s_periodic_recovery_fails_lost_runs_and_purges_old_results(client, app, as_job, week, make, held):
    login(client, make.staff("planner").email)
    page = _run_page(client.get(HOURS))
    [run] = _runs()
    run.created_at = utcnow() - timedelta(seconds=app.config["CLINIC_REPORT_STALE_SECONDS"] + 1)
    db.session.commit()
    jobs.queue(app).clinic_tasks["recover"]()  # the task the worker runs every minute
    [run] = _runs()
    assert (run.state, run.active_key) == ("failed", None) and "not finished in time" in run.message
    run.finished_at = utcnow() - timedelta(minutes=app.config["CLINIC_REPORT_KEEP_MINUTES"] + 1)
    db.session.commit()
    jobs.queue(app).clinic_tasks["recover"]()
    assert _runs() == [] and client.get(page).status_code == 404


# A stored report's long table is kept in pages: a page view reads the head and one page. ----
@pytest.fixture
def small_pages(monkeypatch):
    """Two rows a page, so the fixture's week spans several pages of patients."""
    from clinic.services import reports
    from clinic.services.reports import hours

    monkeypatch.setattr(reports, "PAGE_SIZE", 2)
    monkeypatch.setattr(hours, "PAGE_SIZE", 2)
    return 2


def _shown(client, url) -> tuple[list[str], str]:
    """The patients table's rows and its pager, as a person reads them."""
    answer = client.get(url)
    assert answer.status_code == 200, answer.status_code
    html = answer.get_data(as_text=True)
    pager = html.split('aria-label="Pages of patients"', 1)[1].split("</nav>", 1)[0]
    return _rows(html), pager


def _last_view() -> list[int]:
    event = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "view", AuditEvent.entity == "report")
                               .order_by(AuditEvent.id.desc())).first()
    return sorted(event.changes["patients"])


def _grow(make, week, count: int, prefix: str) -> None:
    """``count`` more IOP patients with no attendance in the week: each is listed."""
    for n in range(count):
        p = make.patient(first_name=f"{prefix}{n}", last_name=f"{prefix}Many{n:03d}")
        make.enrolment(p, week["iop"], start=MONDAY - timedelta(days=30))


def test_a_stored_long_table_is_paged_as_inline_and_each_page_audits_only_its_patients(
        client, app, week, make, small_pages):
    from clinic.models import ReportRunPage

    _grow(make, week, 5, "Paged")
    login(client, make.staff("planner").email)
    inline_first = _shown(client, HOURS)
    total = int(re.search(r'data-total="(\d+)"', inline_first[1]).group(1))
    last = -(-total // small_pages)
    assert last >= 4, total
    pages = {1: inline_first}
    views = {}
    for page in (1, last // 2, last, last + 50, "x"):
        pages[page] = _shown(client, f"{HOURS}&page={page}")
        views[page] = _last_view()
    app.config["CLINIC_REPORT_JOB_ROWS"] = 0
    seen = []
    for page in (1, last // 2, last, last + 50, "x"):
        stored = _shown(client, f"{HOURS}&page={page}")
        assert 'id="report-computed"' in client.get(f"{HOURS}&page={page}").get_data(as_text=True)
        assert stored == pages[page], page  # the same rows, counts and Previous/Next links
        assert _last_view() == views[page] and len(views[page]) <= small_pages, page  # only the page's patients
        seen += stored[0]
    assert pages[last + 50] == pages[last] and pages["x"] == pages[1]  # past the end: the last page, as inline
    assert len(pages[last][0]) == total - (last - 1) * small_pages
    assert len(set(seen)) == 2 * small_pages + len(pages[last][0])  # page 1, a middle and the last: other rows
    [run] = _runs()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ReportRunPage)
                             .where(ReportRunPage.run_id == run.id)) == last  # stored in pages of the page size
    # The pages go with their run.
    later = utcnow() + timedelta(minutes=app.config["CLINIC_REPORT_KEEP_MINUTES"] + 1)
    assert runs.purge_expired(later) == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ReportRunPage)) == 0


def test_the_file_of_a_stored_paged_report_holds_every_row_in_order(client, app, week, make, small_pages):
    _grow(make, week, 5, "Filed")
    login(client, make.staff("admin").email)
    url = f"/admin/reports/hours.csv?week={MONDAY.isoformat()}&table=patients"
    inline_rows = list(csv.reader(io.StringIO(client.get(url).get_data(as_text=True).lstrip("\ufeff"))))
    app.config["CLINIC_REPORT_JOB_ROWS"] = 0
    rows = list(csv.reader(io.StringIO(client.get(url).get_data(as_text=True).lstrip("\ufeff"))))
    assert rows == inline_rows and len(rows) - 1 > 3 * small_pages  # every page, in order
    assert sum(1 for r in rows if r[0].startswith("FiledMany")) == 5
    event = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "export")
                               .order_by(AuditEvent.id.desc())).first()
    assert len(event.changes["patients"]) == len(rows) - 1  # the export names every listed patient


def test_a_stored_page_reads_the_same_statements_with_ten_times_the_rows(client, app, as_job, week, make,
                                                                         small_pages):
    _grow(make, week, 3, "Few")
    login(client, make.staff("planner").email)
    client.get(HOURS)  # computed once
    before = [_statements(client, f"{HOURS}&page={p}") for p in (1, 2, 99)]
    _grow(make, week, 30, "Lots")
    [run] = _runs()
    run.finished_at = utcnow() - timedelta(days=1)  # computed again with the new rows
    db.session.commit()
    client.get(HOURS)
    after = [_statements(client, f"{HOURS}&page={p}") for p in (1, 2, 99)]
    assert before == after, (before, after)
    assert "LotsMany" in _shown(client, f"{HOURS}&page=99")[0][-1]  # the last page is of the grown report

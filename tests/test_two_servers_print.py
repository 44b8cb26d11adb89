"""Two app servers and one print worker on one PostgreSQL and one Redis print a batch together.

Production-like: separate processes (gunicorn when installed, else ``flask run``) with
``CLINIC_ENV=production`` (CSRF on, a long secret), one PostgreSQL database made by the
migrations, the print queue on Redis under a queue name of this test's own, and one worker
process started with the README's worker command. A planner logs in on server A and starts a
group's batch there; the job's status is polled on server B (the login and the job live in
the database, not in a server's memory), the PDF is downloaded from B and holds the group's
sheets; another login gets 404 on both servers. A second test stops the worker before the
batch is posted: the job waits, "queued", and a newly started worker finishes it (the message
waited on Redis). Every process is stopped in teardown.

PostgreSQL and Redis only; under ``CI=true`` either missing fails.
"""

from __future__ import annotations

import html
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from http.cookiejar import CookieJar
from io import BytesIO
from pathlib import Path

import pytest
import sqlalchemy as sa

from clinic.extensions import db
from conftest import PASSWORD, PG_ADMIN_URL, Factory, _make_app, missing

ROOT = Path(__file__).resolve().parent.parent
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
SECRET = "two-servers-test-secret-" + "x" * 32
#: Seconds to wait for a server to answer, and for the batch to be printed.
START_TIMEOUT = 60
PRINT_TIMEOUT = 120
NAMES = ("Ashgrove", "Bramblecot", "Cindervale")


def _redis_answers(url: str) -> bool:
    parts = urllib.parse.urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 6379), timeout=3) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Process:
    name: str
    process: subprocess.Popen
    log: Path

    def tail(self) -> str:
        return f"--- {self.name} ---\n" + self.log.read_text(errors="replace")[-3000:]


def _start(name: str, command: list[str], environ: dict[str, str], logs: Path) -> Process:
    log = logs / f"{name}.log"
    with log.open("w") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=environ, stdout=out, stderr=subprocess.STDOUT)
    return Process(name, process, log)


def _stop(processes: list[Process]) -> None:
    for proc in processes:
        if proc.process.poll() is None:
            proc.process.terminate()
    for proc in processes:
        try:
            proc.process.wait(15)
        except subprocess.TimeoutExpired:
            proc.process.kill()
            proc.process.wait(15)


def _server_command(port: int) -> list[str]:
    gunicorn = Path(sys.executable).with_name("gunicorn")
    if gunicorn.exists():
        return [str(gunicorn), "--bind", f"127.0.0.1:{port}", "--workers", "2", "--threads", "4",
                "--access-logfile", "-", "wsgi:app"]
    return [sys.executable, "-m", "flask", "--app", "wsgi", "run", "--host", "127.0.0.1", "--port", str(port),
            "--no-reload", "--with-threads"]


class Browser:
    """A cookie-keeping HTTP client that never goes through a proxy, for one login on several servers."""

    def __init__(self) -> None:
        self.cookies = CookieJar()
        self.opener = urllib.request.OpenerDirector()
        # No redirect or error processing: every answer comes back as it is (302 included).
        for handler in (urllib.request.HTTPHandler(), urllib.request.HTTPCookieProcessor(self.cookies)):
            self.opener.add_handler(handler)

    def request(self, url: str, data: dict | None = None) -> tuple[int, dict[str, str], bytes]:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        with self.opener.open(urllib.request.Request(url, data=body), timeout=60) as answer:
            return answer.status, dict(answer.headers), answer.read()


def _csrf(page: bytes) -> str:
    found = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', page) or \
        re.search(rb'value="([^"]+)"[^>]*name="csrf_token"', page)
    assert found, "no CSRF token on the page"
    return html.unescape(found.group(1).decode())


def _wait_until_answering(proc: Process, base: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        assert proc.process.poll() is None, f"{proc.name} stopped:\n{proc.tail()}"
        try:
            with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(base + "/login", timeout=5) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        assert time.monotonic() < deadline, f"{proc.name} did not answer within {START_TIMEOUT} s:\n{proc.tail()}"
        time.sleep(0.2)  # polling a starting process: there is no event to wait on


@pytest.fixture
def production(tmp_path):
    """A migrated PostgreSQL database with a planner and a group of three, and its environment."""
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except Exception:  # noqa: BLE001 - any failure means "not available"
        admin.dispose()
        missing(f"PostgreSQL at {PG_ADMIN_URL}")
    if not _redis_answers(REDIS_URL):
        admin.dispose()
        missing(f"Redis at {REDIS_URL}")
    name = f"clinic_two_servers_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = admin.url.set(database=name).render_as_string(hide_password=False)
    environ = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("CLINIC_", "FLASK_"))},
        "CLINIC_ENV": "production",
        "SECRET_KEY": SECRET,
        "DATABASE_URL": url,
        "CLINIC_JOB_QUEUE": REDIS_URL,
        "CLINIC_JOB_QUEUE_NAME": f"clinic-test-{uuid.uuid4().hex[:8]}",
        "SESSION_COOKIE_SECURE": "0",  # plain HTTP on 127.0.0.1; behind TLS in real production
        "CLINIC_REQUIRE_2FA": "none",
    }
    try:
        done = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"], cwd=ROOT,
                              env=environ, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-3000:]
        app = _make_app(url, tmp_path)
        today = date.today()
        with app.app_context():
            from clinic.services import enrolment, membership

            make = Factory()
            planner = make.staff("planner", email="pat@clinic.example")
            iop = make.track("iop")
            group = make.group(iop, name="IOP Evening A")
            other = make.staff("planner", email="other@clinic.example")
            for last_name in NAMES:
                patient = make.patient(first_name="Test", last_name=last_name)
                enrolment.enrol(patient, iop, today - timedelta(days=14))
                membership.add_member(group, patient, today - timedelta(days=14))
            info = {"planner": planner.email, "other": other.email, "group": group.id}
            db.session.remove()
            db.engine.dispose()
        yield environ, info
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def servers(production, tmp_path):
    """App servers A and B and one worker, started as separate processes; stopped afterwards."""
    environ, info = production
    started: list[Process] = []
    try:
        bases = []
        for label in ("a", "b"):
            port = _free_port()
            started.append(_start(f"server-{label}", _server_command(port), environ, tmp_path))
            bases.append(f"http://127.0.0.1:{port}")
        started.append(_start("worker", [sys.executable, "-m", "flask", "--app", "wsgi", *WORKER], environ,
                              tmp_path))
        for proc, base in zip(started, bases):
            _wait_until_answering(proc, base)
        yield bases, info, started
    finally:
        _stop(started)


#: The worker command after ``flask --app wsgi`` (README: "Running in production").
WORKER = ["jobs", "worker", "--workers", "1"]


def _log_in(base: str, email: str) -> Browser:
    browser = Browser()
    status, _, page = browser.request(base + "/login")
    assert status == 200
    status, headers, _ = browser.request(base + "/login", {"csrf_token": _csrf(page), "email": email,
                                                           "password": PASSWORD})
    assert status == 302 and "/login" not in headers["Location"], headers
    return browser


def _start_batch(browser: Browser, base: str, group: int) -> str:
    """Post the group's batch form on ``base`` as a browser without JavaScript; the job page's path."""
    today = date.today()
    form_url = f"/admin/print/progress/batch/?group={group}"
    status, _, page = browser.request(base + form_url)
    assert status == 200
    period = {"from": (today - timedelta(days=13)).isoformat(), "to": today.isoformat(), "version": "staff"}
    status, headers, _ = browser.request(base + form_url, {"csrf_token": _csrf(page), **period, "submit": "Print"})
    assert status == 303, (status, headers)
    job_page = urllib.parse.urlsplit(headers["Location"]).path
    assert re.fullmatch(r"/admin/print/jobs/\d+/", job_page), job_page
    return job_page


def _status(browser: Browser, base: str, job_page: str) -> dict:
    status, headers, body = browser.request(base + job_page + "status")
    assert status == 200 and headers["Content-Type"].startswith("application/json")
    return json.loads(body)


def _wait_done(browser: Browser, base: str, job_page: str, processes: list[Process]) -> dict:
    deadline = time.monotonic() + PRINT_TIMEOUT
    while True:
        state = _status(browser, base, job_page)
        assert state["state"] != "failed", (state, [p.tail() for p in processes])
        if state["state"] == "done":
            return state
        assert time.monotonic() < deadline, (state, [p.tail() for p in processes])
        time.sleep(1)  # the browser's own polling interval: a status is a snapshot, no event to wait on


def _sheets_text(pdf: bytes) -> str:
    from pypdf import PdfReader

    return "\n".join(page.extract_text() for page in PdfReader(BytesIO(pdf)).pages)


def test_a_batch_started_on_one_server_is_followed_and_downloaded_on_the_other(servers):
    (a, b), info, processes = servers
    browser = _log_in(a, info["planner"])
    job_page = _start_batch(browser, a, info["group"])

    # Server B knows the login and the job: its page, and its status until it is done.
    status, _, page = browser.request(b + job_page)
    assert status == 200 and b"<progress" in page
    state = _wait_done(browser, b, job_page, processes)
    assert state["done"] == state["total"] == 3

    status, headers, pdf = browser.request(b + state["download"])
    assert status == 200 and headers["Content-Type"] == "application/pdf"
    assert headers["Content-Disposition"] == f'attachment; filename="progress-group-{info["group"]}-staff.pdf"'
    assert "no-store" in headers["Cache-Control"]
    text = _sheets_text(pdf)
    for name in NAMES:
        assert name in text

    # The work was done by the worker process, not by an app server.
    worker = next(p for p in processes if p.name == "worker")
    assert "Executing clinic.jobs.print.chunk" in worker.log.read_text()
    assert "POST /admin/print/progress/batch/" in processes[0].log.read_text()
    assert "/download" in processes[1].log.read_text() and "/download" not in processes[0].log.read_text()

    # Another login, on either server, gets 404 for it; no login, the login page.
    other = _log_in(b, info["other"])
    for base in (a, b):
        for suffix in ("", "status", "download"):
            assert other.request(base + job_page + suffix)[0] == 404
    status, headers, _ = Browser().request(b + job_page + "download")
    assert status == 302 and "/login" in headers["Location"]


def test_a_batch_waits_while_no_worker_runs_and_a_new_worker_finishes_it(servers, production, tmp_path):
    (a, b), info, processes = servers
    environ, _ = production
    worker = next(p for p in processes if p.name == "worker")
    _stop([worker])  # the worker is restarted (a deployment, a crash): nobody renders meanwhile
    browser = _log_in(a, info["planner"])
    job_page = _start_batch(browser, a, info["group"])
    state = _status(browser, b, job_page)
    assert (state["state"], state["done"], state["download"]) == ("queued", 0, None)
    status, _, page = browser.request(b + job_page)
    assert b"Waiting for a print worker" in page and b'http-equiv="refresh"' in page
    # The message waited on Redis: the new worker takes it.
    processes.append(_start("worker-2", [sys.executable, "-m", "flask", "--app", "wsgi", *WORKER], environ,
                            tmp_path))
    state = _wait_done(browser, b, job_page, processes)
    status, _, pdf = browser.request(b + state["download"])
    assert status == 200 and all(name in _sheets_text(pdf) for name in NAMES)
    assert "Executing clinic.jobs.print.chunk" not in worker.log.read_text()

"""Operator's check: many counselors recording at once on several app servers lose nothing.

    .venv/bin/python bench/concurrent_records.py [--clients 20] [--rounds 8] [--servers 2]

Check-ins are one row per assignment and day, written by every record of that day and by
the patient page's check-in form. This script proves over real HTTP that no save
overwrites check-in values someone else saved meanwhile, with several app servers
sharing one PostgreSQL database:

1. It creates a throwaway PostgreSQL database ``clinic_bench_<pid>`` next to the one named
   by ``TEST_DATABASE_URL`` (default ``postgresql+psycopg://postgres@127.0.0.1:5432/test``,
   as the tests use), migrates it with ``flask --app wsgi db upgrade`` and builds, through
   the services: one IOP group, ``--clients`` patients each enrolled, in the group and
   with one active exercise assignment (every other one with a check-in for today
   already), two sessions of the group today that have already started, each with its
   own counselor facilitating, and an admin.
2. It starts ``--servers`` app servers (``flask run --with-threads``, or gunicorn when the
   venv has it) on free ports of 127.0.0.1, sharing the database and the secret key.
3. Each client (a thread) logs in through the login form as the admin or one of the
   two facilitators and owns one check-in line: its own patient's assignment. For
   ``--rounds`` rounds it takes, in turn, a door it may use (session A's record page,
   session B's record page, the check-in form), opens it on one server, changes only its
   own line's reflection to ``c<k>-r<i>`` and its mood after, and posts the whole form
   exactly as a browser would (every field, hidden versions included) to the next server,
   as a load balancer without sticky sessions might. A redirect is an accepted save; the
   page saying that someone else saved meanwhile is a refusal; anything else is an error.
4. As each line has a single owner, its final value in ``exercise_checkin`` must be its
   owner's last accepted write. Any other value is a lost field value.

It prints one small table and exits with 1 when a value was lost, a request failed, or
nothing was accepted at all; the database is dropped and the servers stopped at the end.
"""

from __future__ import annotations

import argparse
import html
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import requests
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ADMIN_URL = os.environ.get("TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
SECRET_KEY = "concurrent-records-bench-only-secret"
PASSWORD = "bench horse battery staple"
#: Seconds any one HTTP request may take, and the whole client phase.
REQUEST_TIMEOUT = 60
PHASE_TIMEOUT = 600
#: What a check-in saved before the run holds (every other line has one).
SEED_REFLECTION = "seed"


# The throwaway database ---------------------------------------------------------------
def create_database() -> tuple[sa.Engine, str, str]:
    """Create ``clinic_bench_<pid>``; return the admin engine, its name and its URL."""
    admin = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"clinic_bench_{os.getpid()}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    return admin, name, admin.url.set(database=name).render_as_string(hide_password=False)


def drop_database(admin: sa.Engine, name: str) -> None:
    """Drop the throwaway database, whoever is still connected."""
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def app_environ(url: str) -> dict[str, str]:
    """The environment of the migrations and the app servers."""
    return {**os.environ, "DATABASE_URL": url, "CLINIC_ENV": "development", "SECRET_KEY": SECRET_KEY}


def migrate(url: str) -> None:
    """Bring the database up to date with the migrations, as an operator would."""
    done = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"], cwd=ROOT,
                          env=app_environ(url), capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        raise SystemExit(f"The migrations failed:\n{done.stderr[-3000:]}")


# The scenario, built through the services ------------------------------------------------
@dataclass
class Scenario:
    """What the clients need: who logs in, which sessions, which line each one owns."""

    admin: str
    facilitators: dict[int, str]  # session id -> its facilitator's e-mail
    sessions: list[int]  # session A, session B
    #: Client number -> its assignment id, and what its line held before the run.
    lines: dict[int, int] = field(default_factory=dict)
    initial: dict[int, tuple[str | None, int | None]] = field(default_factory=dict)


def session_times(now: datetime) -> tuple[datetime, datetime, int]:
    """Two starts today that have passed (now-2h and now-1h when possible) and a length."""
    midnight = datetime.combine(now.date(), datetime.min.time())
    first, second = now - timedelta(hours=2), now - timedelta(hours=1)
    if first >= midnight:
        return first.replace(second=0, microsecond=0), second.replace(second=0, microsecond=0), 30
    if now - midnight < timedelta(minutes=4):
        raise SystemExit("Run this after 00:04: both sessions must have started today.")
    return midnight, midnight + timedelta(minutes=2), 1


def build_scenario(url: str, clients: int) -> Scenario:
    """Create the clinic of the run through the services; return what the clients need."""
    from clinic import create_app
    from clinic.extensions import db
    from clinic.services import accounts, assignments, catalogue, checkins, enrolment, membership, patients
    from clinic.services.sessions import create_session

    app = create_app({"ENVIRON": {"CLINIC_ENV": "development", "SECRET_KEY": SECRET_KEY, "DATABASE_URL": url}})
    today = date.today()
    start = today - timedelta(days=30)
    with app.app_context():
        admin = accounts.create_user("admin@bench.example", "Bench Admin", "admin", PASSWORD)
        first_facilitator = accounts.create_user("first@bench.example", "First Counselor", "counselor", PASSWORD)
        second_facilitator = accounts.create_user("second@bench.example", "Second Counselor", "counselor",
                                                  PASSWORD)
        iop = catalogue.create_track({"code": "iop", "name": "Intensive outpatient (IOP)", "care_level": 3,
                                      "weekly_min_minutes": 540, "weekly_min_days": 3})
        exercise = catalogue.create_exercise({"title": "Thank someone who helped you", "direction": "others",
                                              "energy": "low", "default_times_per_week": 3, "tracks": [iop],
                                              "active": True})
        group = catalogue.create_group({"name": "Bench IOP group", "track": iop, "facilitator": first_facilitator,
                                        "room": "Room 1", "capacity": max(clients, 10), "active": True})
        db.session.commit()
        people = []
        for k in range(clients):
            patient = patients.create_patient({"record_number": f"BENCH-{k:04d}", "first_name": f"Client{k}",
                                               "last_name": "Bench", "active": True})
            enrolment.enrol(patient, iop, start, counselor=first_facilitator, commit=False)
            membership.add_member(group, patient, start, commit=False)
            people.append(patient)
        db.session.commit()
        fanned = assignments.assign_exercise(exercise, people, start=start, actor=admin)
        if len(fanned.assigned) != clients:
            raise SystemExit(f"Only {len(fanned.assigned)} of {clients} assignments were made: {fanned.unsuitable}")
        first_start, second_start, length = session_times(datetime.now())
        sessions = [
            create_session({"group": group, "starts_at": starts_at, "duration_minutes": length, "room": room,
                            "facilitator": facilitator, "status": "planned", "cancel_reason": "",
                            "group_note": ""})
            for starts_at, room, facilitator in ((first_start, "Room 1", first_facilitator),
                                                 (second_start, "Room 2", second_facilitator))
        ]
        db.session.commit()
        by_patient = {a.patient_id: a for a in fanned.assigned}
        scenario = Scenario(admin=admin.email, sessions=[s.id for s in sessions],
                            facilitators={sessions[0].id: first_facilitator.email,
                                          sessions[1].id: second_facilitator.email})
        for k, patient in enumerate(people):
            assignment = by_patient[patient.id]
            scenario.lines[k] = assignment.id
            scenario.initial[k] = (None, None)
            if k % 2 == 0:  # half the lines already have today's check-in, half get created
                checkins.record_checkin(assignment, today, checkins.CheckinInput(outcome="done",
                                        reflection=SEED_REFLECTION), recorded_by=admin, today=today)
                scenario.initial[k] = (SEED_REFLECTION, None)
        db.session.remove()
        db.engine.dispose()
    return scenario


# The app servers ------------------------------------------------------------------------
def free_port() -> int:
    """A port of 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Server:
    """One app server process and where it answers."""

    process: subprocess.Popen
    base: str
    log: Path


def server_command(port: int) -> list[str]:
    """gunicorn (threads) when the venv has it, else Flask's threaded server."""
    gunicorn = Path(sys.executable).with_name("gunicorn")
    if gunicorn.exists():
        return [str(gunicorn), "--bind", f"127.0.0.1:{port}", "--workers", "1", "--threads", "16", "wsgi:app"]
    return [sys.executable, "-m", "flask", "--app", "wsgi", "run", "--host", "127.0.0.1", "--port", str(port),
            "--no-reload", "--with-threads"]


def start_servers(count: int, url: str, logs: Path) -> list[Server]:
    """Start ``count`` app servers on one database; wait until each answers /login."""
    servers = []
    for n in range(count):
        port = free_port()
        log = logs / f"server-{n}.log"
        with log.open("w") as out:
            process = subprocess.Popen(server_command(port), cwd=ROOT, env=app_environ(url),
                                       stdout=out, stderr=subprocess.STDOUT)
        servers.append(Server(process, f"http://127.0.0.1:{port}", log))
    deadline = time.monotonic() + 60
    for server in servers:
        while True:
            if server.process.poll() is not None:
                raise SystemExit(f"An app server stopped:\n{server.log.read_text()[-3000:]}")
            try:
                if direct().get(server.base + "/login", timeout=5).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"{server.base} did not answer /login within 60 s.")
            time.sleep(0.2)
    return servers


def stop_servers(servers: list[Server]) -> None:
    """Stop the servers this script started."""
    for server in servers:
        if server.process.poll() is None:
            server.process.terminate()
    for server in servers:
        try:
            server.process.wait(10)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait(10)


# Reading a form as a browser submits it -------------------------------------------------------
class FormReader(HTMLParser):
    """The fields a browser would submit from one form (by id, else the first form)."""

    def __init__(self, form_id: str | None):
        super().__init__()
        self.form_id = form_id
        self.inside = False
        self.found = False
        self.action: str | None = None
        self.fields: list[tuple[str, str]] = []
        self._clicked = False
        self._select: str | None = None
        self._first_option: str | None = None
        self._selected = False
        self._textarea: str | None = None
        self._text = ""

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.inside = not self.found and (self.form_id is None or a.get("id") == self.form_id)
            if self.inside:
                self.found, self.action = True, a.get("action")
            return
        if not self.inside or "disabled" in a:
            return
        name = a.get("name")
        kind = (a.get("type") or ("submit" if tag == "button" else "text")).lower()
        if tag in ("input", "button") and kind in ("submit", "image", "reset", "button", "file"):
            if kind == "submit" and name and not self._clicked:  # the button that is clicked
                self.fields.append((name, a.get("value") or ""))
                self._clicked = True
        elif tag == "input" and name:
            if kind not in ("checkbox", "radio") or "checked" in a:
                self.fields.append((name, a.get("value") or ("on" if kind in ("checkbox", "radio") else "")))
        elif tag == "select" and name:
            self._select, self._first_option, self._selected = name, None, False
        elif tag == "option" and self._select:
            if self._first_option is None:
                self._first_option = a.get("value", "")
            if "selected" in a and not self._selected:
                self.fields.append((self._select, a.get("value", "")))
                self._selected = True
        elif tag == "textarea" and name:
            self._textarea, self._text = name, ""

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "select" and self._select:
            if not self._selected:
                self.fields.append((self._select, self._first_option or ""))
            self._select = None
        elif tag == "textarea" and self._textarea:
            text = self._text[1:] if self._text.startswith("\n") else self._text
            self.fields.append((self._textarea, text))
            self._textarea = None

    def handle_data(self, data):
        if self._textarea:
            self._text += data


def read_form(page: str, form_id: str | None = None) -> tuple[str | None, list[tuple[str, str]]] | None:
    """(action, fields) of the form, or None when the page has no such form."""
    reader = FormReader(form_id)
    reader.feed(page)
    reader.close()
    return (reader.action, reader.fields) if reader.found else None


def replaced(fields: list[tuple[str, str]], **values: str) -> list[tuple[str, str]]:
    """The fields with some values replaced; every name must be on the form."""
    missing = set(values) - {name for name, _ in fields}
    if missing:
        raise LookupError(f"the form has no field {sorted(missing)}")
    return [(name, values.get(name, value)) for name, value in fields]


def alert(page: str, element_id: str) -> str | None:
    """The plain text of the element with ``element_id``, or None."""
    found = re.search(rf'id="{element_id}"[^>]*>(.*?)</', page, re.S)
    return None if found is None else html.unescape(re.sub(r"\s+", " ", found.group(1))).strip()


def first_line(response: requests.Response) -> str:
    """What a person would read first on an unexpected answer."""
    page = response.text
    for element_id in ("record-error", "record-invalid", "checkin-refusal", "login-error"):
        text = alert(page, element_id)
        if text:
            return text[:160]
    title = re.search(r"<title>(.*?)</title>", page, re.S)
    if title:
        return html.unescape(title.group(1)).strip()[:160]
    return next((line.strip() for line in page.splitlines() if line.strip()), "(empty)")[:160]


def direct() -> requests.Session:
    """An HTTP session that never goes through a proxy (only 127.0.0.1 is spoken to)."""
    http = requests.Session()
    http.trust_env = False
    return http


# The clients --------------------------------------------------------------------------
@dataclass
class Tally:
    """What all clients saw, shared between threads."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    outcomes: Counter = field(default_factory=Counter)  # (door, accepted|refused|error) -> count
    errors: list[str] = field(default_factory=list)
    #: Client number -> (reflection, mood after) of its last accepted write.
    last: dict[int, tuple[str, int]] = field(default_factory=dict)

    def note(self, door: str, outcome: str, detail: str | None = None) -> None:
        """Count one save (and keep the first words of an error)."""
        with self.lock:
            self.outcomes[door, outcome] += 1
            if detail:
                self.errors.append(detail)

    def count(self, outcome: str) -> int:
        """How many saves ended as ``outcome``."""
        return sum(n for (_door, kind), n in self.outcomes.items() if kind == outcome)


class Counselor(threading.Thread):
    """One person at a keyboard: logs in, then saves their own line through the doors they may use."""

    #: Logins go one at a time: they are not what is measured, and two logins to one account
    #: at the same moment both update its versioned row (``last_login_at``), so one of
    #: them fails with StaleDataError (a 500) today.
    logins = threading.Lock()

    def __init__(self, k: int, email: str, doors: list[str], assignment_id: int, servers: list[str],
                 rounds: int, tally: Tally, barrier: threading.Barrier, messages: dict[str, str]):
        super().__init__(name=f"client-{k}", daemon=True)
        self.k, self.email, self.doors, self.aid = k, email, doors, assignment_id
        self.servers, self.rounds, self.tally, self.barrier = servers, rounds, tally, barrier
        self.messages = messages
        self.http = direct()

    def run(self):
        try:
            with self.logins:
                self.log_in()
        except Exception as exc:  # noqa: BLE001 - counted and reported, the run goes on
            self.tally.note("login", "error", f"client {self.k} login: {exc}")
            self.barrier.abort()
            return
        try:
            self.barrier.wait(120)
        except threading.BrokenBarrierError:
            return
        for i in range(self.rounds):
            door = self.doors[(self.k + i) % len(self.doors)]
            try:
                self.save(i, door)
            except Exception as exc:  # noqa: BLE001 - counted and reported, the run goes on
                self.tally.note(door, "error", f"client {self.k} round {i} {door}: {type(exc).__name__}: {exc}")

    def log_in(self) -> None:
        base = self.servers[self.k % len(self.servers)]
        page = self.http.get(base + "/login", timeout=REQUEST_TIMEOUT)
        form = read_form(page.text)
        if page.status_code != 200 or form is None:
            raise RuntimeError(f"GET /login: {page.status_code} {first_line(page)}")
        fields = replaced(form[1], email=self.email, password=PASSWORD)
        response = self.http.post(base + "/login", data=fields, timeout=REQUEST_TIMEOUT, allow_redirects=False)
        if response.status_code != 302 or "/login" in response.headers.get("Location", ""):
            raise RuntimeError(f"POST /login: {response.status_code} {first_line(response)}")

    def save(self, i: int, door: str) -> None:
        """Open ``door`` on one server, change only this client's line, post it to the next server."""
        reflection, mood = f"c{self.k}-r{i}", (self.k + i) % 11
        opened_on = self.servers[(self.k + i) % len(self.servers)]
        posted_to = self.servers[(self.k + i + 1) % len(self.servers)]
        if door == "check-in form":
            url, form_id, stale_id, stale_message = (f"/admin/day/checkin/?assignment={self.aid}", "checkin-form",
                                                     "checkin-refusal", self.messages["checkin"])
            names = {"outcome": "outcome", "mood_after": "mood_after", "reflection": "reflection"}
        else:
            url, form_id, stale_id, stale_message = (f"/admin/record/?session={door.rsplit('#', 1)[1]}",
                                                     "record-form", "record-stale", self.messages["record"])
            names = {name: f"{name}-{self.aid}" for name in ("outcome", "mood_after", "reflection")}
        page = self.http.get(opened_on + url, timeout=REQUEST_TIMEOUT, allow_redirects=False)
        form = read_form(page.text, form_id) if page.status_code == 200 else None
        if form is None:
            self.tally.note(door, "error", f"client {self.k} GET {url}: {page.status_code} {first_line(page)}")
            return
        action, fields = form
        if names["outcome"] not in dict(fields):
            fields.append((names["outcome"], ""))  # no radio button chosen yet: choosing one adds it
        changes = {names["reflection"]: reflection, names["mood_after"]: str(mood)}
        if not dict(fields).get(names["outcome"]):
            changes[names["outcome"]] = "done"  # a line without a check-in yet needs an outcome
        response = self.http.post(posted_to + (action or url),
                                  data=replaced(fields, **changes), timeout=REQUEST_TIMEOUT, allow_redirects=False)
        location = response.headers.get("Location", "")
        if response.status_code in (302, 303) and "/login" not in location:
            with self.tally.lock:
                self.tally.last[self.k] = (reflection, mood)
            self.tally.note(door, "accepted")
        elif response.status_code == 200 and alert(response.text, stale_id) == stale_message:
            self.tally.note(door, "refused")
        else:
            self.tally.note(door, "error",
                            f"client {self.k} POST {url}: {response.status_code} {first_line(response)}")


def doors_of(email: str, scenario: Scenario) -> list[str]:
    """The doors a user may open: the records they may record, and the check-in form."""
    records = [f"record {letter} #{sid}" for letter, sid in zip("AB", scenario.sessions)
               if email == scenario.admin or scenario.facilitators[sid] == email]
    return [*records, "check-in form"]


def run_clients(scenario: Scenario, servers: list[str], clients: int, rounds: int) -> tuple[Tally, float]:
    """Let every client log in, then start them together; return the tally and the elapsed time."""
    from clinic.services import checkins
    from clinic.services.recording.validate import STALE_MESSAGE as RECORD_STALE

    messages = {"record": RECORD_STALE, "checkin": checkins.STALE_MESSAGE}
    tally = Tally()
    started: list[float] = []
    barrier = threading.Barrier(clients + 1, action=lambda: started.append(time.monotonic()))
    accounts = [scenario.admin, *scenario.facilitators.values()]
    threads = []
    for k in range(clients):
        email = accounts[k % len(accounts)]
        threads.append(Counselor(k, email, doors_of(email, scenario), scenario.lines[k], servers, rounds, tally,
                                 barrier, messages))
    for thread in threads:
        thread.start()
    try:
        barrier.wait(180)
    except threading.BrokenBarrierError:
        pass
    deadline = time.monotonic() + PHASE_TIMEOUT
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    elapsed = time.monotonic() - (started[0] if started else time.monotonic())
    unfinished = [t.name for t in threads if t.is_alive()]
    if unfinished:
        tally.note("run", "error", f"{len(unfinished)} clients still running after {PHASE_TIMEOUT} s")
    return tally, elapsed


# The verdict ---------------------------------------------------------------------------
def lost_values(url: str, scenario: Scenario, tally: Tally) -> list[str]:
    """Each line field whose final value is not its owner's last accepted write."""
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = {aid: (reflection, mood) for aid, reflection, mood in conn.execute(
            sa.text("SELECT assignment_id, reflection, mood_after FROM exercise_checkin WHERE on_date = :day"),
            {"day": date.today()})}
    engine.dispose()
    lost = []
    for k, aid in scenario.lines.items():
        expected = tally.last.get(k, scenario.initial[k])
        final = rows.get(aid, (None, None))
        for name, want, got in zip(("reflection", "mood after"), expected, final):
            if want != got:
                lost.append(f"client {k}'s {name}: {got!r} in the database, last accepted {want!r}")
    return lost


def report(args, tally: Tally, lost: list[str], elapsed: float) -> None:
    """The table, then the doors, then the first problems."""
    header = ("servers", "clients", "rounds", "attempted", "accepted", "refused stale", "errors", "lost values",
              "elapsed")
    attempted = sum(n for (door, _kind), n in tally.outcomes.items() if door not in ("login", "run"))
    values = (args.servers, args.clients, args.rounds, attempted, tally.count("accepted"), tally.count("refused"),
              tally.count("error"), len(lost), f"{elapsed:.1f} s")
    widths = [max(len(h), len(str(v))) for h, v in zip(header, values)]
    print("  ".join(h.rjust(w) for h, w in zip(header, widths)))
    print("  ".join(str(v).rjust(w) for v, w in zip(values, widths)))
    doors = sorted({door for door, _kind in tally.outcomes})
    print("by door: " + "; ".join(
        f"{door}: {tally.outcomes[door, 'accepted']} accepted, {tally.outcomes[door, 'refused']} refused, "
        f"{tally.outcomes[door, 'error']} errors" for door in doors))
    for line in tally.errors[:10]:
        print("error:", line)
    for line in lost[:10]:
        print("lost:", line)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=20, help="people saving at once (default 20)")
    parser.add_argument("--rounds", type=int, default=8, help="saves per person (default 8)")
    parser.add_argument("--servers", type=int, default=2, help="app servers on the one database (default 2)")
    args = parser.parse_args(argv)
    if not (1 <= args.clients <= 200 and 1 <= args.rounds <= 100 and 1 <= args.servers <= 8):
        parser.error("keep to 1-200 clients, 1-100 rounds and 1-8 servers")

    logs = Path(tempfile.mkdtemp(prefix="clinic-bench-"))
    admin, name, url = create_database()
    servers: list[Server] = []
    try:
        migrate(url)
        scenario = build_scenario(url, args.clients)
        servers = start_servers(args.servers, url, logs)
        tally, elapsed = run_clients(scenario, [s.base for s in servers], args.clients, args.rounds)
        lost = lost_values(url, scenario, tally)
    finally:
        stop_servers(servers)
        drop_database(admin, name)
    report(args, tally, lost, elapsed)
    if tally.count("error"):
        for server in servers:
            text = server.log.read_text()
            if "Traceback" in text:
                lines = text[text.rindex("Traceback"):].splitlines()
                last = next((line for line in lines[1:] if line and not line[0].isspace()), lines[-1])
                print(f"last traceback in {server.base}'s log ends: {last[:300]}")
    shutil.rmtree(logs, ignore_errors=True)
    if tally.count("accepted") == 0:
        print("Nothing was accepted: this run proves nothing.")
        return 1
    return 1 if lost or tally.count("error") else 0


if __name__ == "__main__":
    sys.exit(main())

"""How much time our PDF exports add on top of WeasyPrint's own rendering, and batch jobs.

    .venv/bin/python bench/pdf_bench.py [--repeat 21] [--batch 30]
    .venv/bin/python bench/pdf_bench.py --jobs-only [--jobs-batch 100] [--workers 2] [--chunk 10] [--rounds 3]

Builds a throwaway SQLite clinic (the migrations, then the reference data and the demo
clinic, as ``CLINIC_ENV=development``), picks the demo patient with the most active
exercises and, for each document ``documents()`` lists, times (median of ``--repeat`` runs):

(a) our whole export: load the patient, query, template, render, audit event, commit;
(b) WeasyPrint alone on the very HTML (a) renders, with the same parsed stylesheet,
    fetcher and options: ``HTML(string=...).write_pdf(...)``;

and prints both, our overhead in percent of WeasyPrint's time (the target is under 20 %;
measured inside each export run, and also as (a) against (b)), and the
throughput of a batch of ``--batch`` patients in pages per second: one export per patient,
and, where the document has one, a single batch PDF.

Then (or alone with ``--jobs-only``) the batch side by side, in one run: a
``--jobs-batch`` sheet batch of staff progress sheets over four weeks (the demo has 42
patients, so the batch runs through them again in order; ``--database-url`` measures an
existing clinic, e.g. one filled by ``bench/scale.py``, with its largest track's patients)

(s) serial: today's ``progress_batch`` in one fresh process (after one warm-up sheet);
(j) the background job: ``start_progress_batch`` with a real worker
    (``flask jobs worker --workers N``, Huey on Redis at ``--redis`` when it answers, else
    on a SQLite queue file) that was warmed up with a small job; timed from the start
    until the merged PDF is stored;

with the wall time, the speed-up (s)/(j), the pages of both, and the peak resident memory
(``VmHWM`` in ``/proc``) of the serial process and of each worker process.

To add a document (e.g. the progress sheets), add a ``Document`` to ``documents()``:
``export(patient_id)`` must do what the admin does and return the PDF bytes;
``html(patient_id)`` returns the HTML that export renders; ``batch(patient_ids)``
(optional) returns one PDF for many patients.
"""

from __future__ import annotations

import argparse
import gc
import io
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

#: Our overhead on top of WeasyPrint must stay below this share of WeasyPrint's own time.
TARGET_OVERHEAD = 0.20


@dataclass
class Document:
    """One kind of export to measure."""

    name: str
    #: The whole export for one patient, as the admin runs it; returns the PDF.
    export: Callable[[int], bytes]
    #: The HTML that ``export`` hands to WeasyPrint, for the same patient.
    html: Callable[[int], str]
    #: One PDF for many patients (optional).
    batch: Callable[[list[int]], bytes] | None = None


def build_clinic(folder: Path):
    """A migrated SQLite clinic with the reference data and the demo loaded; returns the app."""
    from flask_migrate import upgrade

    from clinic import create_app
    from clinic.services import seeding

    app = create_app({
        "ENVIRON": {
            "CLINIC_ENV": "development",
            "SECRET_KEY": "benchmark-only-secret",
            "DATABASE_URL": f"sqlite:///{folder / 'bench.sqlite'}",
        },
    })
    with app.app_context():
        upgrade()
        seeding.load_reference()
        result = seeding.load_demo()
        print(result.message)
    return app


# The documents ------------------------------------------------------------------------------
def kindness_plan_document(today: date) -> Document:
    """The personal kindness plan for the current week."""
    from clinic.extensions import db
    from clinic.models import Patient
    from clinic.pdf import handouts, render
    from clinic.services.participants import week_assignments
    from clinic.services.participation import monday_of

    def export(patient_id: int) -> bytes:
        return handouts.kindness_plan(db.session.get(Patient, patient_id), today)

    def html(patient_id: int) -> str:
        context = handouts.plan_html_context(db.session.get(Patient, patient_id), today)
        return render.render_html(**context)

    def batch(patient_ids: list[int]) -> bytes:
        week = monday_of(today)
        patients = [db.session.get(Patient, pid) for pid in patient_ids]
        by_patient = week_assignments(patient_ids, week)
        plans = [handouts.plan_sheet(p, week, by_patient.get(p.id, [])) for p in patients]
        return render.render_pdf("pdf/packet.html", title="Kindness plans", plans=plans)

    return Document("Kindness plan", export, html, batch)


def progress_sheet_document(today: date, version: str) -> Document:
    """The progress sheet over the last four weeks (``version`` staff or patient).

    The staff sheet carries a typed summary and next steps, as from the admin form; the
    batch is ``progress_batch`` (one sheet per patient, each numbering its own pages).
    """
    from datetime import timedelta

    from clinic.extensions import db
    from clinic.models import Patient
    from clinic.pdf import batches, progress, render

    start = today - timedelta(days=27)
    typed = {"summary": "Engaged and steady; attendance improving.\nMood lifts after most exercises.",
             "next_steps": "Keep the appreciation note twice a week.\nReview the weekly hours."}
    if version != "staff":
        typed = {}

    def export(patient_id: int) -> bytes:
        return progress.progress_sheet(db.session.get(Patient, patient_id), start, today, version=version, **typed)

    def html(patient_id: int) -> str:
        context = progress.progress_html_context(db.session.get(Patient, patient_id), start, today,
                                                 version=version, **typed)
        return render.render_html(**context)

    def batch(patient_ids: list[int]) -> bytes:
        patients = [db.session.get(Patient, pid) for pid in patient_ids]
        return batches.progress_batch(patients, start, today, version)

    return Document(f"Progress sheet, {version} version", export, html, batch)


def documents(today: date) -> list[Document]:
    """Everything to measure."""
    return [
        kindness_plan_document(today),
        progress_sheet_document(today, "staff"),
        progress_sheet_document(today, "patient"),
    ]


# Measuring ----------------------------------------------------------------------------------
def weasyprint_alone(html: str) -> bytes:
    """WeasyPrint on ``html`` with exactly our stylesheet, fetcher and options, nothing else."""
    from weasyprint import HTML

    from clinic.pdf import render
    from clinic.pdf.fetcher import make_fetcher

    return HTML(string=html, base_url=render.base_url(), url_fetcher=make_fetcher()).write_pdf(
        stylesheets=[render.base_stylesheet()], pdf_variant=render.PDF_VARIANT
    )


def weasyprint_parsing_css(html: str) -> bytes:
    """WeasyPrint as a naive caller uses it: the stylesheet parsed again on every call."""
    from flask import current_app
    from weasyprint import CSS, HTML

    from clinic.pdf import render
    from clinic.pdf.fetcher import make_fetcher

    folder = Path(current_app.template_folder) / "pdf"
    source = (folder / render.STYLESHEET).read_text()
    source += f"\n@page {{ size: {render.PAGE_SIZES[render.page_size()]}; }}\n"
    css = CSS(string=source, base_url=folder.as_uri() + "/", url_fetcher=make_fetcher())
    return HTML(string=html, base_url=render.base_url(), url_fetcher=make_fetcher()).write_pdf(
        stylesheets=[css], pdf_variant=render.PDF_VARIANT
    )


def timed(function, *args) -> tuple[float, object]:
    """Seconds ``function(*args)`` takes, after a garbage collection so none falls inside."""
    gc.collect()
    start = time.perf_counter()
    result = function(*args)
    return time.perf_counter() - start, result


def pages(pdf: bytes) -> int:
    from pypdf import PdfReader

    return len(PdfReader(io.BytesIO(pdf)).pages)


def fresh_session() -> None:
    """Forget every loaded row, so each export runs its queries for real."""
    from clinic.extensions import db

    db.session.remove()


class InnerTimer:
    """Times ``clinic.pdf.render.render_html_to_pdf`` (WeasyPrint's part) inside an export."""

    def __init__(self):
        from clinic.pdf import render

        self.render = render
        self.original = render.render_html_to_pdf
        self.last = 0.0

    def __enter__(self):
        def timed_inner(html):
            start = time.perf_counter()
            try:
                return self.original(html)
            finally:
                self.last = time.perf_counter() - start

        self.render.render_html_to_pdf = timed_inner
        return self

    def __exit__(self, *exc):
        self.render.render_html_to_pdf = self.original


def measure(document: Document, patient_id: int, repeat: int) -> dict:
    """Median times of the whole export and of WeasyPrint alone, interleaved.

    Besides the side-by-side comparison (two separate runs, so subject to the machine's
    noise), the export's own WeasyPrint call is timed inside the same run: the rest of
    that run is exactly what our code adds.
    """
    html = document.html(patient_id)
    for _ in range(2):  # warm caches: stylesheet, fonts, templates
        fresh_session()
        document.export(patient_id)
        weasyprint_alone(html)
    ours, inner, own, alone, naive = [], [], [], [], []
    pdf = b""
    with InnerTimer() as inner_timer:
        for run in range(repeat):
            if run % 2:  # alternate the order so neither side always runs first
                alone.append(timed(weasyprint_alone, html)[0])
            fresh_session()
            elapsed, pdf = timed(document.export, patient_id)
            ours.append(elapsed)
            inner.append(inner_timer.last)
            own.append(elapsed - inner_timer.last)
            if not run % 2:
                alone.append(timed(weasyprint_alone, html)[0])
            naive.append(timed(weasyprint_parsing_css, html)[0])
    return {
        "ours": statistics.median(ours),
        "ours_best": min(ours),
        "alone_best": min(alone),
        "inner": statistics.median(inner),
        "own": statistics.median(own),
        "alone": statistics.median(alone),
        "naive": statistics.median(naive),
        "pages": pages(pdf),
    }


def measure_batch(document: Document, patient_ids: list[int]) -> dict:
    """One export per patient, then (when offered) one batch PDF for all of them."""
    fresh_session()
    total_pages = 0
    start = time.perf_counter()
    for patient_id in patient_ids:
        total_pages += pages(document.export(patient_id))
    separate = time.perf_counter() - start
    result = {"separate": separate, "separate_pages": total_pages}
    if document.batch:
        fresh_session()
        elapsed, pdf = timed(document.batch, patient_ids)
        result.update(batch=elapsed, batch_pages=pages(pdf))
    return result


# The batch as a background job against the serial batch -------------------------------------
#: Targets of the batch job: at least this speed-up with 2 workers, under this peak memory per worker.
TARGET_SPEEDUP = 1.8
TARGET_WORKER_MB = 400


def _peak_kb(pid: int | str) -> int:
    """A process's peak resident memory (``VmHWM``) in kB, 0 when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _cpu_seconds(pid: int | str) -> float:
    """User plus system CPU time a process has used so far (0 when it is gone)."""
    import psutil

    try:
        times = psutil.Process(None if pid == "self" else int(pid)).cpu_times()
    except psutil.NoSuchProcess:
        return 0.0
    return times.user + times.system


def _children(pid: int) -> list[int]:
    """The ids of ``pid``'s child processes."""
    import psutil

    return [child.pid for child in psutil.Process(pid).children()]


def _serial_child(environ: dict, patient_ids: list[int], start: date, end: date, answer) -> None:
    """(s): the serial batch in a fresh process; sends (seconds, pages, peak kB)."""
    sys.path.insert(0, str(ROOT))
    from clinic import create_app
    from clinic.extensions import db
    from clinic.models import Patient
    from clinic.pdf import batches
    from clinic.services import audit

    app = create_app({"ENVIRON": environ})
    with app.app_context(), audit.acting_as(None, label="benchmark"):
        import sqlalchemy as sa

        found = {p.id: p for p in db.session.scalars(sa.select(Patient).where(Patient.id.in_(set(patient_ids))))}
        patients = [found[i] for i in patient_ids]
        batches.render_sheets(patients[:1], start, end, "staff")  # warm-up: fonts, stylesheet, templates
        db.session.remove()
        found = {p.id: p for p in db.session.scalars(sa.select(Patient).where(Patient.id.in_(set(patient_ids))))}
        patients = [found[i] for i in patient_ids]
        began, cpu = time.perf_counter(), _cpu_seconds("self")
        pdf = batches.progress_batch(patients, start, end, "staff", commit=False)
        elapsed, cpu = time.perf_counter() - began, _cpu_seconds("self") - cpu
        db.session.rollback()
    answer.send((elapsed, pages(pdf), _peak_kb("self"), cpu))


def _queue_url(redis_url: str, folder: Path) -> str:
    try:
        import redis

        redis.Redis.from_url(redis_url, socket_connect_timeout=1).ping()
        return redis_url
    except Exception:  # noqa: BLE001 - no Redis: the SQLite queue
        return f"sqlite:///{folder / 'jobs.sqlite'}"


def measure_jobs(app, environ: dict, patient_ids: list[int], start: date, end: date, workers: int,
                 chunk: int, redis_url: str, folder: Path, rounds_wanted: int = 1) -> dict:
    """(s) and (j) side by side, ``rounds_wanted`` times alternately (the median round is kept)."""
    import multiprocessing
    import os
    import signal
    import subprocess
    import uuid

    import sqlalchemy as sa

    from clinic import jobs
    from clinic.extensions import db
    from clinic.models import Patient, StaffUser
    from clinic.services import print_jobs

    context = multiprocessing.get_context("spawn")

    def run_serial():
        receive, send = context.Pipe(duplex=False)
        serial = context.Process(target=_serial_child, args=(environ, patient_ids, start, end, send))
        serial.start()
        answer = receive.recv()
        serial.join()
        return answer

    queue_url = _queue_url(redis_url, folder)
    queue_name = f"clinic-bench-{uuid.uuid4().hex[:8]}"
    settings = {"CLINIC_JOB_QUEUE": queue_url, "CLINIC_JOB_QUEUE_NAME": queue_name,
                "CLINIC_PRINT_CHUNK_SHEETS": str(chunk)}
    app.config.update(settings, CLINIC_PRINT_CHUNK_SHEETS=chunk)
    app.extensions[jobs.EXTENSION] = jobs.make_huey(app)
    log = open(folder / "worker.log", "wb")
    worker = subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "jobs", "worker",
                               "--workers", str(workers)], cwd=ROOT, env={**os.environ, **environ, **settings},
                              stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        owner = db.session.scalar(sa.select(StaffUser).where(StaffUser.role == "admin").order_by(StaffUser.id))
        found = {p.id: p for p in db.session.scalars(sa.select(Patient).where(Patient.id.in_(set(patient_ids))))}

        def run(ids: list[int], target: str) -> tuple[float, object]:
            began = time.perf_counter()
            status = print_jobs.start_progress_batch(owner, [found[i] for i in ids], start, end, "staff",
                                                     target=target, title="Benchmark batch")
            while not status.finished:
                time.sleep(0.2)  # a browser polls about once a second; this is finer
                db.session.expire_all()
                status = print_jobs.job_status(owner, status.id)
            return time.perf_counter() - began, status

        # Warm-up: every worker process imports WeasyPrint and renders once.
        run(patient_ids[:max(2, workers) * chunk], "bench:warm-up")
        processes = [worker.pid, *_children(worker.pid)]
        rounds = []
        for number in range(rounds_wanted):
            # Serial and job alternate, so a change in the machine's load hits both alike.
            serial_seconds, serial_pages, serial_kb, serial_cpu = run_serial()
            before = {pid: _cpu_seconds(pid) for pid in processes}
            cpu_before = sum(before.values()) + _cpu_seconds("self")
            job_seconds, status = run(patient_ids, f"bench:batch:{number}")
            job_cpu = sum(_cpu_seconds(pid) for pid in processes) + _cpu_seconds("self") - cpu_before
            # The busiest process's CPU time: what the job would take with a free core per worker.
            critical = max(_cpu_seconds(pid) - before[pid] for pid in processes)
            if status.state != "done":
                raise SystemExit(f"The job failed: {status.message}")
            job_pages = pages(print_jobs.job_pdf(owner, status.id)[0])
            rounds.append((serial_seconds / job_seconds, serial_seconds, job_seconds, serial_cpu, job_cpu, critical))
            print(f"  round {number + 1}: serial {serial_seconds:.2f} s, job {job_seconds:.2f} s, "
                  f"speed-up {serial_seconds / job_seconds:.2f} x", flush=True)
        _, serial_seconds, job_seconds, serial_cpu, job_cpu, critical = sorted(rounds)[len(rounds) // 2]
        worker_kb = {pid: _peak_kb(pid) for pid in _children(worker.pid)}
        consumer_kb = _peak_kb(worker.pid)
    finally:
        os.killpg(worker.pid, signal.SIGINT)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()
        log.close()
        jobs.queue(app).storage.flush_all()
    return {
        "serial": serial_seconds, "serial_pages": serial_pages, "serial_mb": serial_kb / 1024,
        "serial_cpu": serial_cpu, "job_cpu": job_cpu, "critical_cpu": critical, "load": Path("/proc/loadavg").read_text().split()[0],
        "job": job_seconds, "job_pages": job_pages, "speedup": serial_seconds / job_seconds,
        "worker_mb": sorted(kb / 1024 for kb in worker_kb.values()), "consumer_mb": consumer_kb / 1024,
        "queue": "Redis" if queue_url.startswith("redis") else "SQLite", "chunk": chunk, "workers": workers,
        "rounds": len(rounds),
    }


def report_jobs(m: dict, sheets: int) -> bool:
    """Print the side-by-side figures; True when a target is missed."""
    worst = max(m["worker_mb"] or [0])
    print(f"Batch of {sheets} staff progress sheets, serial against a background job "
          f"({m['workers']} worker processes, {m['chunk']} sheets a chunk, Huey on {m['queue']}; "
          f"median of {m['rounds']} round{'s' if m['rounds'] != 1 else ''})")
    print(f"  (s) serial, today's progress_batch      {m['serial']:7.2f} s  {m['serial_pages']} pages  "
          f"peak {m['serial_mb']:.0f} MB")
    print(f"  (j) background job, start to merged PDF {m['job']:7.2f} s  {m['job_pages']} pages  "
          f"peak per worker {', '.join(f'{mb:.0f}' for mb in m['worker_mb'])} MB "
          f"(consumer {m['consumer_mb']:.0f} MB)")
    print(f"  speed-up (s)/(j)                        {m['speedup']:7.2f} x "
          f"(target >= {TARGET_SPEEDUP}: {'met' if m['speedup'] >= TARGET_SPEEDUP else 'MISSED'}); "
          f"peak per worker {worst:.0f} MB (target < {TARGET_WORKER_MB}: "
          f"{'met' if worst < TARGET_WORKER_MB else 'MISSED'})")
    print(f"  CPU time: (s) {m['serial_cpu']:.1f} s, (j) {m['job_cpu']:.1f} s (workers, consumer and this "
          f"process); busiest worker {m['critical_cpu']:.1f} s, so with a free core per worker about "
          f"{m['serial_cpu'] / max(m['critical_cpu'], 0.001):.2f} x (an estimate from CPU time); "
          f"load average {m['load']} on {__import__('os').cpu_count()} cores")
    return m["speedup"] < TARGET_SPEEDUP or worst >= TARGET_WORKER_MB or m["job_pages"] != m["serial_pages"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=21, help="runs per measurement (median)")
    parser.add_argument("--batch", type=int, default=30, help="patients in the batch")
    parser.add_argument("--jobs-only", action="store_true", help="measure only the batch job against the serial batch")
    parser.add_argument("--no-jobs", action="store_true", help="leave out the batch job measurement")
    parser.add_argument("--jobs-batch", type=int, default=100, help="sheets in the batch job measurement")
    parser.add_argument("--workers", type=int, default=2, help="worker processes of the batch job")
    parser.add_argument("--chunk", type=int, default=10, help="sheets per chunk of the batch job")
    parser.add_argument("--rounds", type=int, default=1, help="serial/job rounds, alternated (the median is kept)")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0", help="the Redis queue, if it answers")
    parser.add_argument("--database-url", default="", help="measure the batch job on this existing clinic")
    args = parser.parse_args(argv)
    if args.jobs_only:
        return jobs_main(args)

    import sqlalchemy as sa

    with tempfile.TemporaryDirectory(prefix="clinic-bench-") as folder:
        app = build_clinic(Path(folder))
        from clinic.services import audit

        with app.app_context(), audit.acting_as(None, label="benchmark"):
            from clinic.extensions import db
            from clinic.models import Assignment, Patient

            busiest = db.session.execute(
                sa.select(Assignment.patient_id, sa.func.count())
                .where(Assignment.status == "active")
                .group_by(Assignment.patient_id)
                .order_by(sa.func.count().desc(), Assignment.patient_id)
                .limit(1)
            ).first()
            patient_id = busiest[0]
            batch_ids = list(db.session.scalars(sa.select(Patient.id).order_by(Patient.id).limit(args.batch)))
            today = date.today()
            print(f"WeasyPrint {__import__('weasyprint').__version__}, page size "
                  f"{app.config['CLINIC_PAGE_SIZE']}, median of {args.repeat} runs, patient #{patient_id} "
                  f"({busiest[1]} active exercises)\n")
            failed = False
            for document in documents(today):
                m = measure(document, patient_id, args.repeat)
                overhead = m["own"] / m["inner"]
                side_by_side = (m["ours"] - m["alone"]) / m["alone"]
                best_to_best = (m["ours_best"] - m["alone_best"]) / m["alone_best"]
                failed |= overhead >= TARGET_OVERHEAD
                print(f"{document.name} ({m['pages']} page{'s' if m['pages'] != 1 else ''})")
                print(f"  (a) our whole export (query, template, render, audit)  {m['ours'] * 1000:7.1f} ms"
                      f"   (best {m['ours_best'] * 1000:.1f} ms)")
                print(f"      of which WeasyPrint                                {m['inner'] * 1000:7.1f} ms")
                print(f"      of which our code (query, template, audit, commit) {m['own'] * 1000:7.1f} ms")
                print(f"  (b) WeasyPrint alone, same HTML, stylesheet, options   {m['alone'] * 1000:7.1f} ms"
                      f"   (best {m['alone_best'] * 1000:.1f} ms)")
                print(f"  our overhead on WeasyPrint's render                    {overhead * 100:7.1f} %"
                      f"   (target < {TARGET_OVERHEAD * 100:.0f} %: {'met' if overhead < TARGET_OVERHEAD else 'MISSED'})")
                print(f"  (a) against (b), separate runs: medians {side_by_side * 100:+.1f} %, "
                      f"best runs {best_to_best * 100:+.1f} %")
                print(f"  (WeasyPrint parsing the stylesheet on every call       {m['naive'] * 1000:7.1f} ms)")
                b = measure_batch(document, batch_ids)
                print(f"  batch of {len(batch_ids)}: one export each       {b['separate']:6.2f} s, "
                      f"{b['separate_pages']} pages, {b['separate_pages'] / b['separate']:5.1f} pages/s")
                if "batch" in b:
                    print(f"  batch of {len(batch_ids)}: one PDF               {b['batch']:6.2f} s, "
                          f"{b['batch_pages']} pages, {b['batch_pages'] / b['batch']:5.1f} pages/s")
                print()
            db.session.remove()
            db.engine.dispose()
    if not args.no_jobs:
        failed |= bool(jobs_main(args))
    return 1 if failed else 0


def jobs_main(args) -> int:
    """The batch job against the serial batch (on the demo clinic, or ``--database-url``)."""
    from datetime import timedelta

    import sqlalchemy as sa

    with tempfile.TemporaryDirectory(prefix="clinic-bench-jobs-") as folder:
        folder = Path(folder)
        if args.database_url:
            from clinic import create_app

            environ = {"CLINIC_ENV": "development", "SECRET_KEY": "benchmark-only-secret",
                       "DATABASE_URL": args.database_url}
            app = create_app({"ENVIRON": dict(environ)})
        else:
            app = build_clinic(folder)
            environ = {"CLINIC_ENV": "development", "SECRET_KEY": "benchmark-only-secret",
                       "DATABASE_URL": f"sqlite:///{folder / 'bench.sqlite'}"}
        today = date.today()
        start = today - timedelta(days=27)
        from clinic.services import audit

        with app.app_context(), audit.acting_as(None, label="benchmark"):
            from clinic.extensions import db
            from clinic.models import Patient, Track
            from clinic.pdf import batches

            if args.database_url:
                best: list = []
                for track in db.session.scalars(sa.select(Track)):
                    found = batches.track_patients(track, start, today, "staff")
                    best = found if len(found) > len(best) else best
                ids = [p.id for p in best][:args.jobs_batch]
            else:
                everyone = list(db.session.scalars(sa.select(Patient.id).order_by(Patient.id)))
                ids = [everyone[n % len(everyone)] for n in range(args.jobs_batch)]
            m = measure_jobs(app, environ, ids, start, today, args.workers, args.chunk, args.redis, folder,
                             args.rounds)
            failed = report_jobs(m, len(ids))
            db.session.remove()
            db.engine.dispose()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

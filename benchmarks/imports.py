"""Benchmark large CSV imports: a 100,000-row roster and a 50,000-row offers file, on the command line and as background jobs.

Each CLI run is a fresh process on a fresh SQLite database (migrated with `flask db upgrade`), timed with
/usr/bin/time for wall time and peak resident memory: a dry run, the first import (every row new) and a
re-import of the same file (every row unchanged). The baseline is the same commands run by the code on
`main` (or --baseline REF), unpacked with `git archive` into a temporary folder.

The background-job path is the browser's: a signed-in user uploads the file (POST, timed: it must return
at once), then a worker process takes the queued task from the queue (a SQLite Huey file) and runs it,
timed with /usr/bin/time, while this script reads the job's progress note twice a second, as the page does,
and counts the distinct figures it saw while rows were checked and while they were written.

    .venv/bin/python benchmarks/imports.py [--students 100000] [--offer-rows 50000] [--no-baseline] [--no-jobs]
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import random
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from portal.geo import ensure_lookup  # noqa: E402

URN = "800001"
SECTORS = ("healthcare", "construction_trades", "transport", "computing_technology", "business_finance")
NEEDS = ("quiet_space", "step_free_access", "easy_read_materials", "bsl_makaton")


def _write_roster(path: Path, count: int, rng: random.Random) -> None:
    """A roster of `count` students with realistic optional codes."""
    with path.open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["student_ref", "upn", "first_name", "last_name", "year_group", "date_of_birth", "send_status",
                      "needs", "disadvantaged", "sector_interests", "email", "tutor_group"])
        for n in range(count):
            year = rng.randint(7, 13)
            born = dt.date(2026 - year - 5, rng.randint(1, 12), rng.randint(1, 28))
            out.writerow([
                f"S{n:06d}", "", f"First{n}", f"Last{n % 997}", year, born.isoformat(), rng.choice("NNNNKE"),
                ";".join(rng.sample(NEEDS, rng.randint(0, 2))), rng.choice(("yes", "no")),
                ";".join(rng.sample(SECTORS, rng.randint(0, 3))), f"s{n}@school.example" if n % 3 == 0 else "",
                f"{year}{rng.choice('ABCD')}",
            ])


def _write_offers(employers: Path, offers: Path, rows: int, postcode: str) -> None:
    """Employers (one per 20 offers) and offers of five future sessions each."""
    offer_count = rows // 5
    with employers.open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["employer_ref", "name", "sector", "postcode", "safeguarding_email", "insurance_expiry"])
        for n in range(max(1, offer_count // 20)):
            out.writerow([f"E{n:05d}", f"Employer {n}", SECTORS[n % len(SECTORS)], postcode, "", "2030-01-01"])
    with offers.open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["offer_ref", "employer_ref", "title", "activity_type", "delivery_mode", "postcode",
                      "year_groups", "sectors", "send_features", "session_start", "session_end", "capacity"])
        first = dt.datetime(2027, 1, 4, 9, 0)
        for n in range(offer_count):
            for k in range(5):
                start = first + dt.timedelta(days=7 * k + n % 200)
                out.writerow([f"O{n:06d}", f"E{n // 20:05d}", f"Offer {n}", "workplace_visit", "on_site", "",
                              "10;11", SECTORS[n % len(SECTORS)], "quiet_space", start.isoformat(timespec="minutes"),
                              (start + dt.timedelta(hours=3)).isoformat(timespec="minutes"), 10])


def _env(database: Path, lookup: Path, code: Path) -> dict[str, str]:
    """The environment of one CLI run against `database` with the code at `code`."""
    return {**os.environ, "PORTAL_DATABASE_URL": f"sqlite:///{database}", "PORTAL_GEO_LOOKUP_PATH": str(lookup),
            "PYTHONPATH": str(code), "PORTAL_BASE_URL": "http://127.0.0.1:5000"}


def _flask(code: Path, env: dict[str, str], *args: str) -> tuple[float, float, str]:
    """Run `flask --app portal ARGS` under /usr/bin/time: (wall seconds, peak MB, last output line)."""
    command = ["/usr/bin/time", "-f", "TIME %e %M", sys.executable, "-m", "flask", "--app", "portal", *args]
    done = subprocess.run(command, cwd=code, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    timing = [line for line in done.stderr.splitlines() if line.startswith("TIME ")][-1].split()
    output = (done.stdout + done.stderr).strip().splitlines()
    if done.returncode != 0:
        raise SystemExit(f"flask {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return float(timing[1]), int(timing[2]) / 1024, output[0] if output else ""


def _fresh_database(scratch: Path, name: str, lookup: Path) -> Path:
    """A migrated SQLite database with one school."""
    database = scratch / f"{name}.db"
    database.unlink(missing_ok=True)
    _flask(ROOT, _env(database, lookup, ROOT), "db", "upgrade")
    make_school = (
        "from portal import create_app; from portal.extensions import db; from portal.organisations.models import School\n"
        "with create_app().app_context():\n"
        f"    db.session.add(School(urn='{URN}', name='Bench School', school_type='mainstream', postcode='M13 9PL'))\n"
        "    db.session.commit()\n"
    )
    subprocess.run([sys.executable, "-c", make_school], cwd=ROOT, env=_env(database, lookup, ROOT), check=True)  # noqa: S603
    return database


def _unpack(ref: str, scratch: Path) -> Path:
    """The tree of `ref`, unpacked with git archive (no checkout, no worktree)."""
    target = scratch / "baseline"
    archive = scratch / "baseline.tar"
    git = shutil.which("git") or "git"
    subprocess.run([git, "-C", str(ROOT), "archive", "-o", str(archive), ref], check=True)  # noqa: S603
    with tarfile.open(archive) as tar:
        tar.extractall(target, filter="data")
    return target


def _runs(label: str, code: Path, scratch: Path, lookup: Path, files: dict[str, Path]) -> dict[str, tuple[float, float]]:
    """Time the dry runs, first imports and re-imports of one code tree."""
    figures: dict[str, tuple[float, float]] = {}
    roster_db = _fresh_database(scratch, f"{label}-roster", lookup)
    env = _env(roster_db, lookup, code)
    roster = ("import", "students", "--school", URN, str(files["roster"]))
    for step, extra in (("roster dry run", ("--dry-run",)), ("roster import", ()), ("roster re-import", ())):
        seconds, megabytes, line = _flask(code, env, *roster, *extra)
        figures[step] = (seconds, megabytes)
        print(f"  {label:<9} {step:<18} {seconds:7.1f} s  {megabytes:7.0f} MB peak   {line[:70]}")
    offers_db = _fresh_database(scratch, f"{label}-offers", lookup)
    env = _env(offers_db, lookup, code)
    _flask(code, env, "import", "employers", str(files["employers"]))
    offers = ("import", "offers", str(files["offers"]))
    for step, extra in (("offers dry run", ("--dry-run",)), ("offers import", ()), ("offers re-import", ())):
        seconds, megabytes, line = _flask(code, env, *offers, *extra)
        figures[step] = (seconds, megabytes)
        print(f"  {label:<9} {step:<18} {seconds:7.1f} s  {megabytes:7.0f} MB peak   {line[:70]}")
    return figures


PASSWORD = "benchmark-password-42"  # noqa: S105 - a throwaway account in a temporary database

_UPLOAD = f"""
import sys, time
from portal import create_app
app = create_app()
app.config["WTF_CSRF_ENABLED"] = False
email, path, url, fields = sys.argv[1], sys.argv[2], sys.argv[3], dict(a.split("=", 1) for a in sys.argv[4:])
client = app.test_client()
assert client.post("/sign-in", data={{"email": email, "password": "{PASSWORD}"}}).status_code == 302
with open(path, "rb") as handle:
    began = time.perf_counter()
    response = client.post(url, data={{"file": (handle, "upload.csv"), **fields}}, content_type="multipart/form-data")
    seconds = time.perf_counter() - began
assert response.status_code == 303, response.status_code
print(response.headers["Location"].rsplit("/", 1)[-1], f"{{seconds:.3f}}")
"""

_WORK = """
from portal import create_app
from portal.core.tasks import task_queue
app = create_app()
with app.app_context():
    queue = task_queue(app)
    queue.bind_all()
    task = queue.huey.dequeue()
    queue.huey.execute(task)
    from portal.core.models import ImportJob
    from portal.extensions import db
    job = db.session.scalars(db.select(ImportJob).order_by(ImportJob.id.desc())).first()
    print(job.status, job.rows_checked, job.rows_written, (job.report or {}).get("summary", job.report))
"""


def _make_user(env: dict[str, str], email: str, *args: str) -> None:
    """An account with the benchmark's password."""
    subprocess.run([sys.executable, "-m", "flask", "--app", "portal", "create-user", *args, "--password-stdin", email],  # noqa: S603
                   cwd=ROOT, env=env, input=PASSWORD + "\n", capture_output=True, text=True, check=True)


def _watch_job(env: dict[str, str], job_id: str, worker: subprocess.Popen[str]) -> dict[str, set[int]]:
    """Read the job's progress note twice a second while the worker runs: the figures seen in each phase."""
    read = (
        "import json, sys\nfrom portal import create_app\nfrom portal.core.tasks import task_queue\n"
        "app = create_app()\nqueue = task_queue(app)\n"
        "for line in sys.stdin:\n"
        f"    print(json.dumps(queue.read_note('import-job:{job_id}')), flush=True)\n"
    )
    reader = subprocess.Popen([sys.executable, "-c", read], cwd=ROOT, env=env, text=True,  # noqa: S603
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    seen: dict[str, set[int]] = {"checked": set(), "written": set()}
    assert reader.stdin is not None
    assert reader.stdout is not None
    while worker.poll() is None:
        reader.stdin.write("\n")
        reader.stdin.flush()
        note = json.loads(reader.stdout.readline())
        if note:
            if note["rows_to_write"] is None:
                seen["checked"].add(note["rows_checked"])
            else:
                seen["written"].add(note["rows_written"])
        time.sleep(0.5)
    reader.stdin.close()
    reader.wait()
    return seen


def _job(env: dict[str, str], email: str, path: Path, url: str, **fields: str) -> tuple[float, float, float, str, dict[str, set[int]]]:
    """Upload as `email`, then run the queued job in a worker process: (upload s, job s, job peak MB, outcome, progress seen)."""
    uploaded = subprocess.run([sys.executable, "-c", _UPLOAD, email, str(path), url,  # noqa: S603
                               *(f"{k}={v}" for k, v in fields.items())],
                              cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if uploaded.returncode != 0:
        raise SystemExit(f"upload failed:\n{uploaded.stdout}\n{uploaded.stderr}")
    job_id, upload_seconds = uploaded.stdout.split()
    worker = subprocess.Popen(["/usr/bin/time", "-f", "TIME %e %M", sys.executable, "-c", _WORK],  # noqa: S603
                              cwd=ROOT, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    seen = _watch_job(env, job_id, worker)
    out, err = worker.communicate()
    if worker.returncode != 0:
        raise SystemExit(f"job failed:\n{out}\n{err}")
    timing = [line for line in err.splitlines() if line.startswith("TIME ")][-1].split()
    return float(upload_seconds), float(timing[1]), int(timing[2]) / 1024, out.strip()[:90], seen


def _job_runs(scratch: Path, lookup: Path, files: dict[str, Path]) -> None:
    """The browser path: upload (returns at once), then a worker runs the job; progress is read as it goes."""
    roster_db = _fresh_database(scratch, "job-roster", lookup)
    env = {**_env(roster_db, lookup, ROOT), "PORTAL_TASK_QUEUE_URL": f"sqlite:///{scratch / 'tasks-roster.sqlite3'}"}
    _make_user(env, "leader@bench.example", "--role", "school", "--school", URN)
    for step in ("roster job", "roster re-import job"):
        upload, seconds, megabytes, outcome, seen = _job(env, "leader@bench.example", files["roster"], "/students/import")
        print(f"  {step:<21} upload {upload:5.2f} s; job {seconds:6.1f} s, {megabytes:5.0f} MB peak; progress seen: "
              f"{len(seen['checked'])} figures checking, {len(seen['written'])} writing   {outcome}")
    offers_db = _fresh_database(scratch, "job-offers", lookup)
    env = {**_env(offers_db, lookup, ROOT), "PORTAL_TASK_QUEUE_URL": f"sqlite:///{scratch / 'tasks-offers.sqlite3'}"}
    _flask(ROOT, env, "import", "employers", str(files["employers"]))
    _make_user(env, "hub@bench.example", "--role", "hub", "--hub", "Bench hub")
    for step in ("offers job", "offers re-import job"):
        upload, seconds, megabytes, outcome, seen = _job(env, "hub@bench.example", files["offers"], "/hub/import", kind="offers")
        print(f"  {step:<21} upload {upload:5.2f} s; job {seconds:6.1f} s, {megabytes:5.0f} MB peak; progress seen: "
              f"{len(seen['checked'])} figures checking, {len(seen['written'])} writing   {outcome}")


def main() -> None:
    """Generate the files, run both code trees and print the figures with ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=100_000)
    parser.add_argument("--offer-rows", type=int, default=50_000)
    parser.add_argument("--baseline", default="main", help="git ref of the code to compare with")
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--no-jobs", action="store_true", help="skip the background-job path")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()

    from tests.geo.helpers import shared_lookup_path

    lookup = shared_lookup_path()
    ensure_lookup(lookup)
    with tempfile.TemporaryDirectory(prefix="import-bench-") as folder:
        scratch = Path(folder)
        files = {"roster": scratch / "roster.csv", "employers": scratch / "employers.csv",
                 "offers": scratch / "offers.csv"}
        _write_roster(files["roster"], args.students, random.Random(args.seed))
        _write_offers(files["employers"], files["offers"], args.offer_rows, "M13 9PL")
        print(f"{args.students:,}-row roster ({files['roster'].stat().st_size / 1e6:.1f} MB), "
              f"{args.offer_rows:,}-row offers file ({files['offers'].stat().st_size / 1e6:.1f} MB); "
              "fresh SQLite database per file")
        current = _runs("streaming", ROOT, scratch, lookup, files)
        if not args.no_jobs:
            print("background jobs (upload, then one worker process):")
            _job_runs(scratch, lookup, files)
        if args.no_baseline:
            return
        baseline = _runs(args.baseline, _unpack(args.baseline, scratch), scratch, lookup, files)
        print("ratios (baseline / streaming):")
        for step, (seconds, megabytes) in current.items():
            old_seconds, old_megabytes = baseline[step]
            print(f"  {step:<18} time x{old_seconds / seconds:5.1f}   peak memory x{old_megabytes / megabytes:5.1f}")
        shutil.rmtree(scratch / "baseline", ignore_errors=True)


if __name__ == "__main__":
    main()

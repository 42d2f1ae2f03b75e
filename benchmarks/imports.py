"""Benchmark large CSV imports through `flask import ...`: a 100,000-row roster and a 50,000-row offers file.

Each run is a fresh process on a fresh SQLite database (migrated with `flask db upgrade`), timed with
/usr/bin/time for wall time and peak resident memory: a dry run, the first import (every row new) and a
re-import of the same file (every row unchanged). The baseline is the same commands run by the code on
`main` (or --baseline REF), unpacked with `git archive` into a temporary folder: the whole-file reader and
per-row ORM objects the streaming, set-based imports replaced.

    .venv/bin/python benchmarks/imports.py [--students 100000] [--offer-rows 50000] [--no-baseline]
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import os
import random
import shutil
import subprocess
import sys
import tarfile
import tempfile
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


def main() -> None:
    """Generate the files, run both code trees and print the figures with ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=100_000)
    parser.add_argument("--offer-rows", type=int, default=50_000)
    parser.add_argument("--baseline", default="main", help="git ref of the code to compare with")
    parser.add_argument("--no-baseline", action="store_true")
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

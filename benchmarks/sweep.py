"""The scheduler's sweeps over 100,000 bookings: completion, reflection/feedback follow-ups, compliance + escalation.

Builds a throwaway database from the models with set-based inserts: 100 schools (2 staff each), 300 employers
(one member of staff and one supervisor each), 20,000 students and 100,000 bookings on 5,000 sessions spread
from 45 days ago to 320 days ahead (ended ones confirmed, completed or cancelled; future ones requested or
confirmed), with risk assessments for half the sessions, some reviews, consents, reflections and feedback.
Then times each job as `flask scheduler tick` runs it (one transaction each, committed), the compliance sweep
a second time (steady state: nothing new to send), and compares the set-based checklist with a naive loop
calling checklists() once per booking on a 1,000-booking sample, extrapolated. SQLite in a temp file; also
PostgreSQL, in a schema of its own that is dropped afterwards, when PORTAL_BENCH_DATABASE_URL is set.

    .venv/bin/python benchmarks/sweep.py [--bookings 100000] [--sample 1000]
    PORTAL_BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test .venv/bin/python benchmarks/sweep.py
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, func, insert, select, text  # noqa: E402

from portal import create_app  # noqa: E402
from portal.accounts.models import User  # noqa: E402
from portal.bookings.models import Booking  # noqa: E402
from portal.compliance.checklist import bookings_by_id, checklists  # noqa: E402
from portal.compliance.models import (  # noqa: E402
    ConsentRequest,
    RiskAssessment,
    RiskAssessmentCoverage,
    RiskAssessmentReview,
)
from portal.core.dates import london_date, start_of_london_day  # noqa: E402
from portal.core.models import OutboxMessage  # noqa: E402
from portal.db import utcnow  # noqa: E402
from portal.extensions import db  # noqa: E402
from portal.offers.models import Offer, OfferSession, Supervisor, session_supervisors  # noqa: E402
from portal.organisations.models import Employer, School, Student  # noqa: E402
from portal.reflections.models import EmployerFeedback, Reflection  # noqa: E402
from portal.scheduler import jobs  # noqa: E402

SCHOOLS, EMPLOYERS, STUDENTS, SESSIONS = 100, 300, 20_000, 5_000


def build(rng: random.Random, bookings: int, now: dt.datetime) -> None:
    """Fill the database with set-based inserts (see the module's docstring)."""
    today = london_date(now)
    s = db.session

    def ids(model: Any, rows: list[dict[str, Any]]) -> list[int]:
        # executemany without RETURNING (RETURNING in parameter order is slow for 100k rows on SQLite);
        # the new ids, in order, are those above the previous maximum: nothing else writes meanwhile.
        before = s.scalar(select(func.max(model.id))) or 0
        s.execute(insert(model), rows)
        return list(s.scalars(select(model.id).where(model.id > before).order_by(model.id)))

    schools = ids(School, [{"urn": f"{900000 + i}", "name": f"School {i}", "school_type": "mainstream",
                            "postcode": "M13 9PL", "created_at": now} for i in range(SCHOOLS)])
    employers = ids(Employer, [{"ref": f"EMP{i:05d}", "name": f"Employer {i}", "sector": "healthcare",
                                "postcode": "M1 3BN", "vetting_status": "vetted", "created_at": now,
                                "insurance_expiry": today + dt.timedelta(days=rng.randint(-10, 400))}
                               for i in range(EMPLOYERS)])
    staff = ids(User, [{"email": f"staff{i}@school{sid}.example", "name": "Staff", "role": "school",
                        "school_id": sid, "password_hash": "x", "is_active": True, "created_at": now}
                       for sid in schools for i in range(2)])
    for index, sid in enumerate(schools):  # the first member of staff leads careers at half the schools
        if index % 2 == 0:
            s.get(School, sid).careers_leader_id = staff[2 * index]
    ids(User, [{"email": f"boss@employer{eid}.example", "name": "Boss", "role": "employer", "employer_id": eid,
                "password_hash": "x", "is_active": True, "created_at": now} for eid in employers])
    supervisors = ids(Supervisor, [{"employer_id": eid, "name": f"Supervisor {eid}", "role": "Lead",
                                    "email": f"sup@employer{eid}.example"} for eid in employers])
    students = ids(Student, [{"school_id": schools[i % SCHOOLS], "student_ref": f"R{i:06d}", "first_name": f"First{i}",
                              "last_name": f"Last{i}", "year_group": 10 + i % 4,
                              "date_of_birth": today - dt.timedelta(days=rng.randint(14 * 365, 18 * 365)),
                              "email": f"student{i}@students.example" if i % 3 else None, "created_at": now}
                             for i in range(STUDENTS)])
    offers = ids(Offer, [{"offer_ref": f"OF{i:06d}", "employer_id": employers[i % EMPLOYERS], "title": f"Offer {i}",
                          "activity_type": "workplace_visit", "delivery_mode": "on_site",
                          "uses_employer_location": True, "status": "published", "created_at": now,
                          "updated_at": now} for i in range(2 * EMPLOYERS)])
    employer_of_offer = {oid: employers[i % EMPLOYERS] for i, oid in enumerate(offers)}
    starts = [start_of_london_day(today + dt.timedelta(days=rng.randint(-45, 320))) + dt.timedelta(hours=9)
              for _ in range(SESSIONS)]
    session_offer = [offers[i % len(offers)] for i in range(SESSIONS)]
    sessions = ids(OfferSession, [{"offer_id": session_offer[i], "starts_at": starts[i] + dt.timedelta(minutes=i // len(offers)),
                                   "ends_at": starts[i] + dt.timedelta(hours=6), "capacity": 100, "booked": 0,
                                   "created_at": now} for i in range(SESSIONS)])
    s.execute(insert(session_supervisors), [
        {"session_id": sid, "supervisor_id": supervisors[employers.index(employer_of_offer[session_offer[i]])]}
        for i, sid in enumerate(sessions)])
    covered = [i for i in range(SESSIONS) if rng.random() < 0.5]
    assessments = ids(RiskAssessment, [{"offer_id": session_offer[i], "employer_id": employer_of_offer[session_offer[i]],
                                        "kind": "attestation", "attestation": "Covered", "created_at": now}
                                       for i in covered])
    s.execute(insert(RiskAssessmentCoverage), [{"session_id": sessions[i], "risk_assessment_id": ra}
                                               for i, ra in zip(covered, assessments, strict=True)])
    s.execute(insert(RiskAssessmentReview), [{"risk_assessment_id": ra, "school_id": sid, "reviewed_at": now}
                                             for ra in assessments[::2] for sid in rng.sample(schools, 20)])

    pairs: set[tuple[int, int]] = set()
    while len(pairs) < bookings:
        pairs.add((rng.randrange(STUDENTS), rng.randrange(SESSIONS)))
    rows = []
    for student_index, k in sorted(pairs):
        ends = starts[k] + dt.timedelta(hours=6)
        if ends <= now:
            status = rng.choices(["confirmed", "completed", "cancelled"], weights=[40, 50, 10])[0]
        else:
            status = rng.choices(["confirmed", "requested"], weights=[70, 30])[0]
        rows.append({"student_id": students[student_index], "session_id": sessions[k],
                     "school_id": schools[student_index % SCHOOLS],
                     "employer_id": employer_of_offer[session_offer[k]],
                     "starts_at": starts[k] + dt.timedelta(minutes=k // len(offers)), "ends_at": ends, "status": status,
                     "requested_by_id": staff[2 * (student_index % SCHOOLS) + 1], "requested_at": now})
    booking_ids = ids(Booking, rows)
    completed = [(bid, r) for bid, r in zip(booking_ids, rows, strict=True) if r["status"] == "completed"]
    s.execute(insert(Reflection), [
        {"booking_id": bid, "student_id": r["student_id"], "school_id": r["school_id"], "easy_read": False,
         "status": "submitted", "submitted_at": now, "debriefed_in_person": False, "created_at": now, "updated_at": now}
        for bid, r in completed if rng.random() < 0.4])
    s.execute(insert(EmployerFeedback), [
        {"booking_id": bid, "employer_id": r["employer_id"], "school_id": r["school_id"], "attended": "full",
         "punctuality": "on_time", "given_at": now} for bid, r in completed if rng.random() < 0.3])
    s.execute(insert(ConsentRequest), [
        {"booking_id": bid, "school_id": r["school_id"], "parent_email": "parent@example.org",
         "nonce": uuid.uuid4().hex, "sent_at": now, "expires_at": now + dt.timedelta(days=14),
         "decision": "consented", "responder_name": "Parent", "responded_at": now}
        for bid, r in zip(booking_ids, rows, strict=True) if r["ends_at"] > now and rng.random() < 0.3])
    s.commit()


def timed(label: str, action: Callable[[], Any], rows: int | None = None) -> tuple[float, Any]:
    """Run one job in its own transaction, commit, and print its time (and rows per second)."""
    started = time.perf_counter()
    result = action()
    db.session.commit()
    elapsed = time.perf_counter() - started
    rate = f", {rows / elapsed:>10,.0f} bookings/s" if rows else ""
    counts = ", ".join(f"{k} {v:,}" for k, v in result.items() if isinstance(v, int)) if isinstance(result, dict) else ""
    print(f"  {label:<50} {elapsed:7.2f} s{rate}   {counts}")
    return elapsed, result


def bench(url: str, bookings: int, sample: int, name: str) -> None:
    """Build the data in the database at `url` and time the sweeps against it."""
    rng = random.Random(11)
    app = create_app({"ENV": "testing", "TESTING": True, "SECRET_KEY": "benchmark", "DATABASE_URL": url,
                      "RATELIMIT_ENABLED": False, "BASE_URL": "https://portal.example"})
    now = utcnow().replace(microsecond=0)
    today = london_date(now)
    with app.app_context():
        db.create_all()  # the models' tables and indexes (the migrations create the same ones)
        started = time.perf_counter()
        build(rng, bookings, now)
        total = db.session.scalar(select(func.count()).select_from(Booking))
        print(f"\n{name}: built {total:,} bookings in {time.perf_counter() - started:.1f} s (today {today})")

        ended = db.session.scalar(select(func.count()).select_from(Booking)
                                  .where(Booking.status == "confirmed", Booking.ends_at <= now))
        timed(f"complete_ended_bookings ({ended:,} ended)", lambda: jobs.complete_ended_bookings(db.session, now), ended)
        since = jobs._follow_up_since(db.session, today)
        window = db.session.scalar(select(func.count()).select_from(jobs._ended_completed(since, now).subquery()))
        timed(f"reflection_prompts ({window:,} in the window)", lambda: jobs.reflection_prompts(db.session, now), window)
        timed(f"feedback_requests ({window:,} in the window)", lambda: jobs.feedback_requests(db.session, now), window)

        reminder_days = int(app.config["COMPLIANCE_REMINDER_DAYS"])
        booking_filter = jobs.compliance_filter(db.session, today, reminder_days)
        swept = db.session.scalar(select(func.count()).select_from(booking_filter.subquery()))
        active = db.session.scalar(select(func.count()).select_from(Booking)
                                   .where(Booking.status.in_(jobs.ACTIVE), Booking.ends_at > now))
        print(f"  compliance sweep: {swept:,} bookings near their deadlines of {active:,} active upcoming")
        checklist_time, lists = timed("checklists() for the sweep (six queries)",
                                      lambda: checklists(db.session, booking_filter, today), swept)
        first, _ = timed("compliance + escalations, first run", lambda: jobs.compliance_and_escalations(db.session, now),
                         swept)
        timed("compliance + escalations, repeat (nothing new)",
              lambda: jobs.compliance_and_escalations(db.session, now), swept)
        everything = select(Booking.id).where(Booking.status.in_(jobs.ACTIVE), Booking.ends_at > now)
        timed(f"checklists() for every active booking ({active:,})", lambda: checklists(db.session, everything, today),
              active)
        timed("weekly digest (every school)", lambda: jobs.weekly_digest(db.session, now))
        timed("insurance reminders", lambda: jobs.insurance_reminders(db.session, now))
        timed("purge DBS details", lambda: jobs.purge_dbs_details(db.session, now))

        ids = list(db.session.scalars(booking_filter))
        chosen = rng.sample(ids, min(sample, len(ids)))
        started = time.perf_counter()
        for booking_id in chosen:
            checklists(db.session, bookings_by_id([booking_id]), today)
        per_booking = (time.perf_counter() - started) / max(len(chosen), 1)
        naive = per_booking * swept
        print(f"  naive: checklists() per booking, {len(chosen):,} sampled: {per_booking * 1000:.2f} ms each, "
              f"{naive:.1f} s extrapolated to {swept:,} bookings")
        print(f"  set-based checklist is {naive / checklist_time:.0f}x faster than the naive loop "
              f"({naive / first:.0f}x including the claims and emails)")
        queued = db.session.scalar(select(func.count()).select_from(OutboxMessage))
        print(f"  {queued:,} emails queued in all; {len(lists):,} checklists computed in the sweep")
        db.session.remove()
        db.engine.dispose()


@contextmanager
def postgres_schema(base_url: str) -> Iterator[str]:
    """A fresh schema on the PostgreSQL server, dropped afterwards; yields a URL whose search_path is it."""
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    engine = create_engine(base_url)
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base_url else "?"
    try:
        yield f"{base_url}{sep}options=-csearch_path%3D{schema}"
    finally:
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


def main() -> int:
    """Run on SQLite, then on PostgreSQL when PORTAL_BENCH_DATABASE_URL is set."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bookings", type=int, default=100_000)
    parser.add_argument("--sample", type=int, default=1_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sweep-bench-") as folder:
        bench(f"sqlite:///{Path(folder) / 'bench.db'}", args.bookings, args.sample, "SQLite")
    pg_url = os.environ.get("PORTAL_BENCH_DATABASE_URL", "").strip()
    if pg_url:
        with postgres_schema(pg_url) as url:
            bench(url, args.bookings, args.sample, "PostgreSQL")
    else:
        print("\n(PostgreSQL skipped: set PORTAL_BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark 5/6 dashboard for a school of 2,000 students with 20,000 encounters: time per computation and page.

Builds a throwaway SQLite database from the models with set-based inserts: one school, 2,000 students in
Years 7 to 13 (15% SEN support, 4% EHCP, 25% disadvantaged), and 20,000 encounters over the last three
academic years: 5,000 completed bookings (half with a submitted reflection or a staff debrief) and 15,000
attendances on 300 logged encounters (60% debriefed). Then times portal.progress.services.
compute_school_progress (what the page, the CSV and `flask benchmarks` call) and the whole dashboard page
through the test client, and prints the school's figures. Target: the dashboard under 1 s.

    .venv/bin/python benchmarks/progress.py [--students 2000] [--encounters 20000] [--runs 5]
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert, select  # noqa: E402

from portal import create_app  # noqa: E402
from portal.accounts.models import User  # noqa: E402
from portal.accounts.passwords import hash_password  # noqa: E402
from portal.bookings.models import Booking  # noqa: E402
from portal.core.dates import academic_year, london_date  # noqa: E402
from portal.core.vocab import ActivityType  # noqa: E402
from portal.db import utcnow  # noqa: E402
from portal.extensions import db  # noqa: E402
from portal.offers.models import Offer, OfferSession  # noqa: E402
from portal.organisations.models import Employer, School, Student  # noqa: E402
from portal.progress.services import MEASURES, compute_school_progress  # noqa: E402
from portal.reflections.models import EncounterAttendance, EncounterLog, Reflection  # noqa: E402

TARGET_SECONDS = 1.0


def build(rng: random.Random, students: int, encounters: int) -> School:
    """Fill the database with one school's students, bookings, reflections and logged encounters."""
    now = utcnow().replace(microsecond=0)
    school = School(urn="900001", name="Benchmark Academy", school_type="mainstream", postcode="M13 9PL")
    employer = Employer(ref="EMP-BENCH", name="Bench Employer", sector="healthcare", postcode="M1 3BN",
                        vetting_status="vetted")
    db.session.add_all([school, employer])
    db.session.flush()
    db.session.add(User(email="staff@bench.example", name="Staff", role="school", school_id=school.id,
                        password_hash=hash_password("benchmark-password-long-enough")))
    db.session.execute(insert(Student), [
        {"school_id": school.id, "student_ref": f"R{i:05d}", "first_name": f"First{i}", "last_name": f"Last{i}",
         "year_group": 7 + i % 7, "date_of_birth": dt.date(2010, 1, 1),
         "send_status": rng.choices(["none", "sen_support", "ehcp"], weights=[81, 15, 4])[0],
         "disadvantaged": rng.random() < 0.25, "created_at": now}
        for i in range(students)
    ])
    student_ids = list(db.session.scalars(select(Student.id).where(Student.school_id == school.id)))
    activities = list(ActivityType)

    # 5,000 completed bookings on 250 past sessions of 50 offers (a student at most once per session)
    booked = encounters // 4
    offers = db.session.execute(insert(Offer).returning(Offer.id, sort_by_parameter_order=True), [
        {"offer_ref": f"BENCH{i:05d}", "employer_id": employer.id, "title": f"Offer {i}",
         "activity_type": activities[i % len(activities)].value, "delivery_mode": "on_site",
         "uses_employer_location": True, "status": "published", "created_at": now, "updated_at": now}
        for i in range(50)
    ]).scalars().all()
    starts = [now - dt.timedelta(days=rng.uniform(1, 1000)) for _ in range(250)]
    sessions = db.session.execute(insert(OfferSession).returning(OfferSession.id, sort_by_parameter_order=True), [
        {"offer_id": offers[i % len(offers)], "starts_at": start, "ends_at": start + dt.timedelta(hours=6),
         "capacity": 100, "created_at": now} for i, start in enumerate(starts)
    ]).scalars().all()
    pairs: set[tuple[int, int]] = set()
    while len(pairs) < booked:
        pairs.add((rng.choice(student_ids), rng.randrange(len(sessions))))
    booking_ids = db.session.execute(insert(Booking).returning(Booking.id, sort_by_parameter_order=True), [
        {"student_id": sid, "session_id": sessions[k], "school_id": school.id, "employer_id": employer.id,
         "starts_at": starts[k], "ends_at": starts[k] + dt.timedelta(hours=6), "status": "completed",
         "requested_at": now}
        for sid, k in sorted(pairs)
    ]).scalars().all()
    student_of = dict(zip(booking_ids, [sid for sid, _ in sorted(pairs)], strict=True))
    db.session.execute(insert(Reflection), [
        {"booking_id": bid, "student_id": student_of[bid], "school_id": school.id, "easy_read": False,
         "status": "submitted" if rng.random() < 0.7 else "draft", "submitted_at": now,
         "debriefed_in_person": False, "debriefed_at": now if rng.random() < 0.3 else None,
         "created_at": now, "updated_at": now}
        for bid in booking_ids if rng.random() < 0.6
    ])

    # 15,000 attendances on 300 logged encounters
    logs = db.session.execute(insert(EncounterLog).returning(EncounterLog.id, sort_by_parameter_order=True), [
        {"school_id": school.id, "held_on": london_date(now) - dt.timedelta(days=rng.randint(1, 1000)),
         "activity_type": rng.choice(activities).value, "employer_name": f"Visitor {i}", "created_at": now}
        for i in range(300)
    ]).scalars().all()
    attendance: set[tuple[int, int]] = set()
    while len(attendance) < encounters - booked:
        attendance.add((rng.choice(logs), rng.choice(student_ids)))
    db.session.execute(insert(EncounterAttendance), [
        {"log_id": log_id, "student_id": sid, "attended": rng.random() < 0.95, "debriefed": rng.random() < 0.6}
        for log_id, sid in attendance
    ])
    db.session.commit()
    return school


def main() -> int:
    """Build the data, time the computation and the page, print the figures; exit 1 when over target."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=2_000)
    parser.add_argument("--encounters", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    rng = random.Random(7)
    with tempfile.TemporaryDirectory(prefix="progress-bench-") as folder:
        app = create_app({"ENV": "testing", "TESTING": True, "SECRET_KEY": "benchmark", "WTF_CSRF_ENABLED": False,
                          "DATABASE_URL": f"sqlite:///{Path(folder) / 'bench.db'}", "RATELIMIT_ENABLED": False})
        with app.app_context():
            db.create_all()  # the models' tables and indexes (the migrations create the same ones)
            started = time.perf_counter()
            school = build(rng, args.students, args.encounters)
            print(f"Built {args.students:,} students and {args.encounters:,} encounters in "
                  f"{time.perf_counter() - started:.1f} s")
            today = london_date(utcnow())
            year = academic_year(today)
            compute_times, result = [], None
            for _ in range(args.runs):
                started = time.perf_counter()
                result = compute_school_progress(db.session, school, year, today=today)
                compute_times.append(time.perf_counter() - started)
                db.session.rollback()
            staff_id = db.session.scalars(select(User).where(User.school_id == school.id)).one().get_id()
        client = app.test_client()
        with client.session_transaction() as flask_session:
            flask_session["_user_id"] = staff_id
            flask_session["_fresh"] = True
        page_times = []
        for _ in range(args.runs):
            started = time.perf_counter()
            response = client.get("/school/progress")
            page_times.append(time.perf_counter() - started)
            assert response.status_code == 200, response.status_code
    assert result is not None
    print(f"compute_school_progress: median {statistics.median(compute_times) * 1000:.0f} ms, "
          f"max {max(compute_times) * 1000:.0f} ms over {args.runs} runs")
    print(f"dashboard page (GET /school/progress): median {statistics.median(page_times) * 1000:.0f} ms, "
          f"max {max(page_times) * 1000:.0f} ms")
    print(f"{len(result.students):,} students in {year}/{str(year + 1)[-2:]}, "
          f"{len(result.nothing_this_year):,} with nothing yet this year")
    for measure, label in MEASURES.items():
        share = result.overall[measure]
        print(f"  {label:<28} {share.met:>5,} of {share.total:<5,} {share.percent}%")
    worst = max(page_times)
    print(f"target: dashboard under {TARGET_SECONDS:.0f} s: {'met' if worst < TARGET_SECONDS else 'MISSED'}")
    return 0 if worst < TARGET_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())

"""Single-student matching over 200,000 sessions: p50/p95 latency, and the ratio to a naive match.

Reuses the offer-search benchmark's data (100,000 offers with two sessions each, spread over
England), adds schools and students with realistic needs, then runs 200 single-student matches
through portal.matching.services.match_student (the function the match page, the CLI and the
API call) and a few through a naive version that loads every published offer and applies every
rule and distance in Python. Target: p95 under 100 ms on SQLite.

    .venv/bin/python benchmarks/match.py [--offers 100000] [--matches 200] [--naive 3]
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
sys.path.insert(0, str(Path(__file__).resolve().parent))

import offer_search  # noqa: E402
from sqlalchemy import select, text  # noqa: E402
from sqlalchemy.orm import joinedload, selectinload  # noqa: E402

from portal import create_app  # noqa: E402
from portal.extensions import db  # noqa: E402
from portal.geo import distance_km  # noqa: E402
from portal.matching.services import MatchRequest, match_student  # noqa: E402
from portal.offers.models import Offer  # noqa: E402
from portal.organisations.models import School, Student, StudentInterest, StudentNeed  # noqa: E402

NEEDS = ["quiet_space", "step_free_access", "easy_read_materials", "supporting_adult_welcome", "autism_aware_staff"]


def add_students(rng: random.Random, count: int) -> list[int]:
    """Schools near random places, each student with a year group, interests and (for some) needs."""
    ids = []
    for index in range(count):
        lat, lon = offer_search.random_point(rng)
        school = School(urn=f"{900000 + index}", name=f"School {index}", school_type="mainstream",
                        postcode="M13 9PL", latitude=lat, longitude=lon)
        db.session.add(school)
        db.session.flush()
        student = Student(school_id=school.id, student_ref=f"B{index}", first_name="Bench", last_name=f"{index}",
                          year_group=rng.randint(7, 13), date_of_birth=dt.date(2011, 1, 1))
        student.school = school
        needs = rng.sample(NEEDS, rng.choice([0, 0, 0, 1, 1, 2]))
        student.needs = [StudentNeed(need=n) for n in needs]
        student.interests = [StudentInterest(sector=s) for s in rng.sample(["healthcare", "creative_media", "transport"], 1)]
        db.session.add(student)
        db.session.flush()
        ids.append(student.id)
    db.session.commit()
    return ids


def naive_match(student: Student, radius_km: float, now: dt.datetime) -> list[tuple[float, int]]:
    """Every published offer loaded into Python; every rule and distance checked there."""
    found = []
    offers = db.session.scalars(
        select(Offer).where(Offer.status == "published").options(
            joinedload(Offer.employer), selectinload(Offer.sessions), selectinload(Offer.features),
            selectinload(Offer.year_groups))
    ).unique().all()
    school = (student.school.latitude, student.school.longitude)
    needs = set(student.need_codes)
    for offer in offers:
        if not offer.employer.is_vetted or student.year_group not in offer.year_group_numbers:
            continue
        if not needs <= set(offer.feature_codes):
            continue
        if not any(s.starts_at > now and s.booked < s.capacity for s in offer.sessions):
            continue
        if offer.latitude is None:
            found.append((0.0, offer.id))
            continue
        km = distance_km(school, (offer.latitude, offer.longitude))
        if km <= radius_km:
            found.append((km, offer.id))
    return sorted(found)


def main() -> int:
    """Build, match, report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--offers", type=int, default=100_000)
    parser.add_argument("--matches", type=int, default=200)
    parser.add_argument("--naive", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="match-bench-") as folder:
        url = f"sqlite:///{Path(folder) / 'bench.db'}"
        app = create_app({"ENV": "testing", "TESTING": True, "SECRET_KEY": "benchmark", "DATABASE_URL": url,
                          "RATELIMIT_ENABLED": False})
        with app.app_context():
            db.create_all()
            started = time.perf_counter()
            offer_search.build(args.offers, rng)
            student_ids = add_students(rng, args.matches)
            sessions = db.session.scalar(text("SELECT count(*) FROM offer_sessions"))
            print(f"Built {args.offers:,} offers, {sessions:,} sessions and {len(student_ids)} students "
                  f"in {time.perf_counter() - started:.1f} s")
            now = dt.datetime.now(dt.UTC)
            request = MatchRequest(radius_km=15)
            students = [db.session.get(Student, sid) for sid in student_ids]
            for student in students[:5]:
                match_student(db.session, student, request, now=now)
            timings, found = [], []
            for student in students:
                begin = time.perf_counter()
                outcome = match_student(db.session, student, request, now=now)
                timings.append((time.perf_counter() - begin) * 1000)
                found.append(len(outcome.matches))
            p50, p95 = statistics.median(timings), offer_search.percentile(timings, 0.95)
            print(f"match_student, {len(timings)} students, radius 15 km: p50 {p50:.1f} ms, p95 {p95:.1f} ms, "
                  f"max {max(timings):.1f} ms; median {statistics.median(found):.0f} matches "
                  f"({sum(1 for n in found if n == 0)} students with none, explained)")
            naive_times = []
            for student in students[:args.naive]:
                begin = time.perf_counter()
                naive_match(student, 15, now)
                naive_times.append((time.perf_counter() - begin) * 1000)
                db.session.expunge_all()
            naive = statistics.median(naive_times)
            print(f"naive match (everything in Python): median {naive:.0f} ms over {len(naive_times)} students; "
                  f"match_student is {naive / p50:.0f}x faster at the median, {naive / p95:.0f}x at p95")
            verdict = "meets" if p95 < 100 else "MISSES"
            print(f"Target p95 < 100 ms on SQLite: {verdict} ({p95:.1f} ms)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

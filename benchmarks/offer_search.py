"""Distance search over 200,000 sessions: p50/p95 latency, and the ratio to a naive search.

Builds a throwaway SQLite database from the models, fills it with set-based inserts
(100,000 offers with two sessions each, spread over England: most around city centres, the
rest anywhere in England's bounding box, 5% virtual), then runs 200 distance searches through
portal.offers.search.search_offers (the function the search page calls) and a few through a
naive version that loads every published offer and computes every distance in Python with
portal.geo.distance_km. Targets: p95 under 50 ms, and at least 20 times faster than naive.

    .venv/bin/python benchmarks/offer_search.py [--offers 100000] [--searches 200] [--naive 5]
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
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert, select, text  # noqa: E402
from sqlalchemy.orm import joinedload, selectinload  # noqa: E402

from portal import create_app  # noqa: E402
from portal.core.vocab import AccessFeature, ActivityType, DeliveryMode, Sector  # noqa: E402
from portal.extensions import db  # noqa: E402
from portal.geo import distance_km  # noqa: E402
from portal.offers.models import Offer, OfferFeature, OfferSector, OfferSession, OfferYearGroup  # noqa: E402
from portal.offers.search import OfferQuery, search_offers  # noqa: E402
from portal.organisations.models import Employer  # noqa: E402

# Rough centres of English cities and towns, weighted by size; offers cluster around them.
CITIES = [
    ((51.507, -0.128), 12), ((52.486, -1.890), 4), ((53.480, -2.242), 4), ((53.801, -1.549), 3),
    ((53.408, -2.991), 3), ((53.381, -1.470), 2), ((54.978, -1.618), 2), ((51.454, -2.588), 2),
    ((52.954, -1.158), 2), ((52.637, -1.135), 1), ((50.376, -4.143), 1), ((50.909, -1.404), 1),
    ((52.408, -1.511), 1), ((53.745, -0.336), 1), ((54.574, -1.235), 1), ((52.630, 1.297), 1),
    ((50.822, -0.137), 1), ((52.205, 0.122), 1), ((51.752, -1.258), 1), ((50.721, -1.880), 1),
    ((53.765, -2.704), 1), ((53.959, -1.082), 1), ((50.726, -3.527), 1), ((52.040, -0.759), 1),
]
ENGLAND = (50.0, 55.8, -5.7, 1.75)  # min lat, max lat, min lon, max lon
RADII_KM = (5, 10, 25, 50)
SESSIONS_PER_OFFER = 2
PER_PAGE = 20


def random_point(rng: random.Random) -> tuple[float, float]:
    """A point near a city (80%) or anywhere in England's bounding box (20%)."""
    if rng.random() < 0.8:
        (lat, lon), = rng.choices([c for c, _ in CITIES], weights=[w for _, w in CITIES])
        return lat + rng.gauss(0, 0.09), lon + rng.gauss(0, 0.14)  # about 10 km spread
    return rng.uniform(ENGLAND[0], ENGLAND[1]), rng.uniform(ENGLAND[2], ENGLAND[3])


def build(offers: int, rng: random.Random) -> None:
    """Fill the database with employers, offers, sessions and their codes using bulk inserts."""
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    employers = max(offers // 50, 1)
    db.session.execute(insert(Employer), [
        {"ref": f"EMP{i:06d}", "name": f"Employer {i}", "sector": rng.choice(list(Sector)).value,
         "postcode": "M1 3BN", "vetting_status": "vetted" if rng.random() < 0.95 else "pending",
         "insurance_expiry": (now + dt.timedelta(days=400)).date(), "created_at": now}
        for i in range(employers)
    ])
    employer_ids = list(db.session.scalars(select(Employer.id)))
    activities, features, sectors = list(ActivityType), list(AccessFeature), list(Sector)
    batch = 10_000
    for start in range(0, offers, batch):
        rows = []
        for i in range(start, min(start + batch, offers)):
            virtual = rng.random() < 0.05
            lat, lon = (None, None) if virtual else random_point(rng)
            rows.append({
                "offer_ref": f"BENCH{i:07d}", "employer_id": rng.choice(employer_ids), "title": f"Offer {i}",
                "activity_type": rng.choice(activities).value,
                "delivery_mode": DeliveryMode.VIRTUAL.value if virtual else rng.choice(["on_site", "in_school", "hybrid"]),
                "uses_employer_location": False, "latitude": lat, "longitude": lon,
                "status": rng.choices(["published", "draft", "paused", "archived"], weights=[85, 7, 4, 4])[0],
                "created_at": now, "updated_at": now,
            })
        ids = [row.id for row in db.session.execute(insert(Offer).returning(Offer.id), rows)]
        sessions, offer_sectors, years, offer_features = [], [], [], []
        for offer_id in ids:
            first = now + dt.timedelta(days=rng.uniform(-60, 300))
            for k in range(SESSIONS_PER_OFFER):
                begins = (first + dt.timedelta(days=7 * k)).replace(second=0)
                sessions.append({"offer_id": offer_id, "starts_at": begins, "ends_at": begins + dt.timedelta(hours=6),
                                 "capacity": rng.randint(1, 30), "created_at": now})
            offer_sectors += [{"offer_id": offer_id, "sector": s.value} for s in rng.sample(sectors, rng.randint(1, 2))]
            low = rng.randint(7, 12)
            years += [{"offer_id": offer_id, "year_group": y} for y in range(low, min(low + rng.randint(1, 4), 14))]
            offer_features += [{"offer_id": offer_id, "feature": f.value} for f in rng.sample(features, rng.randint(0, 4))]
        for model, values in ((OfferSession, sessions), (OfferSector, offer_sectors), (OfferYearGroup, years),
                              (OfferFeature, offer_features)):
            db.session.execute(insert(model), values)
    db.session.commit()


def naive_search(query: OfferQuery, now: dt.datetime) -> list[tuple[float, int]]:
    """Load every published offer with its sessions and employer, then filter and measure in Python."""
    assert query.origin is not None and query.radius_km is not None
    offers = db.session.scalars(
        select(Offer).where(Offer.status == "published")
        .options(joinedload(Offer.employer), selectinload(Offer.sessions))
    ).all()
    found = []
    for offer in offers:
        if not offer.employer.is_vetted or not any(s.starts_at > now for s in offer.sessions):
            continue
        if offer.latitude is None:
            found.append((float("inf"), offer.id))
            continue
        distance = distance_km(query.origin, (offer.latitude, offer.longitude))
        if distance <= query.radius_km:
            found.append((distance, offer.id))
    found.sort()
    db.session.expunge_all()
    return found[:PER_PAGE]


def percentile(values: list[float], share: float) -> float:
    """The share-th percentile (nearest rank) of the values."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def main() -> int:
    """Build, search, report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--offers", type=int, default=100_000, help="offers to create (two sessions each)")
    parser.add_argument("--searches", type=int, default=200)
    parser.add_argument("--naive", type=int, default=5, help="how many searches to repeat naively (slow)")
    parser.add_argument("--seed", type=int, default=4)
    args = parser.parse_args()
    rng = random.Random(args.seed)

    with tempfile.TemporaryDirectory(prefix="offer-search-bench-") as folder:
        url = f"sqlite:///{Path(folder) / 'bench.db'}"
        app = create_app({"ENV": "testing", "TESTING": True, "SECRET_KEY": "benchmark", "DATABASE_URL": url,
                          "RATELIMIT_ENABLED": False})
        with app.app_context():
            db.create_all()  # the models' tables and indexes (the migrations create the same ones)
            started = time.perf_counter()
            build(args.offers, rng)
            sessions = db.session.scalar(text("SELECT count(*) FROM offer_sessions"))
            print(f"Built {args.offers:,} offers and {sessions:,} sessions in {time.perf_counter() - started:.1f} s "
                  f"(SQLite {db.session.scalar(text('select sqlite_version()'))}, Python {sys.version.split()[0]})")

            now = dt.datetime.now(dt.UTC)
            queries = [OfferQuery(origin=random_point(rng), radius_km=float(rng.choice(RADII_KM)))
                       for _ in range(args.searches)]
            for query in queries[:5]:  # warm the page cache and the geodesic code
                search_offers(db.session, query, now=now)
            timings: dict[float, list[float]] = {}
            totals = []
            for query in queries:
                begin = time.perf_counter()
                page = search_offers(db.session, query, per_page=PER_PAGE, now=now)
                elapsed = (time.perf_counter() - begin) * 1000
                timings.setdefault(query.radius_km or 0, []).append(elapsed)
                totals.append(page.total)
                db.session.expunge_all()
            every = [t for values in timings.values() for t in values]
            p50, p95 = statistics.median(every), percentile(every, 0.95)
            print(f"search_offers, {len(every)} distance searches (radius {', '.join(map(str, RADII_KM))} km): "
                  f"p50 {p50:.1f} ms, p95 {p95:.1f} ms, max {max(every):.1f} ms; "
                  f"median {statistics.median(totals):.0f} results")
            for radius, values in sorted(timings.items()):
                print(f"  {radius:>4.0f} km: n={len(values):3d}  p50 {statistics.median(values):6.1f} ms  "
                      f"p95 {percentile(values, 0.95):6.1f} ms")

            naive_times = []
            for query in queries[:args.naive]:
                begin = time.perf_counter()
                naive = naive_search(query, now)
                naive_times.append((time.perf_counter() - begin) * 1000)
                fast = search_offers(db.session, query, per_page=PER_PAGE, now=now)
                located = [item.offer.id for item in fast.items if item.distance_km is not None]
                assert located == [offer_id for distance, offer_id in naive if distance != float("inf")], \
                    "the naive and indexed searches disagree"
                db.session.expunge_all()
            naive_median = statistics.median(naive_times)
            ratio = naive_median / p50
            print(f"naive (load everything, geodesic per offer in Python), {len(naive_times)} searches: "
                  f"median {naive_median:.0f} ms -> search_offers is {ratio:.0f}x faster (p50 against median)")
            ok = p95 < 50 and ratio >= 20
            print("targets (p95 < 50 ms, >= 20x naive):", "met" if ok else "NOT met")
            db.session.remove()
            db.engine.dispose()
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())

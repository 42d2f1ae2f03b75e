"""Benchmark the offline postcode geocoder: build time, first-load time, per-lookup latency.

    .venv/bin/python benchmarks/geocode.py                 # build a fresh lookup in a temp dir
    .venv/bin/python benchmarks/geocode.py --lookup instance/geo/postcodes.sqlite  # reuse a file

Lookups use random real postcodes drawn from the lookup itself, timed one by one.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from portal.geo import OfflineGeocoder, build_lookup  # noqa: E402
from portal.geo.build import open_lookup, read_meta  # noqa: E402


def _time_lookups(geocoder: OfflineGeocoder, postcodes: list[str]) -> list[float]:
    """Microseconds taken by each locate() call."""
    clock = time.perf_counter_ns
    timings = []
    for postcode in postcodes:
        started = clock()
        geocoder.locate(postcode)
        timings.append((clock() - started) / 1000)
    return timings


def _summary(label: str, timings: list[float]) -> str:
    p95 = statistics.quantiles(timings, n=100)[94]
    return (
        f"{label:<28} n={len(timings):>7,}  mean {statistics.fmean(timings):6.1f} us"
        f"  p50 {statistics.median(timings):6.1f} us  p95 {p95:6.1f} us  max {max(timings):8.1f} us"
    )


def main() -> None:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lookup", type=Path, help="use this built lookup instead of building one")
    parser.add_argument("--count", type=int, default=100_000, help="lookups to time")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="geo-bench-") as scratch:
        path = args.lookup
        if path is None:
            path = Path(scratch) / "postcodes.sqlite"
            cpu_started = time.process_time()
            report = build_lookup(path)
            cpu = time.process_time() - cpu_started
            print(
                f"build:        {report.seconds:6.2f} s wall, {cpu:.2f} s CPU  "
                f"({report.postcodes:,} postcodes, {report.districts:,} districts, "
                f"{report.size_bytes / 1e6:.1f} MB, {report.data_release})"
            )
        else:
            meta = read_meta(path)
            print(
                f"build:        skipped, using {path} ({meta['data_release']}, built {meta['built_at']})"
            )
            print(f"file size:    {path.stat().st_size / 1e6:.1f} MB")

        connection = open_lookup(path)
        keys = [row[0] for row in connection.execute("SELECT pc FROM postcode")]
        districts = [
            row[0]
            for row in connection.execute("SELECT outward FROM district WHERE lat IS NOT NULL")
        ]
        connection.close()
        rng = random.Random(args.seed)
        postcodes = [f"{key[:-3]} {key[-3:]}" for key in rng.choices(keys, k=args.count)]
        unlisted = [
            f"{district} 9ZZ" for district in rng.choices(districts, k=min(args.count, 10_000))
        ]
        del keys

        geocoder = OfflineGeocoder(path)
        started = time.perf_counter()
        geocoder.locate(postcodes[0])
        first = time.perf_counter() - started
        print(f"first load:   {first * 1000:6.2f} ms (check the file, open it, first query)")

        timings = _time_lookups(geocoder, postcodes)
        print(_summary("lookup (real postcodes)", timings))
        print(_summary("lookup (<district> 9ZZ)", _time_lookups(geocoder, unlisted)))


if __name__ == "__main__":
    main()

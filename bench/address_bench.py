"""Address parser benchmark: ``parse_address`` (the visit list's per-person step) against the parser as it was
before it was optimised (kept verbatim as the oracle of tests/visits/test_addresses_oracle.py), on the demo
generator's addresses. Prints parses per second old vs new (with its caches cold at the start, as a worker's
first visit list, and without the parse cache, for addresses that do not repeat); the floor is ``clean_text``
alone, which both call first. Writes bench/results/address.json; asserts nothing. No database.

    .venv/bin/python bench/address_bench.py [--rows 100000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import figure, peak_mb, record  # noqa: E402

from app.demo import synthetic  # noqa: E402
from app.demo.seed import demo_communes  # noqa: E402
from app.services.registry import normalize  # noqa: E402
from app.services.visits import addresses  # noqa: E402
from tests.visits import test_addresses_oracle as oracle  # noqa: E402


def _cold() -> None:
    normalize._clean_str.cache_clear()
    addresses._parse_local.cache_clear()


def _uncached(value):
    return addresses._parse_local.__wrapped__(addresses._local(normalize.clean_text(value)))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rows, repeat = args.rows, args.repeat
    values = [row[6] for row in synthetic.generate_citizens(7, rows, demo_communes(None))]
    local_parts = {addresses.local_part(v) for v in values}
    print(f"{rows:,} addresses, {len(set(values)):,} distinct, {len(local_parts):,} distinct local parts")
    cases = {
        "parse_address, before (oracle)": oracle.parse_address,
        "parse_address, now": addresses.parse_address,
        "parse_address, now without the parse cache": _uncached,
        "local_part, before (oracle)": oracle.local_part,
        "local_part, now": addresses.local_part,
    }
    # The best of ``--repeat`` runs of each, taken in turns: the machine is shared, a run can be slowed by others.
    best: dict[str, float] = {}
    for _ in range(repeat):
        for name, run in [("clean_text", normalize.clean_text), *cases.items()]:
            _cold()
            start = time.perf_counter()
            for v in values:
                run(v)
            best[name] = min(best.get(name, float("inf")), time.perf_counter() - start)
    floor = best["clean_text"]
    figures = []
    seconds = {}
    for name in cases:
        elapsed = seconds[name] = best[name]
        print(f"  {name:<44} {elapsed:7.3f} s  {rows / elapsed:10,.0f} parses/s")
        figures.append(
            figure(
                name,
                elapsed,
                floor,
                "clean_text per address, cold cache",
                parses_per_s=round(rows / elapsed),
                peak_rss_mb=peak_mb(),
            )
        )
    speedup = {
        "parse_address": round(seconds["parse_address, before (oracle)"] / seconds["parse_address, now"], 2),
        "parse_address without the parse cache": round(
            seconds["parse_address, before (oracle)"] / seconds["parse_address, now without the parse cache"], 2
        ),
        "local_part": round(seconds["local_part, before (oracle)"] / seconds["local_part, now"], 2),
    }
    print("  speed-up (before / now): " + ", ".join(f"{k} ×{v:g}" for k, v in speedup.items()))
    record(
        "address",
        {"rows": rows, "repeat": repeat, "distinct": len(set(values)), "distinct_local_parts": len(local_parts)},
        figures,
        speedup=speedup,
    )


if __name__ == "__main__":
    main()

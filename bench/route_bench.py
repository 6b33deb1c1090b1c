"""How long one route() takes, and whether it grows with the calendar or the number of rules.

Run with `make bench`. Prints medians in microseconds; nothing here is a pass/fail test.
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

from ivr import config
from ivr.model import Closure, DayKind, Destination, Override, Rule, Schedule, Service
from ivr.schedule import Router

SAMPLES = 20_000
START = datetime(2027, 1, 1, tzinfo=UTC)
DESTINATIONS = {
    "office": Destination("office", "the office", "+443004560108"),
    "night": Destination("night", "the night team", "+443004560100"),
}


def median_us(call: Callable[[datetime], object], instants: list[datetime]) -> float:
    """Median wall time of one call, in microseconds, over the given instants."""
    timings = []
    for instant in instants:
        begin = time.perf_counter_ns()
        call(instant)
        timings.append(time.perf_counter_ns() - begin)
    return statistics.median(timings) / 1000


def instants(years: int, count: int = SAMPLES, seed: int = 7) -> list[datetime]:
    rng = random.Random(seed)
    span = int(timedelta(days=365 * years).total_seconds())
    return [START + timedelta(seconds=rng.randrange(span)) for _ in range(count)]


def schedule_with(rule_count: int, years: int) -> Schedule:
    """A service with `rule_count` rules, closures every month and an override a week for `years` years."""
    rng = random.Random(rule_count)
    rules = []
    for n in range(rule_count - 1):
        start = rng.randrange(0, 1439)
        end = rng.randrange(start + 1, 1441)
        rules.append(Rule(rng.choice(["office", "night"]), frozenset(rng.sample(range(7), rng.randint(1, 7))), start, end,
                          frozenset({DayKind.ORDINARY}), f"rule {n + 1}"))
    rules.append(Rule("night", frozenset(range(7)), 0, 1440, frozenset(DayKind), "catch-all"))
    closures = tuple(Closure(date(2027 + y, m, 10), 780, 1440, "half day") for y in range(years) for m in range(1, 13))
    overrides = tuple(
        Override(frozenset({"child-at-risk"}), "night", START + timedelta(days=7 * w, hours=9), START + timedelta(days=7 * w, hours=12), "drill", f"override {w}")
        for w in range(52 * years)
    )
    service = Service("child-at-risk", "worried about a child", tuple(rules), always_open=True)
    return Schedule("bench", "Europe/London", DESTINATIONS, {"child-at-risk": service}, closures, overrides)


def main() -> None:
    print(f"route() median over {SAMPLES:,} random instants; microseconds per call\n")

    begin = time.perf_counter()
    shipped = config.load()
    print(f"load and validate the shipped configuration (3 lines, 400-day proof): {time.perf_counter() - begin:.2f} s")
    router = shipped.router("wiltshire")
    year = instants(1)
    cold = median_us(lambda at: router.route("child-at-risk", at), year)
    warm = median_us(lambda at: router.route("child-at-risk", at), year)
    print(f"shipped wiltshire child-at-risk, one year: first visit {cold:6.2f}   warm {warm:6.2f}\n")

    print(f"{'calendar':>10} {'rules':>6} {'compile s':>10} {'first visit':>12} {'warm':>8}")
    for rule_count in (10, 1000):
        for years in (1, 10, 50):
            begin = time.perf_counter()
            bench_router = Router(schedule_with(rule_count, years))
            compiled = time.perf_counter() - begin
            spread = instants(years)
            route = bench_router.service("child-at-risk").route
            first = median_us(route, spread)
            again = median_us(route, spread)
            print(f"{years:>7} yr {rule_count:>6} {compiled:>10.3f} {first:>12.2f} {again:>8.2f}")
    print("\nfirst visit: each date's kinds (bank holiday, closure) are looked up for the first time;")
    print("warm: every date seen before. Neither should grow with the years or the rules.")


if __name__ == "__main__":
    main()

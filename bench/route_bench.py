"""How long one route() takes, and whether that grows with the years of calendar or the number of rules.

Run with `make bench` (`.venv/bin/python bench/route_bench.py`). Prints a few small tables; nothing
here passes or fails. "cold" is the first call on a date the router has not seen (its bank holiday
and closures are looked up and its day plan compiled); "warm" is a date seen before.
"""

from __future__ import annotations

import random
import statistics
import time
import timeit
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

from ivr import config
from ivr.core.model import ALL_WEEKDAYS, Closure, DayKind, Destination, Override, Rule, Schedule, Service
from ivr.core.schedule import Router

START = datetime(2027, 1, 1, tzinfo=UTC)
WARM_SAMPLES = 20_000
COLD_DATES = 2_000
DESTINATIONS = {
    "office": Destination("office", "the office", "+443004560108"),
    "night": Destination("night", "the night team", "+443004560100"),
    "standby": Destination("standby", "the standby team", "+443005551373"),
}


def per_call_us(call: Callable[[datetime], object], instants: list[datetime]) -> tuple[float, float]:
    """Median and 99th percentile of one call, in microseconds, over the given instants."""
    timings = []
    for instant in instants:
        begin = time.perf_counter_ns()
        call(instant)
        timings.append(time.perf_counter_ns() - begin)
    timings.sort()
    return statistics.median(timings) / 1000, timings[int(len(timings) * 0.99)] / 1000


def random_instants(years: int, count: int, seed: int = 7) -> list[datetime]:
    """`count` instants spread at random across `years` years from 2027."""
    rng = random.Random(seed)
    span = int(timedelta(days=365.25 * years).total_seconds())
    return [START + timedelta(seconds=rng.randrange(span)) for _ in range(count)]


def one_per_date(years: int, count: int, seed: int = 11) -> list[datetime]:
    """Instants on `count` different dates (every date if there are fewer), so each call meets a new date."""
    rng = random.Random(seed)
    days = int(365.25 * years)
    chosen = rng.sample(range(days), min(count, days))
    return [START + timedelta(days=d, seconds=rng.randrange(86_400)) for d in chosen]


def synthetic_schedule(rule_count: int, years: int) -> Schedule:
    """A service with `rule_count` rules (the last a catch-all), and for `years` years from 2027:
    a closure a month (whole or part day) and a weekly three-hour override."""
    rng = random.Random(rule_count * 1000 + years)
    rules = []
    for n in range(rule_count - 1):
        start = rng.randrange(0, 1439)
        end = rng.randrange(start + 1, 1441)
        kinds = frozenset(rng.sample(list(DayKind), rng.randint(1, 3)))
        days = frozenset(rng.sample(range(7), rng.randint(1, 7)))
        rules.append(Rule(rng.choice(list(DESTINATIONS)), days, start, end, kinds, f"rule {n + 1}"))
    rules.append(Rule("night", ALL_WEEKDAYS, 0, 1440, frozenset(DayKind), f"rule {rule_count}"))
    closures = tuple(
        Closure(date(2027 + y, m, rng.randint(1, 28)), *rng.choice([(0, 1440), (780, 1440), (540, 720)]), "closure")
        for y in range(years)
        for m in range(1, 13)
    )
    overrides = tuple(
        Override(
            frozenset({"child-at-risk"}),
            "standby",
            START + timedelta(weeks=w, hours=9),
            START + timedelta(weeks=w, hours=12),
            "drill",
            f"override {w + 1}",
        )
        for w in range(52 * years)
    )
    service = Service("child-at-risk", "worried about a child", tuple(rules), always_open=True)
    return Schedule("bench", "Europe/London", DESTINATIONS, {"child-at-risk": service}, closures, overrides)


def shipped_section() -> None:
    print("shipped configuration")
    begin = time.perf_counter()
    shipped = config.load(config.PROJECT_DIR)
    print(f"  load + validate 3 lines, with the 400-day gap proof   {time.perf_counter() - begin:8.3f} s")
    begin = time.perf_counter()
    router = Router(shipped.line("wiltshire").schedule)
    print(f"  compile the Wiltshire router (21 services)            {(time.perf_counter() - begin) * 1000:8.2f} ms")
    begin = time.perf_counter()
    router.coverage("child-at-risk", START, START + timedelta(days=400))
    print(f"  coverage() of child-at-risk over 400 days, cold       {(time.perf_counter() - begin) * 1000:8.2f} ms")

    route = router.service("child-at-risk").route
    fresh = Router(shipped.line("wiltshire").schedule).service("child-at-risk").route
    cold, cold_p99 = per_call_us(fresh, one_per_date(1, COLD_DATES))
    warm, warm_p99 = per_call_us(route, random_instants(1, WARM_SAMPLES))
    instant = datetime(2027, 3, 3, 10, 0, tzinfo=UTC)
    loops = 20_000
    best = min(timeit.repeat(lambda: route(instant), number=loops, repeat=5)) / loops * 1e6
    print("\n  Wiltshire child-at-risk, one route() call, microseconds")
    print(f"  {'':28}{'median':>9}{'p99':>9}")
    print(f"  {'cold (each date new)':28}{cold:9.2f}{cold_p99:9.2f}")
    print(f"  {'warm (random 2027 instants)':28}{warm:9.2f}{warm_p99:9.2f}")
    print(f"  {'timeit, one instant (best)':28}{best:9.2f}")


def scaling_section() -> None:
    print("\nsynthetic service: closures monthly and a weekly override across the calendar; microseconds per route()")
    print(
        f"  {'years':>5} {'rules':>6} {'closures':>8} {'overrides':>9} {'compile ms':>11} {'cold median':>12} {'cold p99':>9} {'warm median':>12} {'warm p99':>9}"
    )
    for rule_count in (10, 1_000):
        for years in (1, 10, 50):
            schedule = synthetic_schedule(rule_count, years)
            begin = time.perf_counter()
            route = Router(schedule).service("child-at-risk").route
            compiled = (time.perf_counter() - begin) * 1000
            cold, cold_p99 = per_call_us(route, one_per_date(years, COLD_DATES))
            warm, warm_p99 = per_call_us(route, random_instants(years, WARM_SAMPLES))
            print(
                f"  {years:>5} {rule_count:>6} {len(schedule.closures):>8} {len(schedule.overrides):>9} {compiled:>11.2f}"
                f" {cold:>12.2f} {cold_p99:>9.2f} {warm:>12.2f} {warm_p99:>9.2f}"
            )
    print("\n  cold p99: the first date of a new year (its clock-change days and bank holidays are worked out)")
    print("  or, with 1,000 rules, a new weekday-and-closure pattern being painted. Warm calls do not depend on")
    print("  the number of rules; over many years only the per-date caches and the override index grow.")


def main() -> None:
    begin = time.perf_counter()
    shipped_section()
    scaling_section()
    print(f"\ntotal {time.perf_counter() - begin:.1f} s")


if __name__ == "__main__":
    main()

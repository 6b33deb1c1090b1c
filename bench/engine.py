"""Section 3: the engine. One route() by years of calendar and by number of rules; publishing 3 and 153 lines; the 400-day proof.

"warm" is a date the router has seen (its day plan compiled), which is nearly every call in a
running worker; "cold" is the first call on a date (its bank holiday and closures are looked up
and its day plan compiled, once per date and process).
"""

from __future__ import annotations

import itertools
import random
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bench.figures import Section, Spread, Target
from ivr import config
from ivr.config import coverage
from ivr.core.model import ALL_WEEKDAYS, Closure, DayKind, Destination, Override, Rule, Schedule, Service
from ivr.core.schedule import Router
from ivr.live import Publisher
from ivr.records.store import CallStore
from tests.builders import synthetic_lines

START = datetime(2027, 1, 1, tzinfo=UTC)
LONDON = ZoneInfo("Europe/London")
YEARS = (1, 10, 50)
RULES = (10, 100, 1_000)
DESTINATIONS = {
    "office": Destination("office", "the office", "+443004560108"),
    "night": Destination("night", "the night team", "+443004560100"),
    "standby": Destination("standby", "the standby team", "+443005551373"),
}


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


def per_call_us(router: Router, instants: list[datetime]) -> float:
    """Mean microseconds of `router.route("child-at-risk", at)` over the instants, as the web layer calls it."""
    route = router.route
    begin = time.perf_counter_ns()
    for at in instants:
        route("child-at-risk", at)
    return (time.perf_counter_ns() - begin) / len(instants) / 1000


def interleaved(cases: dict[str, Callable[[], float]], repeats: int) -> dict[str, Spread]:
    """Each case once per repeat, in a rotating order, so that drift on a shared machine falls on all alike."""
    names = list(cases)
    found: dict[str, list[float]] = {name: [] for name in names}
    for n in range(repeats):
        for name in names[n % len(names) :] + names[: n % len(names)]:
            found[name].append(cases[name]())
    return {name: Spread.of(values) for name, values in found.items()}


def warm_case(router: Router, instants: list[datetime]) -> Callable[[], float]:
    per_call_us(router, instants)  # every date seen once: what follows is warm
    return lambda: per_call_us(router, instants)


def cold_case(schedule: Schedule, instants: list[datetime]) -> Callable[[], float]:
    """A new router each time (its building not timed), then each instant on a date it has not seen."""
    return lambda: per_call_us(Router(schedule), instants)


def compile_case(schedule: Schedule) -> Callable[[], float]:
    """Milliseconds to build a router (each service's override index and its constant rule; day plans come later)."""

    def build() -> float:
        begin = time.perf_counter()
        Router(schedule)
        return (time.perf_counter() - begin) * 1000

    return build


def timed(action: Callable[[], object], repeats: int) -> Spread:
    """Seconds per run of `action`, over `repeats` runs."""
    timings = []
    for _ in range(repeats):
        begin = time.perf_counter()
        action()
        timings.append(time.perf_counter() - begin)
    return Spread.of(timings)


def route_part(quick: bool) -> tuple[list[str], list[Target]]:
    samples, repeats, cold_dates = (2_000, 5, 300) if quick else (10_000, 9, 1_500)
    shipped = config.load(config.PROJECT_DIR).line("wiltshire").schedule
    schedules = {"shipped": shipped} | {
        f"{years}/{rules}": synthetic_schedule(rules, years) for years in YEARS for rules in RULES
    }
    warm_cases, cold_cases, compile_cases = {}, {}, {}
    for name, schedule in schedules.items():
        years = int(name.split("/")[0]) if "/" in name else 1
        warm_cases[name] = warm_case(Router(schedule), random_instants(years, samples))
        cold_cases[name] = cold_case(schedule, one_per_date(years, cold_dates))
        compile_cases[name] = compile_case(schedule)
    warm = interleaved(warm_cases, repeats)
    cold = interleaved(cold_cases, repeats)
    compiled = interleaved(compile_cases, repeats)
    lines = [
        f"`Router.route(service, at)` as the web layer calls it, µs per call, median [IQR] over {repeats} repeats (cases "
        f"interleaved) of {samples:,} random instants (warm) or {cold_dates:,} new dates on a new router (cold).",
        "",
        f"- shipped Wiltshire child-at-risk: warm {warm['shipped'].show(2, ' µs')}; cold {cold['shipped'].show(2, ' µs')}",
        "",
        "Synthetic child-at-risk (`bench/engine.py`): the rules at random, a closure a month and a weekly override across the years.",
        "",
        "| years | rules | closures | overrides | compile ms | warm µs | cold µs |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, schedule in schedules.items():
        if name == "shipped":
            continue
        years, rules = name.split("/")
        lines.append(
            f"| {years} | {int(rules):,} | {len(schedule.closures):,} | {len(schedule.overrides):,} | {compiled[name].cell(2)} "
            f"| {warm[name].cell(2)} | {cold[name].cell(1)} |"
        )
    medians = [spread.median for name, spread in warm.items() if name != "shipped"]
    flat = max(medians) / min(medians)
    slowest = max(spread.median for spread in warm.values())
    lines += ["", f"- warm flatness, slowest / fastest median over the grid: {flat:.2f}x"]
    targets = [
        Target(
            "route() median < 10 µs (warm; shipped and every synthetic case)", f"slowest median {slowest:.2f} µs", slowest < 10
        ),
        Target("route() flat within 1.2x from 1 to 50 years and 10 to 1,000 rules", f"{flat:.2f}x", flat <= 1.2),
    ]
    return lines, targets


def publish_part(quick: bool, scratch: Path) -> list[str]:
    repeats, big_repeats = (2, 2) if quick else (5, 3)
    many = scratch / "153-lines"
    synthetic_lines(many, 153)
    now = datetime.now(LONDON)
    runs = itertools.count()

    def publish(folder: Path) -> Callable[[], object]:
        def action() -> object:
            # A new SQLite store each time: this is the first release, so nothing is compared.
            instance = scratch / f"publish-{next(runs)}"
            store = CallStore(f"sqlite:///{instance / 'calls.sqlite3'}", instance_path=instance)
            try:
                return Publisher(store, instance / "releases").publish(folder, now, "bench", "bench")
            finally:
                store.close()

        return action

    load_3 = timed(lambda: config.load(config.PROJECT_DIR, now=now), repeats)
    load_153 = timed(lambda: config.load(many, now=now), big_repeats)
    publish_3 = timed(publish(config.PROJECT_DIR), repeats)
    publish_153 = timed(publish(many), big_repeats)
    return [
        "Publishing (`Publisher.publish`: read, validate in full with the 400-day proof, store the release, make it live; "
        "a new SQLite store each run) and loading alone (`config.load`), seconds:",
        "",
        "| lines | load + prove | publish |",
        "| --- | --- | --- |",
        f"| 3 (shipped) | {load_3.show(3)} | {publish_3.show(3)} |",
        f"| 153 (`tests.builders.synthetic_lines`) | {load_153.show(3)} | {publish_153.show(3)} |",
    ]


def proof_part(quick: bool) -> list[str]:
    repeats = 3 if quick else 7
    now = datetime.now(LONDON)
    shipped = config.load(config.PROJECT_DIR)
    schedules = {key: line.schedule for key, line in shipped.lines.items()}

    def prove_all() -> None:
        for key, schedule in schedules.items():
            coverage.prove(schedule, Router(schedule), now, f"schedules/{key}.yaml")

    def walk(schedule: Schedule) -> Callable[[], object]:
        return lambda: Router(schedule).coverage("child-at-risk", now, now + timedelta(days=coverage.COVERAGE_DAYS))

    proof = timed(prove_all, repeats)
    wiltshire = timed(walk(schedules["wiltshire"]), repeats)
    big = synthetic_schedule(1_000, 10)
    busy = timed(walk(big), repeats)
    return [
        "The 400-day proof (`ivr.config.coverage.prove`, what `ivr check` and publishing run), each run on new routers, ms:",
        "",
        f"- the 3 shipped lines: {_ms(proof)} (a service whose rules alone fill every kind of day is proven without walking the days)",
        f"- the walk itself, `Router.coverage` over 400 days, Wiltshire child-at-risk: {_ms(wiltshire)}",
        f"- the walk over 400 days of the synthetic 1,000 rules, 10 years: {_ms(busy)}",
    ]


def _ms(spread: Spread) -> str:
    scaled = Spread(*(value * 1000 for value in (spread.median, spread.q1, spread.q3, spread.lo, spread.hi)), spread.n)
    return scaled.show(1, " ms")


def run(quick: bool) -> Section:
    with tempfile.TemporaryDirectory(prefix="ivr-bench-engine-") as scratch:
        lines, targets = route_part(quick)
        lines += ["", *publish_part(quick, Path(scratch)), "", *proof_part(quick)]
    return Section("3. The engine: route(), publishing, the 400-day proof", lines, targets)

"""Pinned clock behaviour: the daily coverage check reports each gap in the next 90 days, and only those."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ivr import config
from ivr.clock import Jobs
from ivr.config.snapshot import Snapshot
from ivr.notify.alerts import Alerts
from ivr.notify.sms import TextSender
from tests.builders import write_files
from tests.conftest import RecordingHttpClient, london

# Child-at-risk is always open but has no rule for council closures; `office-only` is not always open.
SCHEDULE = """\
line: test
timezone: Europe/London
destinations:
  office: {name: the office, number: 0300 456 0108}
  night: {name: the night team, number: 0300 456 0100}
services:
  child-at-risk:
    name: worried about a child
    always_open: true
    rules:
      - {to: office, days: mon-fri, time: "09:00-17:00"}
      - {to: night, time: "00:00-24:00", on: [ordinary, bank-holiday]}
  office-only:
    name: the office in office hours
    rules:
      - {to: office, days: mon-fri, time: "09:00-17:00"}
closures:
  - {date: 2027-03-10, name: office move}
  - {date: 2027-05-30, name: spring clean}
  - {date: 2027-05-31, name: spring clean}
"""


class FixedLive:
    """The clock's view of the live configuration: one snapshot, nothing refused."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        self.refused = None

    def current(self) -> Snapshot:
        return self.snapshot


def jobs_for(folder: Path, http_client: RecordingHttpClient) -> Jobs:
    """The clock's jobs over `folder`, loaded without the loader's own gap proof."""
    cfg = config.load(folder, now=london("2027-01-01T00:00"), prove_coverage=False)
    alerts = Alerts(TextSender("AC" + "2" * 32, "token", http_client), "+447911000001", "+441225000000")
    store: Any = None  # the coverage check reads no call records
    return Jobs(FixedLive(Snapshot.of(cfg)), store, alerts)  # type: ignore[arg-type]


def test_daily_check_alerts_each_gap_in_the_next_90_days(tmp_path: Path, http_client: RecordingHttpClient) -> None:
    """From 1 March 2027 06:00 the closures on 10 March and 30 May (to 06:00, the 90-day horizon) are gaps; 31 May is beyond it."""
    jobs = jobs_for(write_files(tmp_path, schedule=SCHEDULE), http_client)
    expected = [
        "test child-at-risk has no destination from 2027-03-10 00:00 to 2027-03-11 00:00 GMT",
        "test child-at-risk has no destination from 2027-05-30 00:00 to 2027-05-30 06:00 BST",
    ]
    assert jobs.check_coverage(london("2027-03-01T06:00")) == expected
    assert jobs.alerts.sent == expected
    assert [r["data"]["Body"] for r in http_client.requests] == [f"Safeguarding line router: {m}" for m in expected]
    assert {r["data"]["To"] for r in http_client.requests} == {"+447911000001"}


def test_daily_check_is_quiet_once_the_closures_are_past(tmp_path: Path, http_client: RecordingHttpClient) -> None:
    """On 1 June 2027, after the closures, nothing is alerted (the office-only service's nights are no gap)."""
    jobs = jobs_for(write_files(tmp_path, schedule=SCHEDULE), http_client)
    assert jobs.check_coverage(london("2027-06-01T06:00")) == []
    assert jobs.alerts.sent == [] and http_client.requests == []

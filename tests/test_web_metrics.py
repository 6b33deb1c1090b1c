"""/metrics through prometheus_client: what the webhooks count, by line, service and outcome (one process)."""

from __future__ import annotations

from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import Twilio


def samples(client: Any) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    page = client.get("/metrics")
    assert page.status_code == 200 and page.mimetype == "text/plain"
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(page.get_data(as_text=True))
        for sample in family.samples
    }


def delta(before: dict[Any, float], after: dict[Any, float], name: str, **labels: str) -> float:
    key = (name, tuple(sorted(labels.items())))
    return after.get(key, 0.0) - before.get(key, 0.0)


def test_a_connected_call_is_counted_by_line_service_and_outcome(app: Any, twilio: Twilio) -> None:
    client = app.test_client()
    before = samples(client)
    dialling = twilio.press(twilio.post("/voice/wiltshire"), "1")  # Wed 3 Mar 2027 11:00: the MASH
    twilio.dial_result(dialling, "completed", DialCallDuration="95")
    after = samples(client)
    assert delta(before, after, "ivr_calls_total", line="wiltshire") == 1
    assert delta(before, after, "ivr_routes_total", line="wiltshire", service="child-at-risk", destination="mash") == 1
    outcome = {"line": "wiltshire", "service": "child-at-risk", "outcome": "connected"}
    assert delta(before, after, "ivr_call_outcomes_total", **outcome) == 1
    assert delta(before, after, "ivr_webhooks_total", step="menu_input") == 1
    assert delta(before, after, "ivr_webhook_seconds_count", step="answer") == 1
    assert after[("ivr_records_backlog_files", ())] == 0 and after[("ivr_records_failing", ())] == 0
    assert after[("ivr_configuration_refused", ())] == 0


def test_refused_and_safe_answers_are_counted(app: Any, twilio: Twilio) -> None:
    client = app.test_client()
    before = samples(client)
    assert twilio.post("/voice/wiltshire", sign=False).status == 403
    twilio.post("/voice/no-such-line")
    after = samples(client)
    assert delta(before, after, "ivr_forbidden_total") == 1
    assert delta(before, after, "ivr_safe_answers_total", reason="unknown line") == 1

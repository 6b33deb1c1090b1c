"""Rendering a Dial: each <Number> with its extension as sendDigits, and the callerId only when there is one; fixed answers rendered once."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import pytest
from twilio.request_validator import RequestValidator
from twilio.twiml.voice_response import VoiceResponse

from ivr.app import create_app
from ivr.config.snapshot import Renderings, Snapshot
from ivr.core.verbs import Dial, Say
from ivr.services import services_of
from ivr.web import twiml
from ivr.web.twiml import empty, render, render_remembered
from tests.builders import shipped_copy
from tests.conftest import PUBLIC, TOKEN, Twilio, london, validate_twiml

MASH = "+443004560108"
OUT_OF_HOURS = "+443004560100"
BASE = "https://ivr.example.org"


def numbers_of(twiml: str) -> list[tuple[str, dict[str, str]]]:
    """Each <Number> of the document's one <Dial>: its text and its attributes."""
    dial = validate_twiml(twiml).find("Dial")
    assert dial is not None, twiml
    return [((n.text or "").strip(), dict(n.attrib)) for n in dial.iter("Number")]


def test_an_extension_is_keyed_in_one_second_after_the_number_answers() -> None:
    """A team's extension becomes <Number sendDigits="ww2">: two half-second waits, then the extension."""
    twiml = render([Dial(MASH, "", "", None, 25, extensions=("2",))], "Polly.Amy", "en-GB", BASE)
    assert numbers_of(twiml) == [(MASH, {"sendDigits": "ww2"})]


def test_a_number_without_an_extension_has_no_send_digits() -> None:
    """No extension, no sendDigits attribute at all."""
    twiml = render([Dial(MASH, "", "", None, 25)], "Polly.Amy", "en-GB", BASE)
    assert numbers_of(twiml) == [(MASH, {})]


def test_numbers_rung_at_once_each_keep_their_own_extension() -> None:
    """Of numbers rung together, each carries its own extension; one without keeps none."""
    dial = Dial(MASH, "", "", None, 25, (OUT_OF_HOURS, MASH), ("", "", "31"))
    twiml = render([dial], "Polly.Amy", "en-GB", BASE)
    assert numbers_of(twiml) == [(MASH, {}), (OUT_OF_HOURS, {}), (MASH, {"sendDigits": "ww31"})]


def test_a_screened_number_keeps_its_screening_and_its_extension() -> None:
    """sendDigits sits beside the screening URL and status callbacks on the same <Number>."""
    dial = Dial(MASH, "/voice/test/dialled/x", "/voice/test/screen/x", "+447911123456", 25, extensions=("2",))
    twiml = render([dial], "Polly.Amy", "en-GB", BASE)
    assert numbers_of(twiml) == [
        (
            MASH,
            {
                "sendDigits": "ww2",
                "url": f"{BASE}/voice/test/screen/x",
                "method": "POST",
                "statusCallback": f"{BASE}/voice/status",
                "statusCallbackEvent": "initiated ringing answered completed",
                "statusCallbackMethod": "POST",
            },
        )
    ]


@pytest.mark.parametrize(
    ("caller_id", "attribute"),
    [("+447911123456", "+447911123456"), ("+441225000000", "+441225000000"), (None, None)],
    ids=["caller", "line_number", "withheld"],
)
def test_caller_id_is_rendered_only_when_there_is_one(caller_id: str | None, attribute: str | None) -> None:
    """A callerId is written as given; None writes no callerId, so Twilio keeps a withheld caller withheld."""
    twiml = render([Dial(MASH, "", "", caller_id, 25)], "Polly.Amy", "en-GB", BASE)
    dial = validate_twiml(twiml).find("Dial")
    assert dial is not None and dial.get("callerId") == attribute


def test_extensions_must_match_the_numbers_rung() -> None:
    """A Dial with a different count of extensions than numbers is a programming error, refused at once."""
    with pytest.raises(ValueError, match="3 extensions for 2 numbers"):
        Dial(MASH, "", "", None, 25, (OUT_OF_HOURS,), ("1", "2", "3"))


def test_no_extension_at_all_is_one_value() -> None:
    """A Dial given only empty extensions equals one given none, so plain Dials compare as before."""
    assert Dial(MASH, "", "", None, 25, (OUT_OF_HOURS,), ("", "")) == Dial(MASH, "", "", None, 25, (OUT_OF_HOURS,))


# -- fixed answers rendered once per configuration ------------------------------------------------


class CountedResponse(VoiceResponse):
    """twilio's VoiceResponse, counting how many documents are built."""

    built = 0

    def __init__(self, **kwargs: Any) -> None:
        CountedResponse.built += 1
        super().__init__(**kwargs)


@pytest.fixture
def built(monkeypatch: pytest.MonkeyPatch) -> type[CountedResponse]:
    """VoiceResponse in ivr.web.twiml replaced by one that counts the documents it builds."""
    CountedResponse.built = 0
    monkeypatch.setattr(twiml, "VoiceResponse", CountedResponse)
    return CountedResponse


def snapshot_of(app: Any) -> Snapshot:
    snapshot = services_of(app).live.current()
    assert snapshot is not None
    return snapshot


def test_a_remembered_answer_is_exactly_the_rendered_one(app: Any, twilio: Twilio) -> None:
    """The greeting and start menu, served twice, are byte for byte what rendering the flow's answer gives."""
    flow = snapshot_of(app).flows["wiltshire"]
    uncached = render(flow.answer().verbs, flow.flow.voice, flow.flow.language, PUBLIC, 1)
    assert twilio.post("/voice/wiltshire").body == uncached
    assert twilio.post("/voice/wiltshire").body == uncached


def test_a_second_identical_answer_builds_no_document(twilio: Twilio, built: type[CountedResponse]) -> None:
    """A new call's answer and a menu replay are built once; the same requests again build nothing."""
    answer = twilio.post("/voice/wiltshire")
    sorry = twilio.press(answer, "7")  # not an option: the start menu is played again by its menu webhook
    replay = twilio.post(sorry.redirect() or "")
    assert "/voice/wiltshire/menu/main?" in (sorry.redirect() or "") and replay.gather() is not None
    before = built.built
    again, replay_again = twilio.post("/voice/wiltshire"), twilio.post(sorry.redirect() or "")
    assert built.built == before
    assert (again.body, replay_again.body) == (answer.body, replay.body)


def test_each_step_and_base_url_is_its_own_document(settings: dict[str, Any]) -> None:
    """The `n=` step and the host a URL names are part of what is remembered: each gets its own, correct URLs."""
    app = create_app({**settings, "IVR_PUBLIC_URL": "", "IVR_TRUSTED_HOSTS": "a.example, b.example"})
    client = app.test_client()
    validator = RequestValidator(TOKEN)
    form = {"CallSid": "CA" + "1" * 32, "From": "+447911123456", "To": "+441225000000"}

    def menu(host: str, step: int) -> str:
        path = f"/voice/wiltshire/menu/main?trail=main&try=2&n={step}"
        headers = {"X-Twilio-Signature": validator.compute_signature(f"https://{host}{path}", form)}
        response = client.post(path, data=form, headers=headers, base_url=f"https://{host}")
        assert response.status_code == 200
        gather = validate_twiml(response.get_data(as_text=True)).find("Gather")
        assert gather is not None
        return gather.get("action") or ""

    for _ in range(2):
        assert menu("a.example", 3) == "https://a.example/voice/wiltshire/input/main?trail=main&try=2&n=4"
        assert menu("b.example", 3) == "https://b.example/voice/wiltshire/input/main?trail=main&try=2&n=4"
        assert menu("a.example", 5) == "https://a.example/voice/wiltshire/input/main?trail=main&try=2&n=6"
    assert len(snapshot_of(app).renderings) == 3


def test_an_answer_naming_the_caller_is_never_kept(app: Any, twilio: Twilio) -> None:
    """Key 1's Dial (the caller's number as callerId, routed at this instant) is rendered for each request, not kept."""
    answer = twilio.post("/voice/wiltshire")
    kept = len(snapshot_of(app).renderings)
    assert twilio.press(answer, "1").dialled() == [MASH]
    assert len(snapshot_of(app).renderings) == kept


def test_a_new_release_renders_its_own_answer(settings: dict[str, Any], tmp_path: Path, built: type[CountedResponse]) -> None:
    """After a release that changes the greeting, the next call hears the new greeting, built afresh."""
    folder = shipped_copy(tmp_path / "config")
    app = create_app({**settings, "IVR_CONFIG_DIR": str(folder)})
    caller = Twilio(app.test_client())
    assert caller.post("/voice/wiltshire").says()[0] == "You have reached Wiltshire Council's children's services."
    flow = folder / "flows" / "wiltshire.yaml"
    flow.write_text(flow.read_text().replace("Wiltshire Council's children's services.", "Wiltshire's children's services."))
    live = services_of(app).live
    live.publisher.publish(folder, london("2027-03-03T09:00"), "admin", "new greeting")
    assert live.refresh()
    before = built.built
    assert caller.post("/voice/wiltshire").says()[0] == "You have reached Wiltshire's children's services."
    assert built.built == before + 1


def test_remembered_answers_are_bounded_and_never_pickled() -> None:
    """Past `most`, the least recently used answer goes; a pickled snapshot's answers start empty."""
    kept = Renderings(most=2)
    kept.put("a", "A")
    kept.put("b", "B")
    assert kept.get("a") == "A"  # now b is the least recently used
    kept.put("c", "C")
    assert (kept.get("a"), kept.get("b"), kept.get("c"), len(kept)) == ("A", None, "C", 2)
    copy = pickle.loads(pickle.dumps(kept))
    assert (len(copy), copy.most) == (0, 2)


def test_the_same_verbs_in_another_voice_are_another_document() -> None:
    """What is remembered is keyed by everything rendered: the verbs, the voice and language, the base URL and the step."""
    kept = Renderings()
    verbs = [Say("Hello.")]
    amy = render_remembered(kept, verbs, "Polly.Amy", "en-GB", BASE, 1)
    brian = render_remembered(kept, verbs, "Polly.Brian", "en-GB", BASE, 1)
    assert (amy, brian) == (render(verbs, "Polly.Amy", "en-GB", BASE, 1), render(verbs, "Polly.Brian", "en-GB", BASE, 1))
    assert render_remembered(kept, [Say("Goodbye.")], "Polly.Amy", "en-GB", BASE, 1) != amy
    assert len(kept) == 3


def test_the_empty_answer_is_built_once(twilio: Twilio, built: type[CountedResponse]) -> None:
    """Status callbacks, several per call, get the one empty document built at start."""
    for status in ("ringing", "in-progress", "completed"):
        assert twilio.post("/voice/status", CallStatus=status).body == empty()
    assert built.built == 0

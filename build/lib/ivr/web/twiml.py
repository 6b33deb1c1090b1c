"""Verbs to TwiML, built only with twilio.twiml.voice_response."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from twilio.twiml.voice_response import VoiceResponse

from ivr.config.snapshot import Renderings
from ivr.core.verbs import Dial, Gather, Hangup, Redirect, Say, Verb

STATUS_PATH = "/voice/status"
# An extension is keyed in by <Number sendDigits>: Twilio plays the tones "when the call is answered
# ... when the automated system picks up" (twilio.com/docs/voice/twiml/number#attributes-senddigits).
# Each "w" waits half a second (warning 13222 lists 0-9, *, # and w everywhere; W only lately), and the
# Number page's own example waits ("we add a few leading 'w' characters") before the extension, since
# tones played the instant a switchboard answers can be lost. One second (ww), as in Twilio's example
# for "a company phone number ... pause for one second, and then dial extension 1234"
# (twilio.com/docs/voice/api/call-resource, SendDigits), reaches the switchboard while its greeting
# still plays. No trailing '#': some switchboards read it as a menu key.
EXTENSION_WAIT = "ww"
# Answering Machine Detection on <Dial><Number> (twilio.com/docs/voice/answering-machine-detection):
# "Enable" returns AnsweredBy "as soon as it identifies the called party" (DetectMessageEnd would wait
# for the greeting's beep, which suits leaving a message, not connecting a caller). The answerer hears
# silence until the verdict. machineDetectionTimeout (Number page: 3-60, default 30) is left at Twilio's
# default: Twilio's published TwiML schema (tests/data/twiml-voice.xsd) has no such <Number> attribute.
# A detection that times out says "unknown", which connects (ivr.core.flow.MACHINES).
MACHINE_DETECTION = "Enable"
# Characters XML 1.0 cannot carry; text that reaches a caller must never break the document.
_NOT_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _clean(text: str) -> str:
    return _NOT_XML.sub("", text)


def empty() -> str:
    """A TwiML document that does nothing (for callbacks that need no answer)."""
    return _EMPTY


_EMPTY = str(VoiceResponse())  # the same for every status callback: built once


def render_remembered(renderings: Renderings, verbs: Sequence[Verb], voice: str, language: str, base_url: str, step: int) -> str:
    """`render`, kept in the snapshot's `renderings` under everything the document is made from.

    The key is the verbs themselves with the voice, base URL and step, so a reply that differed in
    anything (a time, a caller, a number) would be a different key, never a stale document.
    """
    key = (tuple(verbs), voice, language, base_url, step)
    found = renderings.get(key)
    return found if found is not None else renderings.put(key, render(verbs, voice, language, base_url, step))


def render(verbs: Iterable[Verb], voice: str, language: str, base_url: str = "", step: int | None = None) -> str:
    """A TwiML document for `verbs`; relative URLs are made absolute against `base_url`.

    `step` numbers the next request of the call (`n=`), so that two identical-looking steps
    (a menu repeated twice) stay distinct while Twilio's retries of one request do not.
    """
    response = VoiceResponse()

    def absolute(url: str) -> str:
        url = _clean(url)
        if step is not None and url.startswith("/"):
            url += ("&" if "?" in url else "?") + f"n={step}"
        return base_url.rstrip("/") + url if url.startswith("/") else url

    for verb in verbs:
        if isinstance(verb, Say):
            response.say(_clean(verb.text), voice=voice, language=language)
        elif isinstance(verb, Gather):
            options: dict[str, Any] = {
                "action": absolute(verb.action),
                "method": "POST",
                "num_digits": verb.num_digits,
                "timeout": verb.timeout,
                "finish_on_key": verb.finish_on_key,
            }
            if verb.hints is not None:
                options.update(input="dtmf speech", hints=", ".join(verb.hints), speech_timeout="auto", language=language)
            with response.gather(**options) as gather:
                for prompt in verb.prompts:
                    gather.say(_clean(prompt.text), voice=voice, language=language)
        elif isinstance(verb, Dial):
            dial_options: dict[str, Any] = {"timeout": verb.timeout, "answer_on_bridge": True}
            if verb.action:
                dial_options.update(action=absolute(verb.action), method="POST")
            if verb.caller_id:
                dial_options["caller_id"] = verb.caller_id
            with response.dial(**dial_options) as dial:
                # Several <Number>s in one <Dial> ring at once (twilio.com/docs/voice/twiml/number).
                for number, extension in verb.rings:
                    number_options: dict[str, Any] = {"send_digits": EXTENSION_WAIT + extension} if extension else {}
                    if verb.screen:
                        number_options.update(url=absolute(verb.screen), method="POST")
                    if verb.machine_detection:
                        number_options["machine_detection"] = MACHINE_DETECTION
                    if verb.screen or verb.action:
                        number_options.update(
                            status_callback=absolute(STATUS_PATH),
                            status_callback_event="initiated ringing answered completed",
                            status_callback_method="POST",
                        )
                    dial.number(number, **number_options)
        elif isinstance(verb, Redirect):
            response.redirect(absolute(verb.url), method="POST")
        elif isinstance(verb, Hangup):
            response.hangup()
        else:  # pragma: no cover - Verb is a closed union
            raise TypeError(f"not a verb: {verb!r}")
    return str(response)

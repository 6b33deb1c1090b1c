"""The facts a call leaves in its record: one small vocabulary for the flow, the recorder, the store and the story.

Each value is the `kind` stored with the fact. Stored records outlive releases, so a value is
never renamed; a new kind needs a sentence in the story (a test checks that every one has).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

Detail = dict[str, Any]  # a fact's detail, stored as JSON
# The dial statuses of a pickup (Twilio's DialCallStatus); the flow's ANSWERED is this set.
PICKED_UP = frozenset({"completed", "answered"})


class Fact(StrEnum):
    """What kind of thing happened in a call, with the detail each kind carries."""

    MENU = "menu"  # a menu was played: menu
    KEY = "key"  # the caller chose: menu, and digits or speech (menu "shortcut": an unknown code)
    SHORTCUT = "shortcut"  # a professional's code was recognised: code, service
    ROUTE = "route"  # the schedule decided: service, destination, name, number, rule, until, config_digest
    DIAL = "dial"  # a dial finished: attempt, destination, number, status, duration
    SCREEN = "screen"  # the answerer of a dial accepted it or not: attempt, accepted
    STATUS = "status"  # Twilio reported on a dialled leg: leg, status, duration
    SMS = "sms"  # contact details were texted, or could not be: to_masked, sent, destination
    FALLBACK = "fallback"  # the safe route was taken: reason
    END = "end"  # the flow ended the call: outcome

    @classmethod
    def read(cls, kind: str) -> Fact | str:
        """The Fact a stored kind names, or the text itself for a kind this release does not know."""
        try:
            return cls(kind)
        except ValueError:
            return kind


def talked(dial: Detail) -> bool:
    """Whether a DIAL fact says the caller talked to the destination dialled (flow `dialled` decides the same way).

    Twilio's `bridged` decides when it was recorded. Without it, the flow records a pickup that did not
    count (screening not accepted, a machine hung up on) as "unaccepted", so a pickup status means talked.
    """
    bridged = dial.get("bridged")
    if bridged is not None:
        return bool(bridged)
    return dial.get("status") in PICKED_UP

"""What a caller said, as a menu choice: whole words and phrases, never parts of words.

Twilio's `<Gather input="dtmf speech">` posts the caller's transcribed words as `SpeechResult`
(with a `Confidence` score) to the Gather's action; its `hints` attribute lists the "words,
phrases that have many words" the recogniser should expect (twilio.com/docs/voice/twiml/gather),
a comma-separated list of at most 500 entries of at most 100 characters each
(twilio.com/docs/api/errors/13330). With `speechTimeout="auto"` the Gather ends at the caller's
pause. `Confidence` is not used: the words decide, and anything unclear plays the menu again,
where the keypad always works.

The rule, for one menu's options:
- The transcript and each option's words are split into lower-case words; punctuation goes,
  a possessive or "is" ending goes ("children's", "child's" are "children", "child"), other
  apostrophes go ("don't" is "dont"), a hyphen splits ("self-harm" is "self harm").
- A word matches a whole word; a phrase matches the same words in a row ("mother" is not "other").
- A match inside a longer matched phrase of another option does not count on its own: in
  "someone who works with children", the phrase "works with children" is heard, not "children".
- Exactly one option named: that option. None, or several (ambiguous): no choice, the menu again.
- Negation is not read: "not safe", "can't go home" and "won't stop" are how danger is often
  told, and a recogniser easily drops a "not"; a sentence naming two options is ambiguous anyway.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from ivr.core.model import Option

_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*")
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'"})

Phrase = tuple[str, ...]


def words_of(text: str) -> Phrase:
    """`text` as lower-case words without punctuation: "I'm worried about my child's safety!" ->
    ("im", "worried", "about", "my", "child", "safety")."""
    found = _WORD.findall(text.translate(_APOSTROPHES).casefold())
    return tuple((word[:-2] if word.endswith("'s") else word).replace("'", "") for word in found)


class Listener:
    """The options of one menu, by the words and phrases that name them; built once per configuration."""

    def __init__(self, options: Iterable[Option]) -> None:
        self._by_first: dict[str, list[tuple[Phrase, Option]]] = {}
        for option in options:
            for text in option.words:
                phrase = words_of(text)
                if phrase:
                    self._by_first.setdefault(phrase[0], []).append((phrase, option))

    def choice(self, said: str) -> Option | None:
        """The one option the caller named; None when they named none, or more than one."""
        heard = words_of(said)
        found = [
            (start, start + len(phrase), option)
            for start, word in enumerate(heard)
            for phrase, option in self._by_first.get(word, ())
            if heard[start : start + len(phrase)] == phrase
        ]
        named = {
            option.key: option
            for start, end, option in found
            if not any(s <= start and end <= e and e - s > end - start for s, e, _ in found)
        }
        return next(iter(named.values())) if len(named) == 1 else None

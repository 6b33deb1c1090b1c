"""A validated configuration and the call flows compiled from it: what a request reads."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass, field

from ivr.config.loader import Config
from ivr.core.flow import CallFlow

RENDERINGS_MOST = 1024  # answers kept per snapshot: every menu at every step of a long call, for each line


class Renderings:
    """Answers already rendered under one snapshot, by everything each was rendered from; the least used go past `most`.

    It belongs to the snapshot so that a new release starts empty; pickled, it is empty again.
    """

    def __init__(self, most: int = RENDERINGS_MOST) -> None:
        self.most = most
        self._texts: OrderedDict[Hashable, str] = OrderedDict()
        self._lock = threading.Lock()  # workers' threads share a snapshot

    def get(self, key: Hashable) -> str | None:
        """The text rendered from `key`, or None."""
        with self._lock:
            text = self._texts.get(key)
            if text is not None:
                self._texts.move_to_end(key)
            return text

    def put(self, key: Hashable, text: str) -> str:
        """Keep `text` as rendered from `key`; returns it."""
        with self._lock:
            self._texts[key] = text
            self._texts.move_to_end(key)
            while len(self._texts) > self.most:
                self._texts.popitem(last=False)
        return text

    def __len__(self) -> int:
        return len(self._texts)

    def __reduce__(self) -> tuple[type[Renderings], tuple[int]]:
        return Renderings, (self.most,)


@dataclass(frozen=True)
class Snapshot:
    """One validated configuration and the call flows compiled from it."""

    config: Config
    flows: dict[str, CallFlow]
    renderings: Renderings = field(default_factory=Renderings, compare=False, repr=False)

    @classmethod
    def of(cls, cfg: Config) -> Snapshot:
        """Compile every line's call flow once, for the requests that will read it."""
        return cls(cfg, {key: CallFlow(line) for key, line in cfg.lines.items()})

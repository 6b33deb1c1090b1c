"""A validated configuration and the call flows compiled from it: what a request reads."""

from __future__ import annotations

from dataclasses import dataclass

from ivr.config.loader import Config
from ivr.core.flow import CallFlow


@dataclass(frozen=True)
class Snapshot:
    """One validated configuration and the call flows compiled from it."""

    config: Config
    flows: dict[str, CallFlow]

    @classmethod
    def of(cls, cfg: Config) -> Snapshot:
        """Compile every line's call flow once, for the requests that will read it."""
        return cls(cfg, {key: CallFlow(line) for key, line in cfg.lines.items()})

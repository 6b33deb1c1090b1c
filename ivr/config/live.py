"""The configuration in force, reloaded without a restart when the files change.

A worker checks the files' sizes and times at most every few seconds (a few stat calls, never
a parse per request). A changed set is validated first; an invalid one is refused loudly and
the last good configuration keeps routing.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ivr.config import loader as config_module
from ivr.core.errors import ConfigError
from ivr.core.flow import CallFlow

log = logging.getLogger(__name__)

Fingerprint = tuple[tuple[str, int, int], ...]


@dataclass(frozen=True)
class Snapshot:
    """One validated configuration and the call flows compiled from it."""

    config: config_module.Config
    flows: dict[str, CallFlow]

    @classmethod
    def of(cls, cfg: config_module.Config) -> Snapshot:
        return cls(cfg, {key: CallFlow(line, cfg.routers[key]) for key, line in cfg.lines.items()})


class LiveConfig:
    """Holds the configuration in force and swaps in valid changes."""

    def __init__(
        self,
        directory: Path,
        check_every: float = 2.0,
        on_refused: Callable[[ConfigError], None] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.directory = Path(directory)
        self.check_every = check_every
        self._on_refused = on_refused
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._fingerprint = self.fingerprint()
        self._snapshot = Snapshot.of(config_module.load(self.directory))
        self._checked = monotonic()
        self.refused: ConfigError | None = None

    def fingerprint(self) -> Fingerprint:
        """Name, size and modification time of every configuration file."""
        entries = []
        for folder in ("flows", "schedules"):
            for path in sorted((self.directory / folder).glob("*.yaml")):
                try:
                    stat = path.stat()
                except FileNotFoundError:  # removed between glob and stat
                    continue
                entries.append((f"{folder}/{path.name}", stat.st_size, stat.st_mtime_ns))
        return tuple(entries)

    def current(self) -> Snapshot:
        """The snapshot in force, after a cheap check for changed files."""
        if self._monotonic() - self._checked >= self.check_every:
            self.refresh()
        return self._snapshot

    def refresh(self) -> bool:
        """Reload if the files changed; True when a new configuration went live."""
        with self._lock:
            self._checked = self._monotonic()
            seen = self.fingerprint()
            if seen == self._fingerprint:
                return False
            self._fingerprint = seen
            try:
                snapshot = Snapshot.of(config_module.load(self.directory))
            except ConfigError as exc:
                self.refused = exc
                log.error(
                    "REFUSED new configuration in %s; configuration %s stays live. Problems:\n%s",
                    self.directory,
                    self._snapshot.config.digest,
                    exc,
                )
                if self._on_refused is not None:
                    self._on_refused(exc)
                return False
            self.refused = None
            log.warning("configuration %s is live (was %s)", snapshot.config.digest, self._snapshot.config.digest)
            self._snapshot = snapshot
            return True

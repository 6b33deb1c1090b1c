"""Who may open the administrators' pages: one check, in front of every path under /admin.

The check is installed on the app by path, not on a blueprint, so a page added under /admin by any
blueprint is behind it without asking. HTTP basic auth against IVR_ADMIN_PASSWORD (any user name),
compared in constant time; wrong passwords are counted per client address and, past the limit,
answered 429 without being checked. Production without a password has no admin pages (404);
development without one opens them, and every page says so (ivr/web/pages.py).
"""

from __future__ import annotations

import hashlib
import hmac
import math
import threading
import time
from collections import deque
from collections.abc import Callable

from flask import Flask, Response, abort, current_app, request

from ivr.services import current

_EXTENSION = "ivr.sign_ins"


class FailedSignIns:
    """Wrong passwords per client address over a sliding window, in this process's memory.

    Each worker process counts its own (with N workers an address gets up to N x `limit` tries a
    window), and a restart forgets them: enough to make guessing slow, with nothing to store.
    """

    def __init__(self, limit: int = 5, window: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit, self.window, self.clock = limit, window, clock
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()
        self._max_addresses = 10_000  # beyond this, addresses with no recent failure are forgotten first

    def retry_after(self, address: str) -> int:
        """Whole seconds until `address` may try again; 0 when it may try now."""
        with self._lock:
            times = self._recent(address)
            if times is None or len(times) < self.limit:
                return 0
            wait = times[-self.limit] + self.window - self.clock()  # until the oldest of the last `limit` leaves the window
            return math.ceil(wait) if wait > 0 else 0

    def failed(self, address: str) -> None:
        """Count a wrong password from `address`."""
        with self._lock:
            if address not in self._failures and len(self._failures) >= self._max_addresses:
                self._forget_some()
            self._failures.setdefault(address, deque(maxlen=self.limit)).append(self.clock())

    def succeeded(self, address: str) -> None:
        """The right password: `address` starts again from nothing."""
        with self._lock:
            self._failures.pop(address, None)

    def _recent(self, address: str) -> deque[float] | None:
        times = self._failures.get(address)
        if times is not None and times[-1] <= self.clock() - self.window:
            del self._failures[address]
            return None
        return times

    def _forget_some(self) -> None:
        cutoff = self.clock() - self.window
        for address in [a for a, times in self._failures.items() if times[-1] <= cutoff]:
            del self._failures[address]
        while len(self._failures) >= self._max_addresses:  # all recent: the oldest entries go
            del self._failures[next(iter(self._failures))]


def init_app(app: Flask, sign_ins: FailedSignIns | None = None) -> None:
    """Put the check in front of every path under /admin."""
    app.extensions[_EXTENSION] = sign_ins or FailedSignIns()

    @app.before_request
    def _admin_paths() -> Response | None:
        path = request.path
        if path == "/admin" or path.startswith("/admin/"):
            return require_admin()
        return None


def failed_sign_ins(app: Flask) -> FailedSignIns:
    """The app's count of wrong passwords (tests move its clock)."""
    found: FailedSignIns = app.extensions[_EXTENSION]
    return found


def require_admin() -> Response | None:
    """None when the request may see the administrators' pages; else the answer to give instead.

    Already applied to every path under /admin; for a page elsewhere, `bp.before_request(require_admin)`.
    """
    settings = current().settings
    password = settings.admin_password
    if not password:
        if settings.development:
            return None  # open, and each page's banner says so
        abort(404)  # production without a password: there are no admin pages
    sign_ins = failed_sign_ins(current_app)
    address = request.remote_addr or "unknown"  # the proxy's, behind one: then all clients share one count
    wait = sign_ins.retry_after(address)
    if wait:
        return Response("Too many wrong passwords. Try again later.\n", 429, {"Retry-After": str(wait)}, mimetype="text/plain")
    auth = request.authorization
    given = auth.password if auth is not None and auth.type == "basic" else None
    if given is None:  # a browser asks without a password first: not a failure
        return _sign_in()
    if not _same(given, password):
        sign_ins.failed(address)
        return _sign_in()
    sign_ins.succeeded(address)
    return None


def _same(given: str, password: str) -> bool:
    """Equal, in constant time whatever the lengths (both are hashed first)."""
    digest = hashlib.sha256
    return hmac.compare_digest(digest(given.encode("utf-8", "replace")).digest(), digest(password.encode("utf-8")).digest())


def _sign_in() -> Response:
    return Response(
        "Sign in to see the router's pages.\n",
        401,
        {"WWW-Authenticate": 'Basic realm="Safeguarding line router", charset="UTF-8"'},
        mimetype="text/plain",
    )

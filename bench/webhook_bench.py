"""How long a caller waits on the router: each webhook step in-process, then real gunicorn over loopback.

Run with `make bench`. Prints figures; nothing here passes or fails.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from zoneinfo import ZoneInfo

import requests
from twilio.request_validator import RequestValidator

from ivr.app import create_app

TOKEN = "bench-token"
STEPS = 500
CALLS = 300
LONDON = ZoneInfo("Europe/London")


def in_process() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        app = create_app(
            {
                "IVR_ENV": "production",
                "TWILIO_AUTH_TOKEN": TOKEN,
                "IVR_PUBLIC_URL": "https://ivr.example.org",
                "DATABASE_URL": f"sqlite:///{scratch}/calls.sqlite3",
                "IVR_INSTANCE_PATH": scratch,
                "IVR_RUN_CLOCK": False,
                "IVR_DEFAULT_LINE": "wiltshire",
                "IVR_CLOCK": lambda: datetime(2027, 3, 3, 11, 0, tzinfo=LONDON),
            }
        )
        client = app.test_client()
        validator = RequestValidator(TOKEN)
        steps = {
            "answer (greeting + menu)": ("/voice/wiltshire", {}),
            "press 1 (route + dial)": ("/voice/wiltshire/input/main?trail=main&try=1", {"Digits": "1"}),
            "dial result (next in chain)": (
                "/voice/wiltshire/dialled/child-at-risk?tried=mash&round=1&attempt=1",
                {"DialCallStatus": "no-answer"},
            ),
            "fallback URL (static)": ("/voice/fallback?line=wiltshire", {}),
        }
        print(f"in-process, signed, recorded to SQLite; median and 99th percentile of {STEPS} requests (ms)")
        for name, (path, extra) in steps.items():
            timings = []
            for n in range(STEPS):
                params = {"CallSid": f"CA{n:032d}", "From": "+447911123456", "To": "+441225000000", **extra}
                url = "https://ivr.example.org" + path
                headers = {"X-Twilio-Signature": validator.compute_signature(url, params)}
                begin = time.perf_counter()
                response = client.post(path, data=params, headers=headers, base_url="https://ivr.example.org")
                timings.append((time.perf_counter() - begin) * 1000)
                assert response.status_code == 200
            timings.sort()
            print(f"  {name:<30} {statistics.median(timings):6.2f}  {timings[int(len(timings) * 0.99)]:6.2f}")


def over_loopback() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as scratch:
        env = {
            **os.environ,
            "IVR_ENV": "production",
            "TWILIO_AUTH_TOKEN": TOKEN,
            "IVR_PUBLIC_URL": base,
            "DATABASE_URL": f"sqlite:///{scratch}/calls.sqlite3",
            "IVR_INSTANCE_PATH": scratch,
            "IVR_DEFAULT_LINE": "wiltshire",
        }
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--workers",
                "2",
                "--bind",
                f"127.0.0.1:{port}",
                "--log-level",
                "warning",
                "ivr.app:create_app()",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    requests.get(f"{base}/healthz", timeout=1)
                    break
                except requests.RequestException:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.2)
            validator = RequestValidator(TOKEN)
            local = threading.local()
            timings: list[float] = []

            def call(n: int) -> None:
                session = getattr(local, "session", None) or requests.Session()
                local.session = session
                for path, extra in (("/voice/hampshire", {}), ("/voice/hampshire/input/main?trail=main&try=1", {"Digits": "1"})):
                    params = {"CallSid": f"CA{n:032d}", "From": "+447911123456", "To": "+441962000000", **extra}
                    headers = {"X-Twilio-Signature": validator.compute_signature(base + path, params)}
                    begin = time.perf_counter()
                    session.post(base + path, data=params, headers=headers, timeout=10).raise_for_status()
                    timings.append((time.perf_counter() - begin) * 1000)

            begin = time.perf_counter()
            with ThreadPoolExecutor(8) as pool:
                list(pool.map(call, range(CALLS)))
            elapsed = time.perf_counter() - begin
            timings.sort()
            print(f"\ngunicorn, 2 workers, 8 concurrent callers, {CALLS} calls ({len(timings)} webhooks) over loopback:")
            print(
                f"  {len(timings) / elapsed:6.0f} webhooks/s   median {statistics.median(timings):.1f} ms   "
                f"99th {timings[int(len(timings) * 0.99)]:.1f} ms"
            )
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=15)


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    in_process()
    over_loopback()

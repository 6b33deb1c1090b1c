"""What the figures were measured on: the machine, the software, and how busy it was."""

from __future__ import annotations

import os
import platform
import shutil
import sqlite3
import subprocess
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import psycopg

PACKAGES = ("Flask", "Werkzeug", "twilio", "SQLAlchemy", "psycopg", "gunicorn", "holidays", "phonenumbers", "pyinstrument")
ROOT = Path(__file__).resolve().parent.parent


def describe(postgres_url: str | None) -> list[tuple[str, str]]:
    """(what, value) rows for the report's machine table."""
    rows = [
        ("date", datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")),
        ("CPU", _cpu_model()),
        ("cores", f"{os.cpu_count()} online, {len(os.sched_getaffinity(0))} usable by this process"),
        ("memory", _memory()),
        ("OS, kernel", f"{_os_name()}, Linux {platform.release()}"),
        ("Python", f"{platform.python_implementation()} {platform.python_version()}"),
        ("packages", ", ".join(f"{name} {_version(name)}" for name in PACKAGES)),
        ("SQLite", sqlite3.sqlite_version),
        ("PostgreSQL", _postgres(postgres_url)),
        ("wrk", _wrk()),
        ("commit", _commit()),
    ]
    return rows


def load_average() -> str:
    """The 1, 5 and 15 minute load averages: above the core count, other work shared the CPUs."""
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return "unknown"


def _os_name() -> str:
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip('"')
    except OSError:
        pass
    return platform.system()


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def _postgres(url: str | None) -> str:
    if url is None:
        return "none reachable"
    try:
        with psycopg.connect(url, connect_timeout=5) as conn:
            settings = {}
            for name in ("server_version", "synchronous_commit", "fsync", "shared_buffers"):
                row = conn.execute(f"SHOW {name}").fetchone()
                settings[name] = str(row[0]) if row else "?"
    except psycopg.Error as exc:
        return f"unreachable ({exc.__class__.__name__})"
    version = settings.pop("server_version").split()[0]
    return f"{version} at {url.split('@')[-1]} ({', '.join(f'{k}={v}' for k, v in settings.items())})"


def _wrk() -> str:
    if shutil.which("wrk") is None:
        return "not installed"
    # `wrk -v` prints its version and usage, and exits 1.
    done = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False)
    first = (done.stdout or done.stderr).splitlines()
    return first[0].split(" Copyright")[0] if first else "unknown version"


def _commit() -> str:
    done = subprocess.run(
        ["git", "-C", str(ROOT), "describe", "--always", "--dirty"], capture_output=True, text=True, check=False
    )
    return done.stdout.strip() or "unknown"

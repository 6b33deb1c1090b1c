"""The PostgreSQL server the tests run against. Unreachable is a failure, never a skip.

Which server: IVR_TEST_POSTGRES_URL if set (it must answer); else the machine's own server
(127.0.0.1:5432, database `test`; IVR_TEST_POSTGRES_DEFAULT names another) if it answers; else a
throwaway cluster started from the installed server binaries, once per test process, and stopped
at the end of the session (tests/pg_cluster.py).

Each test gets a new, empty schema of that database (the URL's search_path names it),
so tests never see each other's rows and can run side by side.
"""

from __future__ import annotations

import atexit
import os
import secrets
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import quote

import psycopg
import pytest
from sqlalchemy import create_engine
from sqlalchemy.schema import CreateSchema, DropSchema

from tests.pg_cluster import Cluster, ClusterError, start_cluster

DEFAULT = "postgresql://postgres@127.0.0.1:5432/test"
START = "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"

_lock = threading.Lock()
_chosen: str | None = None
_cluster: Cluster | None = None
_failure: str | None = None


def answers(url: str) -> str | None:
    """None if `url` accepts a connection and runs SELECT 1, else why not."""
    try:
        with psycopg.connect(url, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except Exception as exc:  # noqa: BLE001 - any failure means "use something else"
        return f"{exc.__class__.__name__}: {' '.join(str(exc).split())}"  # one line: failures are read in a summary
    return None


def choose_server(explicit: str | None, default: str) -> tuple[str, Cluster | None]:
    """The URL to test against and the throwaway cluster started for it, if one was; ClusterError if none can be."""
    if explicit:
        return explicit, None  # checked where it is used: an unreachable chosen server fails, loudly
    why = answers(default)
    if why is None:
        return default, None
    try:
        cluster = start_cluster()
    except ClusterError as exc:
        raise ClusterError(f"nothing answers at {default} ({why}), and no throwaway cluster could be started: {exc}") from exc
    warnings.warn(f"PostgreSQL: nothing answers at {default} ({why}); using a throwaway cluster at {cluster.url}", stacklevel=2)
    return cluster.url, cluster


def server_url() -> str:
    """The chosen server's URL, choosing (and maybe starting a cluster) on first use in this process."""
    global _chosen, _cluster, _failure
    with _lock:
        if _chosen is None and _failure is None:
            try:
                _chosen, _cluster = choose_server(
                    os.environ.get("IVR_TEST_POSTGRES_URL"), os.environ.get("IVR_TEST_POSTGRES_DEFAULT", DEFAULT)
                )
            except ClusterError as exc:
                _failure = f"PostgreSQL: {exc}"
            if _cluster is not None:
                atexit.register(stop_throwaway)  # backstop: pytest_sessionfinish in conftest.py stops it first
        if _failure is not None:
            pytest.fail(_failure, pytrace=False)  # once decided, every PostgreSQL test fails the same way, fast
        assert _chosen is not None
        return _chosen


def stop_throwaway() -> None:
    """Stop and delete the throwaway cluster, if this process started one; the next use chooses again."""
    global _chosen, _cluster
    with _lock:
        if _cluster is not None:
            cluster, _cluster, _chosen = _cluster, None, None
            cluster.stop()


def _engine_url(url: str) -> str:
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _in_schema(url: str, schema: str) -> str:
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}options={quote(f'-csearch_path={schema}', safe='-')}"


def _run(statement: CreateSchema | DropSchema) -> None:
    url = server_url()
    engine = create_engine(_engine_url(url), connect_args={"connect_timeout": 5})
    try:
        with engine.begin() as conn:
            conn.execute(statement)
    except Exception as exc:  # noqa: BLE001 - turned into a clear failure
        if os.environ.get("IVR_TEST_POSTGRES_URL"):
            hint = "that is IVR_TEST_POSTGRES_URL: start that server or change the variable"
        elif _cluster is not None:
            hint = f"the throwaway cluster has stopped; the end of its log:\n{_cluster.log_tail()}"
        else:
            hint = f"start it: {START}"
        pytest.fail(f"PostgreSQL is not reachable at {url} ({exc.__class__.__name__}: {exc}); {hint}", pytrace=False)
    finally:
        engine.dispose()


@contextmanager
def postgres_schema() -> Iterator[str]:
    """A URL (as DATABASE_URL would give it) whose search_path is a new schema, dropped afterwards."""
    schema = f"t_{secrets.token_hex(6)}"
    _run(CreateSchema(schema))
    try:
        yield _in_schema(server_url(), schema)
    finally:
        _run(DropSchema(schema, cascade=True))

"""A PostgreSQL server for the benchmarks, chosen as the tests choose theirs, and throwaway databases on it."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

import psycopg

from tests import pg
from tests.pg_cluster import Cluster, ClusterError


@contextmanager
def server() -> Iterator[tuple[str | None, str]]:
    """(URL of a server, '') as tests/pg.py chooses it (IVR_TEST_POSTGRES_URL, else 127.0.0.1:5432/test, else a
    throwaway cluster, stopped afterwards); (None, why) when there is none."""
    cluster: Cluster | None = None
    try:
        url, cluster = pg.choose_server(
            os.environ.get("IVR_TEST_POSTGRES_URL"), os.environ.get("IVR_TEST_POSTGRES_DEFAULT", pg.DEFAULT)
        )
    except ClusterError as exc:
        yield None, str(exc)
        return
    why = pg.answers(url)
    try:
        yield (None, why) if why else (url, "")
    finally:
        if cluster is not None:
            cluster.stop()


@contextmanager
def database(url: str) -> Iterator[str]:
    """A new, empty database on the server at `url`; its URL, and it is dropped afterwards (connections and all)."""
    name = f"ivr_bench_{secrets.token_hex(4)}"
    parts = urlsplit(url)
    with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

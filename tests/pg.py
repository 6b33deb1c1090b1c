"""The PostgreSQL server the tests run against. Unreachable is a failure, never a skip.

Each test gets a new, empty schema of the `test` database (the URL's search_path names it),
so tests never see each other's rows and can run side by side.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import quote

import pytest
from sqlalchemy import create_engine
from sqlalchemy.schema import CreateSchema, DropSchema

DEFAULT = "postgresql://postgres@127.0.0.1:5432/test"
START = "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"


def server_url() -> str:
    """IVR_TEST_POSTGRES_URL, else the machine's own server (127.0.0.1:5432, database `test`)."""
    return os.environ.get("IVR_TEST_POSTGRES_URL", DEFAULT)


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
        pytest.fail(f"PostgreSQL is not reachable at {url} ({exc.__class__.__name__}: {exc}); start it: {START}", pytrace=False)
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

"""The PostgreSQL server the tests run against. Unreachable is a failure, never a skip."""

from __future__ import annotations

import os
import secrets

import pytest
from sqlalchemy import create_engine, text

DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def server_url() -> str:
    return os.environ.get("IVR_TEST_POSTGRES_URL", DEFAULT)


def postgres_url(fresh: bool = True) -> str:
    """A URL whose search_path is a new, empty schema, so tests never see each other's rows."""
    url = server_url()
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            if not fresh:
                return url
            schema = f"t_{secrets.token_hex(6)}"
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:  # noqa: BLE001 - turned into a clear failure
        pytest.fail(f"PostgreSQL is not reachable at {url} ({exc.__class__.__name__}: {exc}); start it: "
                    "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start", pytrace=False)
    finally:
        engine.dispose()
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}options=-csearch_path%3D{schema}"

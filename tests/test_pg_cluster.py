"""The throwaway PostgreSQL cluster the tests fall back on when no server answers, and how a server is chosen."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from tests import pg
from tests.pg_cluster import Cluster, ClusterError, start_cluster

CLOSED = "postgresql://postgres@127.0.0.1:1/test"  # port 1: nothing listens, the connection is refused at once


def _stat(pid: int) -> list[str]:
    """The fields of /proc/<pid>/stat after the command name: state, parent, ..."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def _state(pid: int) -> str:
    try:
        return _stat(pid)[0]
    except OSError:
        return "gone"


def _start() -> Cluster:
    try:
        return start_cluster()
    except ClusterError as exc:
        pytest.fail(str(exc), pytrace=False)


def test_throwaway_cluster_answers_then_is_gone_after_stop() -> None:
    """A started cluster answers SELECT 1 in database `test`; after stop nothing answers on its port and its folder is deleted."""
    cluster = _start()
    try:
        with psycopg.connect(cluster.url, connect_timeout=5) as conn:
            assert conn.execute("SELECT 1, current_database(), current_user").fetchone() == (1, "test", "postgres")
        assert cluster.root.is_dir()
    finally:
        cluster.stop()
    assert not cluster.root.exists()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(cluster.url, connect_timeout=5).close()
    cluster.stop()  # a second stop is harmless


def test_a_stopped_server_starts_again_on_its_port_with_its_data() -> None:
    """stop_server ends every session and keeps the data; start_server serves it again at the same URL, under a new postmaster."""
    cluster = _start()
    try:
        with psycopg.connect(cluster.url, connect_timeout=5, autocommit=True) as conn:
            conn.execute("CREATE TABLE kept (n int)")
            conn.execute("INSERT INTO kept VALUES (7)")
            backend = conn.execute("SELECT pg_backend_pid()").fetchone()
        first = cluster.postmaster_pid()
        assert backend is not None
        assert int(_stat(backend[0])[1]) == first  # its parent
        cluster.stop_server()
        assert _state(first) in ("Z", "gone")  # a zombie until this machine's init reaps it
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(cluster.url, connect_timeout=5).close()
        with pytest.raises(ClusterError, match="not running"):
            cluster.postmaster_pid()
        cluster.start_server()
        assert cluster.postmaster_pid() != first
        with psycopg.connect(cluster.url, connect_timeout=5) as conn:
            assert conn.execute("SELECT n FROM kept").fetchall() == [(7,)]
    finally:
        cluster.stop()


def test_unreachable_default_falls_back_to_a_throwaway_cluster() -> None:
    """With no IVR_TEST_POSTGRES_URL and nothing at the default, the chosen server is a new cluster that answers."""
    with pytest.warns(UserWarning, match="throwaway cluster"):
        url, cluster = pg.choose_server(None, CLOSED)
    assert cluster is not None
    try:
        assert url == cluster.url != CLOSED
        assert pg.answers(url) is None
    finally:
        cluster.stop()


def test_explicit_url_is_used_as_given() -> None:
    """IVR_TEST_POSTGRES_URL is used even when nothing answers there: no cluster stands in for it."""
    assert pg.choose_server(CLOSED, pg.DEFAULT) == (CLOSED, None)


def test_unreachable_explicit_url_fails_and_never_skips(monkeypatch: pytest.MonkeyPatch) -> None:
    """A PostgreSQL test with IVR_TEST_POSTGRES_URL pointing nowhere fails, naming the URL and the variable."""
    monkeypatch.setenv("IVR_TEST_POSTGRES_URL", CLOSED)
    monkeypatch.setattr(pg, "_chosen", None)
    monkeypatch.setattr(pg, "_failure", None)
    monkeypatch.setattr(pg, "_cluster", None)
    with pytest.raises(pytest.fail.Exception, match=r"(?s)127\.0\.0\.1:1/test .*IVR_TEST_POSTGRES_URL"), pg.postgres_schema():
        pass


def test_missing_server_binaries_say_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without server binaries the cluster is not started and the error names what to install."""
    monkeypatch.setattr("tests.pg_cluster.server_bin_dir", lambda: None)
    with pytest.raises(ClusterError, match="apt-get install postgresql"):
        start_cluster()

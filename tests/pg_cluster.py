"""A throwaway PostgreSQL cluster made from the installed server binaries, for machines where no server answers.

This is the one place the tests find the server binaries and run them: initdb refuses to run as
root, so when the tests run as root the cluster is made and run by the `postgres` account (the
server packages create it). The cluster lives in a temporary folder, listens on a free loopback
port with trust authentication, and is stopped and removed by `Cluster.stop()`.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

DATABASE = "test"
USER = "postgres"
# Debian/Ubuntu packages, source builds, PGDG RPMs; PATH is looked at first.
SEARCH = ("/usr/lib/postgresql/*/bin", "/usr/local/pgsql/bin", "/usr/pgsql-*/bin")
INSTALL = "install the PostgreSQL server (apt-get install postgresql; `make test` does it when run as root) or set IVR_TEST_POSTGRES_URL"
# Durability is pointless for a cluster deleted at the end of the run, and costs seconds.
SERVER_OPTIONS = (
    "-c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
)


class ClusterError(RuntimeError):
    """The throwaway cluster could not be made, started or stopped."""


def _version(folder: Path) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", str(folder)))


def server_bin_dir() -> Path | None:
    """The folder holding initdb and pg_ctl: the one on PATH, else the newest installed major version."""
    candidates: list[Path] = []
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
    for pattern in SEARCH:
        candidates += sorted(Path("/").glob(pattern.lstrip("/")), key=_version, reverse=True)
    for folder in candidates:
        if all(os.access(folder / tool, os.X_OK) for tool in ("initdb", "pg_ctl", "postgres", "createdb")):
            return folder
    return None


def server_account() -> pwd.struct_passwd | None:
    """The account the server tools must run as: `postgres` when we are root (initdb refuses root), else None (ourselves)."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(USER)
    except KeyError:
        raise ClusterError(
            f"the tests run as root, initdb refuses root, and there is no `{USER}` user to run it as: {INSTALL}"
        ) from None


def run_server_tool(bin_dir: Path, tool: str, *args: str | Path, cwd: Path) -> str:
    """Run one of the server binaries (as `postgres` when we are root); its output, or ClusterError with it."""
    account = server_account()
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C", "LANG": "C"}
    if account is not None:
        env["HOME"] = account.pw_dir
    try:
        done = subprocess.run(
            [str(bin_dir / tool), *map(str, args)],
            cwd=cwd,  # the postgres account may not be able to enter the caller's folder
            env=env,
            user=account.pw_uid if account else None,
            group=account.pw_gid if account else None,
            extra_groups=[] if account else None,
            capture_output=True,
            text=True,
            timeout=120,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ClusterError(f"{tool} could not run: {exc}") from exc
    if done.returncode != 0:
        raise ClusterError(f"{tool} {' '.join(map(str, args))} failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    return done.stdout


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Cluster:
    """A running throwaway cluster: its folder, port and binaries."""

    root: Path
    port: int
    bin_dir: Path

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def log(self) -> Path:
        return self.root / "server.log"

    @property
    def url(self) -> str:
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{DATABASE}"

    def log_tail(self) -> str:
        try:
            return self.log.read_text(errors="replace")[-2000:]
        except OSError:
            return ""

    def start_server(self) -> None:
        """Start the server on the cluster's port, over the data it has (after `stop_server`, the same data)."""
        options = f"-p {self.port} -k {self.root} {SERVER_OPTIONS}"
        run_server_tool(
            self.bin_dir, "pg_ctl", "start", "-w", "-t", "60", "-D", self.data, "-l", self.log, "-o", options, cwd=self.root
        )

    def stop_server(self) -> None:
        """Stop the server as an administrator would (fast: sessions are ended, the data kept); `start_server` again."""
        run_server_tool(self.bin_dir, "pg_ctl", "stop", "-D", self.data, "-m", "fast", "-w", "-t", "60", cwd=self.root)

    def postmaster_pid(self) -> int:
        """The process id of the running server's postmaster (the parent of every backend)."""
        try:
            return int((self.data / "postmaster.pid").read_text().split("\n", 1)[0])
        except (OSError, ValueError) as exc:
            raise ClusterError(f"the server in {self.data} is not running: {exc}") from exc

    def stop(self) -> None:
        """Stop the server at once and delete its folder (safe to call twice)."""
        try:
            if (self.data / "postmaster.pid").exists():
                run_server_tool(self.bin_dir, "pg_ctl", "stop", "-D", self.data, "-m", "immediate", "-w", cwd=self.root)
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def start_cluster() -> Cluster:
    """initdb and start a new cluster on a free loopback port, with database `test`; ClusterError says why not."""
    bin_dir = server_bin_dir()
    if bin_dir is None:
        raise ClusterError(
            f"no PostgreSQL server binaries (initdb, pg_ctl, postgres, createdb) on PATH or in {', '.join(SEARCH)}: {INSTALL}"
        )
    account = server_account()
    root = Path(tempfile.mkdtemp(prefix="ivr-pg-"))
    if account is not None:
        os.chown(root, account.pw_uid, account.pw_gid)
    cluster = Cluster(root, 0, bin_dir)
    try:
        run_server_tool(
            bin_dir, "initdb", "-D", cluster.data, "-U", USER, "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync", cwd=root
        )
        # Another process can take the free port between our choice and the server's bind: try again on a new one.
        for attempt in range(3):
            cluster.port = _free_port()
            try:
                cluster.start_server()
                break
            except ClusterError as exc:
                if attempt == 2 or "could not bind" not in cluster.log_tail():
                    raise ClusterError(f"{exc}\n{cluster.log_tail()}") from exc
        run_server_tool(bin_dir, "createdb", "-h", "127.0.0.1", "-p", str(cluster.port), "-U", USER, DATABASE, cwd=root)
    except BaseException:
        cluster.stop()
        raise
    return cluster

"""A throwaway PostgreSQL server for the scale-out tests (a pytest plugin, registered in conftest).

The ``postgres`` fixture (session-scoped) finds PostgreSQL's server programs (``initdb``,
``pg_ctl``; on Debian under ``/usr/lib/postgresql/<version>/bin``), installing Debian's
``postgresql`` package with apt when they are missing and we are root; ``initdb`` makes a cluster
in a fresh temporary folder; ``pg_ctl`` starts it on 127.0.0.1 on a free port with
password-less (trust) authentication for local connections only; it is stopped and the folder
removed at the end of the session. Nothing system-wide is started. PostgreSQL refuses to run as
root, so under root (CI) the server runs as an unprivileged user (``postgres`` if it exists,
else ``nobody``) that owns the temporary folder. Tests are skipped, with the reason, only when
PostgreSQL cannot be found or installed.

``python tests/pg.py`` starts one by hand and prints its URL (Ctrl-C stops it), as the
README's scale-out commands do.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

SERVER_PROGRAMS = ("initdb", "pg_ctl")
DEBIAN_BIN_GLOB = "/usr/lib/postgresql/*/bin"
SUPERUSER = "postgres"  # the database role initdb creates (not the OS user)


class PostgresUnavailable(RuntimeError):
    """PostgreSQL's server programs are missing and could not be installed."""


def _version_key(path: Path) -> tuple[int, ...]:
    return tuple(int(x) for x in re.findall(r"\d+", path.parent.name) or ["0"])


def find_bin_dir() -> Path | None:
    """The folder holding ``initdb`` and ``pg_ctl``: ``$PG_BIN``, PATH, then Debian's layout."""
    candidates: list[Path] = []
    if os.environ.get("PG_BIN"):
        candidates.append(Path(os.environ["PG_BIN"]))
    on_path = shutil.which("pg_ctl")
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
    # Debian keeps the server programs out of PATH (only wrappers such as psql are there).
    debian = sorted(
        (p.parent for p in Path("/").glob(DEBIAN_BIN_GLOB.lstrip("/") + "/pg_ctl")),
        key=lambda d: _version_key(d / "pg_ctl"),
        reverse=True,
    )
    candidates.extend(debian)
    for folder in candidates:
        if all(os.access(folder / prog, os.X_OK) for prog in SERVER_PROGRAMS):
            return folder
    return None


def ensure_installed() -> Path:
    """``find_bin_dir()``, installing Debian's ``postgresql`` first when it finds nothing."""
    found = find_bin_dir()
    if found is not None:
        return found
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise PostgresUnavailable(
            "PostgreSQL's initdb/pg_ctl were not found and cannot be installed here "
            "(installing needs root and apt-get: apt-get install -y postgresql)"
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    # No system-wide "main" cluster (Debian would create and start one on port 5432).
    conf_dir = Path("/etc/postgresql-common/createcluster.d")
    conf_dir.mkdir(parents=True, exist_ok=True)
    (conf_dir / "automl-hyper.conf").write_text("create_main_cluster = false\n")
    for cmd in (
        ["apt-get", "update", "-q"],
        ["apt-get", "install", "-y", "-q", "--no-install-recommends", "postgresql"],
    ):
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
        if done.returncode != 0:
            raise PostgresUnavailable(
                f"{' '.join(cmd)} failed ({done.returncode}): {done.stderr.strip()[-500:]}"
            )
    found = find_bin_dir()
    if found is None:
        raise PostgresUnavailable("apt-get installed postgresql but initdb/pg_ctl are not found")
    return found


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run_as_user() -> str | None:
    """The OS user the server runs as: None (ourselves) unless we are root."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    raise PostgresUnavailable("running as root and neither a 'postgres' nor a 'nobody' user exists")


@dataclass
class PostgresServer:
    """One cluster in a temporary folder, on 127.0.0.1:port, reachable as role ``postgres``."""

    bin_dir: Path
    root: Path
    port: int
    user: str | None
    log: Path = field(init=False)
    _databases: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.log = self.root / "server.log"

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    def _cmd(self, prog: str, *args: str) -> list[str]:
        cmd = [str(self.bin_dir / prog), *args]
        return cmd if self.user is None else ["runuser", "-u", self.user, "--", *cmd]

    def _check(self, prog: str, *args: str, timeout: float = 120) -> str:
        done = subprocess.run(
            self._cmd(prog, *args), capture_output=True, text=True, timeout=timeout, cwd=self.root
        )
        if done.returncode != 0:
            tail = self.log.read_text()[-2000:] if self.log.exists() else ""
            raise RuntimeError(
                f"{prog} {' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n"
                f"{done.stderr}\n{tail}"
            )
        return done.stdout

    def init(self) -> None:
        self._check(
            "initdb",
            "-D",
            str(self.data_dir),
            "-U",
            SUPERUSER,
            "--auth=trust",
            "--encoding=UTF8",
            "--no-locale",
            "--no-sync",
        )

    def start(self) -> None:
        # Unix socket in our own folder (not /var/run/postgresql); TCP on 127.0.0.1 only.
        options = (
            f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
            "-c max_connections=200"
        )
        self._check(
            "pg_ctl", "-D", str(self.data_dir), "-l", str(self.log), "-o", options, "-w", "start"
        )

    def stop(self) -> None:
        # Immediate: a throwaway cluster needs no shutdown checkpoint (fast mode took 5-15 s).
        if (self.data_dir / "postmaster.pid").exists():
            subprocess.run(
                self._cmd("pg_ctl", "-D", str(self.data_dir), "-m", "immediate", "-w", "stop"),
                capture_output=True,
                timeout=120,
                cwd=self.root,
            )

    def url(self, database: str = "postgres", driver: str = "psycopg") -> str:
        """An SQLAlchemy URL, e.g. ``postgresql+psycopg://postgres@127.0.0.1:5433/db``."""
        scheme = "postgresql" if not driver else f"postgresql+{driver}"
        return f"{scheme}://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """Create database ``name`` (once) and return its SQLAlchemy URL."""
        if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
            raise ValueError(f"database names here are lower-case identifiers, got {name!r}")
        if name not in self._databases:
            import psycopg

            with psycopg.connect(self.url("postgres", driver=""), autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{name}"')
            self._databases.add(name)
        return self.url(name)


def start_server(root: Path | None = None, attempts: int = 3) -> PostgresServer:
    """Install if needed, ``initdb`` and start a server in ``root`` (a new temporary folder)."""
    bin_dir = ensure_installed()
    user = _run_as_user()
    root = Path(tempfile.mkdtemp(prefix="automl-hyper-pg-")) if root is None else root
    root.mkdir(parents=True, exist_ok=True)
    if user is not None:
        # mkdtemp makes a 0700 folder; the server's user must own it.
        entry = pwd.getpwnam(user)
        os.chown(root, entry.pw_uid, entry.pw_gid)
    last: Exception | None = None
    for _ in range(attempts):  # a free port may be taken by someone else before we bind it
        server = PostgresServer(bin_dir, root, free_port(), user)
        if not server.data_dir.exists():
            server.init()
        try:
            server.start()
            return server
        except RuntimeError as err:
            last = err
            time.sleep(0.5)
    raise RuntimeError(f"PostgreSQL did not start after {attempts} attempts: {last}")


def stop_server(server: PostgresServer) -> None:
    server.stop()
    shutil.rmtree(server.root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres() -> PostgresServer:
    """A PostgreSQL server on 127.0.0.1 for the session (skipped only if it cannot be had)."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        pytest.skip("the PostgreSQL driver is missing: pip install 'psycopg[binary]' (dev extra)")
    try:
        server = start_server()
    except PostgresUnavailable as err:
        pytest.skip(str(err))
    try:
        yield server
    finally:
        stop_server(server)


if __name__ == "__main__":
    srv = start_server()
    print(srv.url(), "(log:", srv.log, ")", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        stop_server(srv)

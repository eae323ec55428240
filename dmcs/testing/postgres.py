"""A throwaway PostgreSQL server from the Debian package's binaries, for tests.

``initdb`` makes a cluster in a temp dir (superuser ``dmcs``, trust authentication, C
locale); ``postgres`` serves it on a free port on 127.0.0.1 only, its unix socket in the same
dir, without fsync (the data is thrown away). At the end: a fast shutdown, the dir removed.
PostgreSQL refuses to run as root, so as root both run as the ``postgres`` system user the
Debian package creates (``nobody`` without it), which then owns the temp dir.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dmcs.sal.broker import free_port

BIN_GLOB = "/usr/lib/postgresql/*/bin"
SUPERUSER = "dmcs"
HOST = "127.0.0.1"
_START_TIMEOUT = 30.0
_STOP_TIMEOUT = 10.0


class PostgresError(RuntimeError):
    """The server could not be set up or started; the text says why and shows its output."""


def find_bin_dir() -> Path | None:
    """The newest installed server's binaries (Debian: ``/usr/lib/postgresql/<v>/bin``)."""
    found = [Path(p) for p in glob.glob(BIN_GLOB)
             if all((Path(p) / name).is_file() for name in ("initdb", "postgres"))]
    return max(found, default=None,
               key=lambda p: [int(n) for n in re.findall(r"\d+", p.parent.name)])


@dataclass(frozen=True)
class PostgresServer:
    """A running server: where it listens, and databases on it."""

    bin_dir: Path
    port: int
    root: Path

    @property
    def log_path(self) -> Path:
        return self.root / "postgres.log"

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}@{HOST}:{self.port}/{dbname}"

    def create_database(self, name: str) -> str:
        """A new, empty database; its URL."""
        _run(self.bin_dir / "createdb", "-h", HOST, "-p", str(self.port), "-U", SUPERUSER, name)
        return self.url(name)

    def is_ready(self) -> bool:
        ready = subprocess.run(
            [str(self.bin_dir / "pg_isready"), "-q", "-h", HOST, "-p", str(self.port)],
            check=False)
        return ready.returncode == 0


@contextlib.contextmanager
def running_postgres(bin_dir: Path) -> Iterator[PostgresServer]:
    """A new cluster and its server, ready for connections; stopped and removed at the end."""
    as_server = _as_server_user()
    root = Path(tempfile.mkdtemp(prefix="dmcs-postgres-"))
    try:
        if as_server:
            os.chown(root, as_server["user"], as_server["group"])
        server = PostgresServer(bin_dir, free_port(), root)
        data = str(root / "data")
        _run(bin_dir / "initdb", "-D", data, "-U", SUPERUSER, "--auth=trust", "-E", "UTF8",
             "--locale=C", "--no-sync", cwd=root, **as_server)
        with open(server.log_path, "ab") as log:
            proc = subprocess.Popen(
                [str(bin_dir / "postgres"), "-D", data, "-p", str(server.port),
                 "-c", f"listen_addresses={HOST}", "-c", f"unix_socket_directories={root}",
                 "-c", "fsync=off"],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, cwd=root,
                start_new_session=True, **as_server,
            )
        try:
            _wait_ready(server, proc)
            yield server
        finally:
            _stop(proc)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _as_server_user() -> dict[str, Any]:
    """Popen arguments that run the server as someone PostgreSQL accepts (not root)."""
    if os.geteuid() != 0:
        return {}
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            user = pwd.getpwnam(name)
            return {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}
    raise PostgresError("running as root, and there is no postgres or nobody user to run as")


def _run(program: Path, *args: str, **popen: Any) -> None:
    done = subprocess.run([str(program), *args], capture_output=True, text=True, check=False,
                          **popen)
    if done.returncode != 0:
        raise PostgresError(f"{program.name} failed ({done.returncode}):\n"
                            f"{done.stdout}{done.stderr}")


def _wait_ready(server: PostgresServer, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + _START_TIMEOUT
    while not server.is_ready():
        if proc.poll() is not None or time.monotonic() > deadline:
            log = server.log_path.read_text(errors="replace")[-1500:]
            raise PostgresError(f"postgres did not start on port {server.port}; log:\n{log}")
        time.sleep(0.1)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Fast shutdown (clients disconnected, work rolled back), SIGKILL if it hangs."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(_STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()

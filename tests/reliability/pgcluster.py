"""A throwaway PostgreSQL cluster for tests that stop and restart the database.

initdb and pg_ctl refuse to run as root, so they run as the `postgres` user (runuser) in a
temporary directory that user owns; the server listens on 127.0.0.1 on a free port.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from tests.support.services import free_port


def _pg_bin(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    for version in sorted(Path("/usr/lib/postgresql").glob("*"), reverse=True):
        candidate = version / "bin" / name
        if candidate.exists():
            return str(candidate)
    raise RuntimeError(f"{name} not found")


class PostgresCluster:
    def __init__(self):
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="oms-pg-"))
        self.data = self.dir / "data"
        self.log = self.dir / "server.log"
        self._as_root = os.geteuid() == 0

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        cmd = ["runuser", "-u", "postgres", "--", *args] if self._as_root else list(args)
        return subprocess.run(cmd, capture_output=True, text=True, check=check, timeout=120)

    def url(self, dbname: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{dbname}"

    def init(self) -> None:
        if self._as_root:
            shutil.chown(self.dir, "postgres", "postgres")
        self._run(_pg_bin("initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")
        self.start()

    def start(self) -> None:
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(_pg_bin("pg_ctl"), "-D", str(self.data), "-o", options, "-l", str(self.log), "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run(_pg_bin("pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop", check=False)

    def copy_database_from(self, source_url: str, dbname: str) -> None:
        """Create `dbname` here as a copy of the database at `source_url` (schema and rows)."""
        subprocess.run(
            [_pg_bin("createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", dbname],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip
        dump = subprocess.run(
            [_pg_bin("pg_dump"), "--no-owner", "--no-privileges", source_url],
            check=True, capture_output=True, timeout=300,
        )  # fmt: skip
        subprocess.run(
            [_pg_bin("psql"), "-q", "-v", "ON_ERROR_STOP=1", self.url(dbname)],
            input=dump.stdout, check=True, capture_output=True, timeout=300,
        )  # fmt: skip

    def destroy(self) -> None:
        self.stop(mode="immediate")
        shutil.rmtree(self.dir, ignore_errors=True)

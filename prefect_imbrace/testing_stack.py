"""The scaled Prefect stack for tests and benchmarks: PostgreSQL, Redis, API workers, services.

What self-hosted teams run when one Prefect server is not enough: a PostgreSQL database, Redis
for messaging (`prefect-redis`), `prefect server start --workers N` (API processes that run no
services) and one `prefect server services start` process. `start_scaled_prefect_stack()`
starts all of it on loopback, in one temporary folder, and returns a `ScaledPrefectServer`: a
`PrefectServer` (testing_deployments) whose `stop()` ends every process by its PID and whose
folder the caller removes. Tests get it through the `prefect_server` fixture parametrized with
`"scaled"` (see `prefect_imbrace.testing_deployments.prefect_server`).

Why a throwaway cluster rather than a system service: nothing outside the folder is touched,
several sessions can run side by side, and the cluster's files go with the folder. Measured
facts this relies on (/work/shared/prefect-deployments-notes.md, "The scaled Prefect stack"):

- Debian's PostgreSQL keeps `initdb`/`postgres` in /usr/lib/postgresql/VERSION/bin, off the
  PATH; `initdb` refuses to run as root, so as root the cluster belongs to the `postgres` user.
- `--workers 2` refuses SQLite, and PostgreSQL while the broker, cache, causal ordering or lease
  storage is still in memory; the API workers then run no services, the services process does.
- On a first start the API workers race to register block types and schemas; the loser logs
  `UniqueViolation` tracebacks and can take the whole API down (exit code 0). The kit migrates
  the database and registers the blocks in one process first (`PREPARE_DATABASE`).

Example::

    stack = start_scaled_prefect_stack()
    try:
        stack.create_pool("pool")            # everything PrefectServer offers
        print(stack.api_url, stack.postgres.url, stack.redis.url)
    finally:
        stack.stop()
        shutil.rmtree(stack.home, ignore_errors=True)
"""

from __future__ import annotations

import contextlib
import glob
import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import pytest

from prefect_imbrace.testing_deployments import (
    SERVER_START_TIMEOUT,
    PrefectServer,
    _end_group,
    free_port,
    server_environment,
)

__all__ = [
    "AttachedPrefectServer",
    "PostgresCluster",
    "RedisServer",
    "ScaledPrefectServer",
    "StackUnavailable",
    "attach_prefect_server",
    "on_both_stacks",
    "postgres_bin_dir",
    "process_tree",
    "scaled_environment",
    "start_scaled_prefect_stack",
]

API_WORKERS = 2
"""API worker processes of the stack (`prefect server start --workers`)."""
POSTGRES_MAX_CONNECTIONS = 200
"""Each API worker and the services process keep their own SQLAlchemy pool (5 + 10 overflow)."""
DATABASE_USER = DATABASE_NAME = "prefect"
HEALTH_CONFIRM_S = 3.0
"""The API must still answer this long after its first healthy answer (see PREPARE_DATABASE)."""


on_both_stacks = pytest.mark.parametrize(
    "prefect_server",
    [pytest.param(None, id="sqlite"), pytest.param("scaled", id="scaled", marks=pytest.mark.scaled)],
    indirect=True,
)
"""Run a test that uses `prefect_server` on the SQLite server and on the scaled stack.

The SQLite case is the fixture's unparametrized value (None), so it shares the one SQLite
server with every other test; pytest groups the scaled cases and starts the stack once.
"""


class StackUnavailable(RuntimeError):
    """A part of the stack is missing on this machine; the message says what to install."""


def postgres_bin_dir() -> Path:
    """The newest PostgreSQL server binaries: Debian's /usr/lib/postgresql/N/bin, else PATH."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(Path(p).parent.parent.name) if Path(p).parent.parent.name.isdigit() else 0)
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("initdb")
    if on_path:
        return Path(on_path).resolve().parent
    raise StackUnavailable("PostgreSQL's initdb was not found: `apt-get install postgresql`")


def _as_postgres_user() -> dict[str, Any]:
    """Popen arguments that run a PostgreSQL binary as `postgres` when this process is root."""
    if os.geteuid() != 0:
        return {}
    return {"user": "postgres", "group": "postgres", "extra_groups": []}


def _wait_until(ready: Any, process: subprocess.Popen[Any], what: str, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}:\n{_tail(log)}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not ready after {timeout:.0f}s:\n{_tail(log)}")
        time.sleep(0.2)


def _tail(path: Path, chars: int = 3000) -> str:
    return path.read_text(errors="replace")[-chars:] if path.exists() else ""


@dataclass
class _LoopbackServer:
    """A server process of the stack on a loopback port; `stop()` ends its group by PID."""

    port: int
    process: subprocess.Popen[Any]
    log_path: Path
    stop_signal: ClassVar[int] = signal.SIGTERM

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self) -> None:
        """`stop_signal` to the process group, SIGKILL after 20 s."""
        _end_group(self.process, self.stop_signal, grace=20)


@dataclass
class PostgresCluster(_LoopbackServer):
    """A throwaway PostgreSQL cluster (`initdb`) served by one `postgres` process on loopback.

    Trust authentication on 127.0.0.1 only, the Unix socket inside the data folder, no fsync
    (the data is thrown away). `stop()` sends SIGINT (PostgreSQL's fast shutdown: it ends its
    backends, which are not in its process group), then SIGKILL.
    """

    data_dir: Path
    stop_signal: ClassVar[int] = signal.SIGINT

    @property
    def url(self) -> str:
        """The SQLAlchemy URL Prefect's server uses (asyncpg driver)."""
        return f"postgresql+asyncpg://{DATABASE_USER}@127.0.0.1:{self.port}/{DATABASE_NAME}"

    @classmethod
    def start(cls, folder: Path, *, timeout: float = 60) -> PostgresCluster:
        """`initdb` a cluster in `folder / "pgdata"`, start it on a free port, create the database.

        As root the cluster runs as `postgres`, which must be able to reach `folder`.
        """
        bin_dir = postgres_bin_dir()
        folder.mkdir(parents=True, exist_ok=True)
        data_dir = folder / "pgdata"
        data_dir.mkdir(mode=0o700)
        as_user = _as_postgres_user()
        if as_user:  # the postgres user must own the data folder and reach it
            shutil.chown(data_dir, "postgres", "postgres")
            os.chmod(folder, 0o755)
        log_path = folder / "postgres.log"
        subprocess.run(
            [str(bin_dir / "initdb"), "-D", str(data_dir), "--auth=trust", "-U", DATABASE_USER,
             "-E", "UTF8", "--locale=C", "--no-sync"],
            check=True, capture_output=True, text=True, timeout=120, cwd=data_dir, **as_user,
        )
        port = free_port()
        with open(log_path, "ab") as log:
            if as_user:
                shutil.chown(log_path, "postgres", "postgres")
            process = subprocess.Popen(
                [str(bin_dir / "postgres"), "-D", str(data_dir), "-p", str(port),
                 "-h", "127.0.0.1", "-k", str(data_dir),
                 "-c", f"max_connections={POSTGRES_MAX_CONNECTIONS}", "-c", "fsync=off",
                 "-c", "synchronous_commit=off", "-c", "full_page_writes=off"],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True, cwd=data_dir, **as_user,
            )
        cluster = cls(port=port, process=process, log_path=log_path, data_dir=data_dir)
        try:
            _wait_until(cluster._accepts_connections, process, "postgres", log_path, timeout)
            subprocess.run(
                [str(bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", DATABASE_USER,
                 DATABASE_NAME],
                check=True, capture_output=True, text=True, timeout=60,
            )
        except BaseException:
            cluster.stop()
            raise
        return cluster

    def _accepts_connections(self) -> bool:
        pg_isready = postgres_bin_dir() / "pg_isready"
        if not pg_isready.exists():
            return _port_open(self.port)
        return subprocess.run(
            [str(pg_isready), "-h", "127.0.0.1", "-p", str(self.port), "-U", DATABASE_USER, "-q"],
            check=False, timeout=10,
        ).returncode == 0



@dataclass
class RedisServer(_LoopbackServer):
    """A throwaway `redis-server` on loopback: no persistence, data in memory only."""

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}"

    @classmethod
    def start(cls, folder: Path, *, timeout: float = 30) -> RedisServer:
        executable = shutil.which("redis-server")
        if executable is None:
            raise StackUnavailable("redis-server was not found: `apt-get install redis-server`")
        folder.mkdir(parents=True, exist_ok=True)
        port = free_port()
        log_path = folder / "redis.log"
        with open(log_path, "ab") as log:
            process = subprocess.Popen(
                [executable, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                 "--appendonly", "no", "--dir", str(folder), "--protected-mode", "yes"],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True, cwd=folder,
            )
        server = cls(port=port, process=process, log_path=log_path)
        try:
            _wait_until(server.ping, process, "redis-server", log_path, timeout)
        except BaseException:
            server.stop()
            raise
        return server

    def ping(self) -> bool:
        """True when the server answers PING (raw RESP over a socket: no client library)."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=2) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False


def _stat_fields(pid: int) -> list[str]:
    """/proc/PID/stat after the command name: state, ppid, pgrp, ... ([] when gone)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return []


def group_members(pgid: int) -> list[int]:
    """PIDs whose process group is `pgid` (Linux /proc; [] elsewhere)."""
    proc = Path("/proc")
    if not proc.is_dir():
        return []
    return [int(entry.name) for entry in proc.iterdir()
            if entry.name.isdigit() and (fields := _stat_fields(int(entry.name)))
            and fields[2] == str(pgid)]


def process_tree(pid: int) -> list[int]:
    """`pid`, its descendants and its process group's members (Linux /proc; [] elsewhere).

    PostgreSQL's children leave the postmaster's process group (each calls `setsid`), so a
    part's processes are found by parentage as well as by group.
    """
    proc = Path("/proc")
    if not proc.is_dir():
        return []
    stats = {int(entry.name): fields for entry in proc.iterdir()
             if entry.name.isdigit() and (fields := _stat_fields(int(entry.name)))}
    found = {pid} | {other for other, fields in stats.items() if fields[2] == str(pid)}
    grew = True
    while grew:
        children = {other for other, fields in stats.items() if int(fields[1]) in found}
        grew = not children <= found
        found |= children
    return sorted(p for p in found if p in stats)


def _alive(pid: int) -> bool:
    fields = _stat_fields(pid)
    return bool(fields) and fields[0] != "Z"


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def scaled_environment(home: Path, port: int, database_url: str, redis_port: int) -> dict[str, str]:
    """`server_environment` with PostgreSQL and the Redis-backed messaging of `prefect-redis`.

    The same variables go to the API workers, the services process, process workers and flow
    runs (clients ignore the server's settings).
    """
    env = server_environment(home, port)
    env.pop("PREFECT_API_DATABASE_CONNECTION_URL", None)
    env.update({
        "PREFECT_SERVER_DATABASE_CONNECTION_URL": database_url,
        "PREFECT_MESSAGING_BROKER": "prefect_redis.messaging",
        "PREFECT_MESSAGING_CACHE": "prefect_redis.messaging",
        "PREFECT_SERVER_EVENTS_CAUSAL_ORDERING": "prefect_redis.ordering",
        "PREFECT_SERVER_CONCURRENCY_LEASE_STORAGE": "prefect_redis.lease_storage",
        "PREFECT_REDIS_MESSAGING_HOST": "127.0.0.1",
        "PREFECT_REDIS_MESSAGING_PORT": str(redis_port),
        "PREFECT_REDIS_MESSAGING_DB": "0",
        "PREFECT_SERVER_DOCKET_URL": f"redis://127.0.0.1:{redis_port}/1",
    })
    return env


@dataclass
class ScaledPrefectServer(PrefectServer):
    """A `PrefectServer` whose API is `api_workers` processes over PostgreSQL and Redis.

    `process` is `prefect server start --workers N` (its process group holds the API workers);
    `services` is `prefect server services start`. `stop()` ends the workers, the services, the
    API, Redis and PostgreSQL, each by its PID; the caller removes `home`.
    """

    services: subprocess.Popen[Any] | None = None
    services_log_path: Path | None = None
    postgres: PostgresCluster | None = None
    redis: RedisServer | None = None
    api_workers: int = API_WORKERS
    started_s: dict[str, float] = field(default_factory=dict)
    """Seconds each part took to start (cluster, redis, upgrade, api_health)."""

    def stop(self) -> None:
        """End every part by its PID; raise if a part had died before, or outlived its stop."""
        self.stop_workers()
        died = {part: process.returncode for part, process in self._processes().items()
                if process.poll() is not None}
        members = {pid for leader in self.pids().values() for pid in process_tree(leader)}
        if self.services is not None:
            _end_group(self.services, signal.SIGTERM, grace=15)
        _end_group(self.process, signal.SIGTERM, grace=15)
        if self.redis is not None:
            self.redis.stop()
        if self.postgres is not None:
            self.postgres.stop()
        leftover = sorted(pid for pid in members if _alive(pid))
        for pid in leftover:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if died:
            raise RuntimeError(f"parts of the scaled stack had exited before its stop: {died}\n"
                               f"server.log:\n{_tail(self.log_path)}\nservices.log:\n"
                               f"{self.services_log()[-3000:]}")
        if leftover:
            raise RuntimeError(f"processes of the scaled stack outlived its stop (killed): {leftover}")

    def _processes(self) -> dict[str, subprocess.Popen[Any]]:
        parts = {"api": self.process, "services": self.services,
                 "redis": self.redis.process if self.redis else None,
                 "postgres": self.postgres.process if self.postgres else None}
        return {part: process for part, process in parts.items() if process is not None}

    def pids(self) -> dict[str, int]:
        """The leading PID of each part (each leads its own process group)."""
        return {part: process.pid for part, process in self._processes().items()}

    def services_log(self) -> str:
        return _tail(self.services_log_path, 100_000) if self.services_log_path else ""


PREPARE_DATABASE = """
import asyncio

import prefect.plugins
from prefect.server.database import provide_database_interface
from prefect.server.models.block_registration import run_block_auto_registration


async def prepare() -> None:
    db = provide_database_interface()
    await db.create_db()  # the migrations of `prefect server database upgrade`
    prefect.plugins.load_prefect_collections()  # the blocks of installed collections too
    async with await db.session() as session:
        await run_block_auto_registration(session=session)

asyncio.run(prepare())
"""
"""Migrate the database and register the block types and schemas, in one process.

Each API worker registers them on start-up; on an empty database two workers race to insert
the same rows, and a worker that loses fails its start-up (UniqueViolation), after which
uvicorn stops the whole API with exit code 0 (seen in 1 of 3 first starts here). Registered
beforehand, the workers only find and update them.
"""


def _prefect(args: list[str], env: dict[str, str], log_path: Path, cwd: Path) -> subprocess.Popen[Any]:
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "prefect", *args], env=env, stdout=log,
            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True, cwd=cwd,
        )


def start_scaled_prefect_stack(
    home: Path | None = None, *, api_workers: int = API_WORKERS,
    timeout: float = SERVER_START_TIMEOUT,
) -> ScaledPrefectServer:
    """Start PostgreSQL, Redis, the API workers and the services process; wait for health.

    Raises `StackUnavailable` when PostgreSQL, redis-server or `prefect-redis` is missing, and
    `RuntimeError`/`TimeoutError` (with the logs' tail) when a part fails to start; whatever
    was started by then is stopped first.
    """
    import httpx

    if importlib.util.find_spec("prefect_redis") is None:  # the servers import it, not this process
        raise StackUnavailable(
            "prefect-redis is not installed: `pip install 'prefect-imbrace[scaled]'` (Python 3.11+)"
        )
    home = Path(home or tempfile.mkdtemp(prefix="prefect-scaled-"))
    home.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        os.chmod(home, 0o755)  # the cluster's `postgres` user reaches its folder through it
    timings: dict[str, float] = {}
    clock = time.monotonic()
    postgres = PostgresCluster.start(home / "postgres")
    timings["postgres_s"] = round(time.monotonic() - clock, 1)
    redis: RedisServer | None = None
    server: ScaledPrefectServer | None = None
    try:
        clock = time.monotonic()
        redis = RedisServer.start(home / "redis")
        timings["redis_s"] = round(time.monotonic() - clock, 1)
        port = free_port()
        env = scaled_environment(home, port, postgres.url, redis.port)
        clock = time.monotonic()
        prepare = subprocess.run([sys.executable, "-c", PREPARE_DATABASE], env=env, cwd=home,
                                 capture_output=True, text=True, timeout=timeout)
        if prepare.returncode != 0:
            raise RuntimeError(f"preparing the Prefect database failed:\n{prepare.stdout[-3000:]}"
                               f"{prepare.stderr[-3000:]}")
        timings["prepare_s"] = round(time.monotonic() - clock, 1)
        clock = time.monotonic()
        api = _prefect(["server", "start", "--host", "127.0.0.1", "--port", str(port),
                        "--workers", str(api_workers)], env, home / "server.log", home)
        services_log = home / "services.log"
        services = _prefect(["server", "services", "start"], env, services_log, home)
        server = ScaledPrefectServer(
            api_url=env["PREFECT_API_URL"], ui_url=env["PREFECT_UI_URL"], env=env, home=home,
            process=api, log_path=home / "server.log", services=services,
            services_log_path=services_log, postgres=postgres, redis=redis,
            api_workers=api_workers, started_s=timings,
        )

        def healthy() -> bool:
            if services.poll() is not None:
                raise RuntimeError(f"prefect server services exited with {services.returncode}:\n"
                                   f"{_tail(services_log)}")
            try:
                return httpx.get(f"{server.api_url}/health", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        _wait_until(healthy, api, "prefect server start --workers", server.log_path, timeout)
        timings["api_health_s"] = round(time.monotonic() - clock, 1)
        # one worker may answer while another still fails its start-up and takes the API down
        time.sleep(HEALTH_CONFIRM_S)
        _wait_until(healthy, api, "prefect server start --workers", server.log_path, timeout)
        return server
    except BaseException:
        if server is not None:
            server.stop()
        else:
            if redis is not None:
                redis.stop()
            postgres.stop()
        raise


@dataclass
class AttachedPrefectServer(PrefectServer):
    """A Prefect server this process did not start (any URL): `stop()` ends only our workers.

    For benchmarks pointed at an existing server (`benchmarks/run.py --prefect-api-url`):
    pools, deployments, workers and flow runs work as with `PrefectServer`; the server's own
    process, database and logs are someone else's.
    """

    def stop(self) -> None:
        self.stop_workers()

    @property
    def pid(self) -> int:
        raise RuntimeError("an attached Prefect server is not a process of this kit")

    def log(self) -> str:
        return ""


def attach_prefect_server(api_url: str, home: Path | None = None) -> AttachedPrefectServer:
    """A `PrefectServer` for the server at `api_url` (`http://host:port/api`), which must answer.

    `home` (a temporary folder by default) holds the workers' logs, results and bytecode.
    """
    from urllib.parse import urlsplit

    import httpx

    api_url = api_url.rstrip("/")
    health = httpx.get(f"{api_url}/health", timeout=10)
    if health.status_code != 200:
        raise RuntimeError(f"{api_url}/health answered {health.status_code}: is it a Prefect API URL?")
    parts = urlsplit(api_url)
    home = Path(home or tempfile.mkdtemp(prefix="prefect-attached-"))
    env = server_environment(home, parts.port or 80, host=parts.hostname or "127.0.0.1")
    env.update({"PREFECT_API_URL": api_url, "PREFECT_UI_API_URL": api_url,
                "PREFECT_UI_URL": f"{parts.scheme}://{parts.netloc}"})
    for server_only in ("PREFECT_API_DATABASE_CONNECTION_URL", "PREFECT_SERVER_API_HOST",
                        "PREFECT_SERVER_API_PORT"):
        env.pop(server_only, None)
    return AttachedPrefectServer(
        api_url=api_url, ui_url=env["PREFECT_UI_URL"], env=env, home=home,
        process=None, log_path=home / "server.log",  # type: ignore[arg-type]
    )

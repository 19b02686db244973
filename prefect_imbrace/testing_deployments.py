"""A real Prefect server, process workers and deployments for tests (the `prefect_server` fixture).

Why a real server: suspension, workers, work pools, global concurrency limits shared by several
processes and the UI only exist there; `prefect_test_harness` runs everything in one process.
Starting a server costs 25-45 s on a busy 2-core machine, so one server serves a whole test
session (`prefect_server` is session-scoped); each test makes its own work pool and deployments.

Everything runs on loopback with a temporary `PREFECT_HOME` (SQLite), and every process started
here (server, workers, their flow-run processes) is ended by its PID (its process group) at
teardown. Facts this relies on are measured in /work/shared/prefect-deployments-notes.md:

- every Python process would recompile Prefect (the environment sets `PYTHONDONTWRITEBYTECODE`),
  so the server, workers and flow runs share a temporary `PYTHONPYCACHEPREFIX`;
- a server started with `--port` still points its UI at port 4200: `PREFECT_UI_API_URL` fixes it;
- SQLite stays healthy with 60 flow runs when each worker runs at most 5 at once under `nice`,
  flow-run logs stay out of the API and the flow-run command skips the workspace supervisor.

Example::

    def test_deployed(prefect_server):
        prefect_server.create_pool("my-pool")
        deployment_id = prefect_server.deploy("flows/my_flow.py:my_flow", name="d", pool="my-pool")
        prefect_server.start_workers("my-pool", count=1)
        flow_run = prefect_server.run_deployment(deployment_id, parameters={"x": 1})
        assert prefect_server.wait_for_flow_runs([flow_run.id])[0].state.is_completed()
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast
from uuid import UUID

import pytest

if TYPE_CHECKING:
    from prefect import Flow

__all__ = [
    "PrefectServer",
    "WorkerProcess",
    "flow_run_pids",
    "prefect_server",
    "start_prefect_server",
    "wait_for_no_flow_run_process",
]

SERVER_START_TIMEOUT = 240.0
"""Seconds to wait for `/api/health` (measured: 25-45 s on a busy 2-core machine)."""
WORKER_QUERY_SECONDS = 2
"""How often test workers poll for flow runs (`PREFECT_WORKER_QUERY_SECONDS`)."""


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _end_group(proc: subprocess.Popen[Any], first: int, grace: float) -> None:
    """Send `first` to the process group led by `proc.pid`, then SIGKILL it after `grace` s."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, first)
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pass
    # children (uvicorn, flow-run processes) may outlive the leader: end the whole group
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=10)


@dataclass
class WorkerProcess:
    """One `prefect worker start` process; `stop()` ends it (and its flow runs) by PID."""

    pool: str
    name: str
    process: subprocess.Popen[Any]
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self) -> None:
        """SIGINT (a worker ignores SIGTERM for several seconds), then SIGKILL of its group."""
        _end_group(self.process, signal.SIGINT, grace=10)

    def log(self) -> str:
        """What the worker printed so far (for assertion messages)."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


@dataclass
class PrefectServer:
    """A running `prefect server start` on loopback and what a test needs to use it.

    `env` points a subprocess at this server (`subprocess.run(..., env=server.env)`);
    `settings()` points code in the test process at it; `start_workers()` starts process
    workers that `stop()` ends by PID.
    """

    api_url: str
    ui_url: str
    env: dict[str, str]
    home: Path
    process: subprocess.Popen[Any]
    log_path: Path
    workers: list[WorkerProcess] = field(default_factory=list)
    resubmitted: int = 0
    """Flow runs scheduled again by `wait_for_flow_runs` because their submission failed."""

    @property
    def pid(self) -> int:
        return self.process.pid

    # -- the test process as a client of this server -----------------------------------------
    @contextlib.contextmanager
    def settings(self) -> Iterator[None]:
        """Prefect settings of the test process pointed at this server inside the block."""
        from prefect.settings import (
            PREFECT_API_URL,
            PREFECT_RESULTS_LOCAL_STORAGE_PATH,
            PREFECT_SERVER_ANALYTICS_ENABLED,
            temporary_settings,
        )

        with temporary_settings(
            updates={
                PREFECT_API_URL: self.api_url, PREFECT_SERVER_ANALYTICS_ENABLED: False,
                PREFECT_RESULTS_LOCAL_STORAGE_PATH: self.home / "storage",
            }
        ):
            yield

    def client(self) -> Any:
        """A sync `PrefectClient` of this server; use it in a `with` block."""
        from prefect.client.orchestration import SyncPrefectClient

        return SyncPrefectClient(api=self.api_url)

    # -- pools, workers, deployments --------------------------------------------------------
    def create_pool(self, name: str, *, paused: bool = False, concurrency_limit: int | None = None) -> None:
        """A process work pool (Prefect's default job template for the process worker)."""
        from prefect.client.schemas.actions import WorkPoolCreate
        from prefect.workers.process import ProcessWorker

        with self.client() as client:
            client.create_work_pool(
                WorkPoolCreate(
                    name=name, type="process", is_paused=paused,
                    concurrency_limit=concurrency_limit,
                    base_job_template=ProcessWorker.get_default_base_job_template(),
                ),
                overwrite=True,
            )

    def set_pool_paused(self, name: str, paused: bool) -> None:
        """Pause a pool to create many runs first; resume it to let the workers take them."""
        from prefect.client.schemas.actions import WorkPoolUpdate

        with self.client() as client:
            client.update_work_pool(name, WorkPoolUpdate(is_paused=paused))

    def start_workers(
        self, pool: str, count: int = 1, *, limit: int = 5, nice: int = 10,
        env: Mapping[str, str] | None = None,
    ) -> list[WorkerProcess]:
        """Start `count` process workers on `pool` (each runs at most `limit` flow runs at once).

        Each worker is its own process group under `nice`, so teardown ends it and the flow-run
        processes it started by PID. Returns the new handles (also kept for teardown).
        """
        started = []
        for _ in range(count):
            name = f"{pool}-worker-{len(self.workers) + 1}"
            log_path = self.home / f"{name}.log"
            command = [sys.executable, "-m", "prefect", "worker", "start", "--pool", pool,
                       "--type", "process", "--name", name, "--limit", str(limit)]
            if nice and shutil.which("nice"):
                command = ["nice", "-n", str(nice), *command]  # nice execs: same PID
            with open(log_path, "ab") as log:
                process = subprocess.Popen(
                    command, env={**self.env, **(env or {})}, stdout=log,
                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
                    cwd=self.home,
                )
            worker = WorkerProcess(pool=pool, name=name, process=process, log_path=log_path)
            self.workers.append(worker)
            started.append(worker)
        return started

    def job_variables(self, extra_env: Mapping[str, str] | None = None) -> dict[str, Any]:
        """Process-pool job variables that keep SQLite healthy with many flow runs (module doc)."""
        return {
            "command": f"{sys.executable} -m prefect.engine",
            "env": {"PREFECT_LOGGING_TO_API_ENABLED": "false", **(extra_env or {})},
        }

    def deploy(
        self, entrypoint: str, *, name: str, pool: str,
        parameters: Mapping[str, Any] | None = None, job_variables: Mapping[str, Any] | None = None,
        source: str | os.PathLike[str] | None = None,
    ) -> str:
        """Deploy `path/to/file.py:flow_function` to `pool`; returns the deployment id.

        Uses `flow.from_source(...).deploy(...)` with the file's folder as the source (the worker
        runs it in place). `job_variables` are merged over `job_variables()`.
        """
        from prefect import flow as prefect_flow

        path_part, _, function = entrypoint.rpartition(":")
        file = Path(path_part).resolve()
        folder = Path(source).resolve() if source is not None else file.parent
        relative = file.relative_to(folder)
        merged = {**self.job_variables(), **dict(job_variables or {})}
        with self.settings():
            # from_source is sync-compatible: called from sync code it returns the Flow itself
            loaded = cast(
                "Flow[..., Any]",
                prefect_flow.from_source(source=str(folder), entrypoint=f"{relative}:{function}"),
            )
            deployment_id = loaded.deploy(
                name=name, work_pool_name=pool, parameters=dict(parameters or {}),
                job_variables=merged, print_next_steps=False, build=False, push=False,
                ignore_warnings=True,
            )
        return str(deployment_id)

    def run_deployment(
        self, deployment_id: str, *, parameters: Mapping[str, Any] | None = None,
        tags: Sequence[str] = (),
    ) -> Any:
        """Create a flow run of the deployment and return it at once (no waiting).

        One API call (`create_flow_run_from_deployment`), where `prefect.deployments.
        run_deployment` makes several: creating 60 runs took ~3 s each with it on 2 busy cores.
        """
        with self.client() as client:
            return client.create_flow_run_from_deployment(
                UUID(str(deployment_id)), parameters=dict(parameters or {}), tags=list(tags),
            )

    def read_flow_run(self, flow_run_id: Any) -> Any:
        with self.client() as client:
            return client.read_flow_run(flow_run_id)

    def wait_for_flow_runs(
        self, flow_run_ids: Sequence[Any], *, timeout: float = 300, poll: float = 1.0,
        until: Any = None, resubmit_failed_submissions: bool = True,
    ) -> list[Any]:
        """Poll until every flow run is final (or `until(flow_run)` holds); returns them.

        A flow run the worker could not submit (`Crashed` with "Failed to submit flow run",
        e.g. a `503 database is locked` from a busy SQLite server), or one left `Pending` for
        `STUCK_PENDING_S` with no process (seen on a machine with a load average of 14), never
        started, so it is scheduled again (`resubmit_failed_submissions`); `self.resubmitted`
        counts them.
        Raises `TimeoutError` with each run's state when `timeout` passes first.
        """
        from prefect.states import Scheduled

        done = until or (lambda run: run.state is not None and run.state.is_final())
        deadline = time.monotonic() + timeout
        pending_since: dict[Any, float] = {}
        with self.client() as client:
            while True:
                runs = [client.read_flow_run(run_id) for run_id in flow_run_ids]
                for run in runs:
                    if resubmit_failed_submissions and (
                        _never_started(run) or _stuck_pending(run, pending_since)
                    ):
                        client.set_flow_run_state(run.id, Scheduled(), force=True)
                        self.resubmitted += 1
                        run.state = None
                if all(run.state is not None and done(run) for run in runs):
                    return runs
                if time.monotonic() > deadline:
                    states = {str(r.id): (r.state.name if r.state else None) for r in runs}
                    raise TimeoutError(f"flow runs not done after {timeout:.0f}s: {states}")
                time.sleep(poll)

    # -- teardown ----------------------------------------------------------------------------
    def stop_workers(self) -> None:
        for worker in self.workers:
            worker.stop()
        self.workers.clear()

    def stop(self) -> None:
        """End every worker, then the server (its process group), by PID."""
        self.stop_workers()
        _end_group(self.process, signal.SIGTERM, grace=15)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    # -- the API as a fault (the single-process server of `start_prefect_server`) ------------
    def stop_api(self) -> None:
        """Take the API away as a crash does: SIGKILL to the server's process group, by PID.

        Requests in flight are cut; workers, the SQLite database and `PREFECT_HOME` stay, and
        `start_api()` brings the same server back on the same port.
        """
        _end_group(self.process, signal.SIGKILL, grace=0)

    def start_api(self, *, timeout: float = SERVER_START_TIMEOUT) -> None:
        """Start the stopped server again on the same port with the same database and home,
        and wait for `/api/health` (the port was freed by `stop_api`)."""
        if self.process.poll() is None:
            raise RuntimeError("the Prefect API is still running: stop_api() first")
        self.process = _launch_api(self.env, self.home, self.log_path)
        _wait_healthy(self, timeout)


def _never_started(flow_run: Any) -> bool:
    state = flow_run.state
    return (state is not None and state.is_crashed()
            and "Failed to submit flow run" in (state.message or ""))


STUCK_PENDING_S = 180.0
"""A flow run `Pending` this long with no process running it was lost at submission."""


def _stuck_pending(flow_run: Any, pending_since: dict[Any, float]) -> bool:
    state = flow_run.state
    if state is None or state.type.value != "PENDING" or flow_run_pids(flow_run.id):
        pending_since.pop(flow_run.id, None)
        return False
    first = pending_since.setdefault(flow_run.id, time.monotonic())
    if time.monotonic() - first < STUCK_PENDING_S:
        return False
    pending_since.pop(flow_run.id, None)
    return True


def flow_run_pids(flow_run_id: Any = None) -> list[int]:
    """PIDs of processes running a Prefect flow run (any, or the given one), from /proc.

    A flow-run process carries `PREFECT__FLOW_RUN_ID` in its environment (after the worker's
    supervisor execs `python -m prefect.engine`). Linux only; elsewhere returns [].
    """
    wanted = None if flow_run_id is None else str(flow_run_id).encode()
    pids: list[int] = []
    proc = Path("/proc")
    if not proc.is_dir():
        return pids
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        for item in environ.split(b"\0"):
            if item.startswith(b"PREFECT__FLOW_RUN_ID="):
                value = item.split(b"=", 1)[1]
                if wanted is None or value == wanted:
                    pids.append(int(entry.name))
                break
    return sorted(pids)


def wait_for_no_flow_run_process(flow_run_id: Any = None, timeout: float = 30.0) -> list[int]:
    """Wait until no process runs the flow run (it exits shortly after its final state).

    Returns the PIDs still running it when `timeout` passed ([] when none are left).
    """
    deadline = time.monotonic() + timeout
    while True:
        pids = flow_run_pids(flow_run_id)
        if not pids or time.monotonic() > deadline:
            return pids
        time.sleep(0.2)


def server_environment(home: Path, port: int, host: str = "127.0.0.1") -> dict[str, str]:
    """Environment of the server, its workers and their flow runs (and of any subprocess)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    api_url = f"http://{host}:{port}/api"
    env.update({
        "PREFECT_HOME": str(home),
        "PREFECT_API_URL": api_url,
        "PREFECT_UI_API_URL": api_url,
        "PREFECT_UI_URL": f"http://{host}:{port}",
        "PREFECT_SERVER_API_HOST": host,
        "PREFECT_SERVER_API_PORT": str(port),
        "PREFECT_API_DATABASE_CONNECTION_URL": f"sqlite+aiosqlite:///{home / 'prefect.db'}",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS": "5",
        "PREFECT_WORKER_QUERY_SECONDS": str(WORKER_QUERY_SECONDS),
        "PREFECT_WORKER_PREFETCH_SECONDS": "2",
        "PREFECT_API_SERVICES_LATE_RUNS_ENABLED": "false",
        "PREFECT_UI_ENABLED": "true",
        # results of deployed flow runs are read back by tests (`state.result()`)
        "PREFECT_RESULTS_PERSIST_BY_DEFAULT": "true",
        "PREFECT_RESULTS_LOCAL_STORAGE_PATH": str(home / "storage"),
        "PYTHONPYCACHEPREFIX": str(home / "pycache"),
        # a busy SQLite server answers 503 now and then: clients retry longer than by default
        "PREFECT_CLIENT_MAX_RETRIES": "10",
        "PYTHONUNBUFFERED": "1",
    })
    return env


def _launch_api(env: Mapping[str, str], home: Path, log_path: Path) -> subprocess.Popen[Any]:
    """`prefect server start` on the loopback port of `env` (its own process group)."""
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1",
             "--port", env["PREFECT_SERVER_API_PORT"]],
            env=dict(env), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True, cwd=home,
        )


def _wait_healthy(server: PrefectServer, timeout: float) -> None:
    """Wait until the server answers `/api/health`; stop it and raise if it dies or is late."""
    import httpx

    deadline = time.monotonic() + timeout
    while True:
        if server.process.poll() is not None:
            raise RuntimeError(f"prefect server exited with {server.process.returncode}:\n"
                               f"{server.log()[-3000:]}")
        try:
            if httpx.get(f"{server.api_url}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            server.stop()
            raise TimeoutError(f"prefect server not healthy after {timeout:.0f}s:\n{server.log()[-3000:]}")
        time.sleep(0.5)


def start_prefect_server(home: Path | None = None, *, timeout: float = SERVER_START_TIMEOUT) -> PrefectServer:
    """Start `prefect server start` on a free loopback port and wait for `/api/health`."""
    home = Path(home or tempfile.mkdtemp(prefix="prefect-server-"))
    home.mkdir(parents=True, exist_ok=True)
    env = server_environment(home, free_port())
    log_path = home / "server.log"
    server = PrefectServer(
        api_url=env["PREFECT_API_URL"], ui_url=env["PREFECT_UI_URL"], env=env, home=home,
        process=_launch_api(env, home, log_path), log_path=log_path,
    )
    _wait_healthy(server, timeout)
    return server


@contextlib.contextmanager
def temporary_prefect_server(*, scaled: bool = False, prefix: str = "prefect-server-") -> Iterator[PrefectServer]:
    """A Prefect server (or, with `scaled`, the scaled stack) in a folder of its own, ended by PID
    and removed on exit.

    The folder is not one of pytest's numbered ones: other sessions prune those while it runs.
    """
    home = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        if scaled:
            from prefect_imbrace.testing_stack import start_scaled_prefect_stack

            server: PrefectServer = start_scaled_prefect_stack(home)
        else:
            server = start_prefect_server(home)
        try:
            yield server
        finally:
            server.stop()
    finally:
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="session")
def prefect_server(request: pytest.FixtureRequest) -> Iterator[PrefectServer]:
    """One real Prefect server (SQLite, free loopback port) for the whole test session.

    Tests make their own work pools (`create_pool`) and workers (`start_workers`); workers a
    test starts run until the session ends unless the test stops them (`worker.stop()` or
    `prefect_server.stop_workers()`). Everything is ended by PID at teardown.

    Parametrized indirectly with `"scaled"` it is the scaled stack instead (PostgreSQL, Redis,
    two API workers and a services process: `prefect_imbrace.testing_stack`);
    `testing_stack.on_both_stacks` runs a test on each, SQLite first.
    """
    with temporary_prefect_server(scaled=getattr(request, "param", None) == "scaled") as server:
        yield server

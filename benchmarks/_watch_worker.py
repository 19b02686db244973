"""One side of a watch benchmark, in a fresh process: trigger N runs and wait for all of them.

Run by bench_watch.py as `python -m benchmarks._watch_worker --side SIDE ...`; prints one JSON
line. A fresh process per trial isolates memory figures (peak RSS over the post-import
baseline; tracemalloc peak when `--trace`) and leaves no threads behind for the next side.

Sides (each triggers N runs of the same kind of flow, a fresh flow per trial):

* `client`: our `AsyncImbraceClient`: N concurrent `trigger_flow`, then every tick ONE
  paginated `list_runs(flow_id, created_after)` (100 per page) until N runs are terminal.
* `sdk`: the official `imbrace` SDK (sync client, as documented): N `trigger_flow` on a
  thread pool; the SDK has no way to find the runs, so it is handed the run ids by listing
  the flow's runs once after triggering (most favourable honest setup); then every tick one
  `get_run` per unfinished run, on the thread pool.
* `layer`: the Prefect layer's `atrigger_and_wait` (shared poller, correlation by key), N
  concurrent calls, outside any Prefect flow.
* `prefect`: N `trigger_flow_and_wait` task runs in ONE async Prefect flow under
  `prefect_test_harness()` (a real temporary Prefect API).
* `prefect_many`: ONE `trigger_many_and_wait` task run for the N payloads, in one Prefect flow
  (the fan-out the docs recommend).
* `prefect_floor`: N Prefect task runs that only sleep as long as a run lasts (`--floor-sleep`),
  in one flow: what N task runs cost Prefect whatever they do (the floor under `prefect`).
* `prefect_hand`: N Prefect task runs in one flow, each calling `trigger_flow_sync` on ONE
  shared bare `AsyncImbraceClient` (its pool holds all N): the sync webhook answers with the
  Imbrace flow's reply (`--flow` must end in Return Response). What a user writes without this
  package for flows that answer: no exactly-once, no artifacts, no record.

The Prefect sides run under `prefect_test_harness()`, or against the server at
`--prefect-api-url` (the scaled stack, any server); `--server-pids` names that server's
processes so its CPU is measured (a harness server is this process's child).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import sys
import time
import tracemalloc
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

TERMINAL = {"SUCCEEDED", "FAILED", "TIMEOUT", "INTERNAL_ERROR", "QUOTA_EXCEEDED", "MEMORY_LIMIT_EXCEEDED",
            "CANCELED", "CANCELLED", "STOPPED"}
MAX_WAIT_S = 600.0


def _rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _peak_rss_kb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


SERVER_PIDS: list[int] = []
"""The Prefect server's processes when it is not this process's child (`--server-pids`)."""


def _read(path: Path) -> str:
    """A /proc file's text, or "" when it went away meanwhile (a thread that ended between the
    listing of /proc/self/task and the read: seen with the SDK side's thread pool)."""
    try:
        return path.read_text()
    except OSError:
        return ""


def _children_cpu_s() -> float:
    """CPU seconds used so far by the Prefect server: this process's live children (the test
    harness's server), or the processes of `--server-pids`."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    pids = [str(pid) for pid in SERVER_PIDS] or [
        pid for children in Path("/proc/self/task").glob("*/children") for pid in _read(children).split()]
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # utime + stime, and cutime + cstime: children it reaped (PostgreSQL's backends)
        total += sum(int(value) for value in fields[11:15]) / tick
    return total


class Profiled:
    """Where the timed part spent its time: CPU of this process and its children, and a
    cProfile of the main thread (the event loop) grouped by package, plus its top functions."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.profile: Any = None

    def __enter__(self) -> Profiled:
        self.cpu0, self.child0, self.wall0 = time.process_time(), _children_cpu_s(), time.perf_counter()
        if self.enabled:
            import cProfile

            self.profile = cProfile.Profile()
            self.profile.enable()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.profile is not None:
            self.profile.disable()
        self.wall = time.perf_counter() - self.wall0
        self.cpu = time.process_time() - self.cpu0
        self.child_cpu = _children_cpu_s() - self.child0

    def report(self) -> dict[str, Any]:
        out: dict[str, Any] = {"process_cpu_s": round(self.cpu, 3), "children_cpu_s": round(self.child_cpu, 3)}
        if self.profile is None:
            return out
        import pstats

        stats = pstats.Stats(self.profile)
        by_package: dict[str, float] = {}
        rows = []
        for (filename, line, func), (_cc, _nc, tottime, cumtime, _callers) in stats.stats.items():  # type: ignore[attr-defined]
            package = _package(filename)
            by_package[package] = by_package.get(package, 0.0) + tottime
            rows.append((cumtime, tottime, f"{_short(filename)}:{line}({func})"))
        rows.sort(reverse=True)
        out["main_thread_tottime_by_package_s"] = {
            k: round(v, 3) for k, v in sorted(by_package.items(), key=lambda kv: -kv[1])[:12]}
        out["main_thread_top_cumulative"] = [f"{cum:8.3f}s cum {tot:7.3f}s own  {name}" for cum, tot, name in rows[:30]]
        return out


def _package(filename: str) -> str:
    if "site-packages/" in filename:
        return filename.split("site-packages/", 1)[1].split("/", 1)[0]
    if "prefect_imbrace" in filename:
        return "prefect_imbrace"
    if filename.startswith("<") or filename == "~":
        return "builtins"
    return "stdlib"


def _short(filename: str) -> str:
    for marker in ("site-packages/", "/work/main/", "/lib/python3."):
        if marker in filename:
            return filename.split(marker, 1)[1]
    return filename


async def side_client(a: argparse.Namespace) -> dict[str, Any]:
    from prefect_imbrace.client import AsyncImbraceClient

    ticks = 0
    async with AsyncImbraceClient(gateway=a.url, api_key=a.key) as client:
        wf = client.workflows
        since = datetime.now(timezone.utc) - timedelta(seconds=1)
        # In-flight triggers are bounded by the pool size: 500 requests queued on one httpx
        # pool at once cost ~6x more (httpcore's pool queue), see docs/benchmarks.md.
        gate = asyncio.Semaphore(a.concurrency)

        async def trigger(i: int) -> None:
            async with gate:
                await wf.trigger_flow(flow_id=a.flow, payload={"i": i})

        started = time.perf_counter()
        await asyncio.gather(*(trigger(i) for i in range(a.n)))
        trigger_s = time.perf_counter() - started
        deadline = time.monotonic() + MAX_WAIT_S
        while time.monotonic() < deadline:
            ticks += 1
            statuses: dict[str, str] = {}
            cursor = None
            for _ in range(1000):
                page = await wf.list_runs(flow_id=a.flow, created_after=since, limit=100, cursor=cursor)
                statuses.update((run.id, run.status) for run in page.data)
                cursor = page.next
                if not cursor:
                    break
            if len(statuses) >= a.n and all(s in TERMINAL for s in statuses.values()):
                break
            await asyncio.sleep(a.tick)
    return {"ticks": ticks, "succeeded": sum(s == "SUCCEEDED" for s in statuses.values()), "trigger_s": trigger_s}


def side_sdk(a: argparse.Namespace) -> dict[str, Any]:
    from imbrace import ImbraceClient

    ticks = 0
    client = ImbraceClient(gateway=a.url, api_key=a.key)
    wf = client.workflows
    with ThreadPoolExecutor(max_workers=a.threads) as pool:
        started = time.perf_counter()
        list(pool.map(lambda i: wf.trigger_flow(flow_id=a.flow, payload={"i": i}), range(a.n)))
        trigger_s = time.perf_counter() - started
        ids: set[str] = set()
        deadline = time.monotonic() + MAX_WAIT_S
        while len(ids) < a.n and time.monotonic() < deadline:
            cursor = None
            for _ in range(1000):
                page = wf.list_runs(limit=100, cursor=cursor, flow_id=a.flow)
                ids.update(run["id"] for run in page["data"])
                cursor = page.get("next")
                if not cursor:
                    break
        pending = set(ids)
        succeeded = 0
        while pending and time.monotonic() < deadline:
            ticks += 1
            for run in pool.map(wf.get_run, list(pending)):
                if run["status"] in TERMINAL:
                    pending.discard(run["id"])
                    succeeded += run["status"] == "SUCCEEDED"
            if pending:
                time.sleep(a.tick)
    client.close()
    return {"ticks": ticks, "succeeded": succeeded, "listed": len(ids), "trigger_s": trigger_s}


def _creds(a: argparse.Namespace) -> Any:
    from prefect_imbrace.credentials import ImbraceCredentials

    return ImbraceCredentials(api_key=a.key, gateway=a.url)


async def side_layer(a: argparse.Namespace) -> dict[str, Any]:
    from prefect_imbrace.exactly_once.options import WaitOptions
    from prefect_imbrace.exactly_once.poller import get_poller
    from prefect_imbrace.exactly_once.waits import atrigger_and_wait

    creds = _creds(a)
    options = WaitOptions(timeout=a.wait_timeout)
    results = await asyncio.gather(
        *(atrigger_and_wait(creds, a.flow, {"i": i}, observe=False, max_concurrent=a.n, options=options)
          for i in range(a.n)),
        return_exceptions=True,
    )
    stats = dict(get_poller().stats)
    errors = [repr(r) for r in results if isinstance(r, BaseException)][:3]
    return {"succeeded": sum(getattr(r, "status", None) == "SUCCEEDED" for r in results),
            "poller": stats, "errors": errors}


def _prefect_api(a: argparse.Namespace) -> Any:
    """The Prefect API of the trial: a temporary harness, or the server at --prefect-api-url."""
    if not a.prefect_api_url:
        from prefect.testing.utilities import prefect_test_harness

        return prefect_test_harness(server_startup_timeout=120)
    from prefect.settings import PREFECT_API_URL, temporary_settings

    return temporary_settings(updates={PREFECT_API_URL: a.prefect_api_url})


def run_prefect(a: argparse.Namespace) -> dict[str, Any]:
    """Harness startup happens before the clock starts; only the flow run is timed."""
    from prefect import flow, task

    from prefect_imbrace.client import AsyncImbraceClient, SyncOutcome
    from prefect_imbrace.exactly_once.poller import get_poller
    from prefect_imbrace.tasks import atrigger_flow_and_wait, atrigger_many_and_wait

    creds = _creds(a)
    if a.side == "prefect_memrec":  # the cost of the durable record: keep records in memory
        from prefect_imbrace.exactly_once import durable

        durable._prefect_api_available = lambda: False

    @task(name="sleep-like-a-run")
    async def sleeper(i: int, seconds: float) -> str:
        await asyncio.sleep(seconds)
        return "SUCCEEDED"

    @task(name="trigger-sync-by-hand")
    async def by_hand(client: Any, i: int) -> str:
        reply = await client.workflows.trigger_flow_sync(flow_id=a.flow, payload={"i": i})
        return "SUCCEEDED" if reply.outcome is SyncOutcome.REPLIED else reply.outcome.value

    async def calls(n: int) -> list[Any]:
        if a.side == "prefect_hand":  # one shared bare client whose pool holds every call
            async with AsyncImbraceClient(gateway=a.url, api_key=a.key, max_connections=n) as client:
                return await asyncio.gather(*(by_hand(client, i) for i in range(n)),
                                            return_exceptions=True)
        if a.side == "prefect_many":
            return await atrigger_many_and_wait(
                creds, a.flow, [{"i": i} for i in range(n)], max_concurrent=n,
                timeout=a.wait_timeout, return_exceptions=True,
            )
        if a.side == "prefect_floor":
            return await asyncio.gather(*(sleeper(i, a.floor_sleep) for i in range(n)))
        return await asyncio.gather(
            *(atrigger_flow_and_wait(creds, a.flow, {"i": i}, timeout=a.wait_timeout) for i in range(n)),
            return_exceptions=True,
        )

    @flow(name="imbrace-fanout-bench")
    async def fanout(n: int) -> list[str]:
        results = await calls(n)
        return [r if isinstance(r, str) else repr(r) if isinstance(r, BaseException) else r.status
                for r in results]

    @flow(name="imbrace-fanout-bench-warm-up")
    async def warm_up() -> None:
        await sleeper.with_options(name="warm-up")(0, 0.0)

    async def record_variables() -> int:
        """Trigger-record Variables of this trial's Imbrace flow left on the Prefect API (issue
        21: only runs that outlived `record_after` may leave one)."""
        from prefect.client.orchestration import get_client

        from prefect_imbrace.prefect_api import PAGE, read_variables

        found = 0
        async with get_client() as client:
            while True:
                page = await read_variables(client, {"name": {"like_": a.flow.lower()}}, offset=found)
                found += len(page)
                if len(page) < PAGE:
                    return found

    with _prefect_api(a):
        # One-off costs of a process's first flow and task run (Prefect imports its flow and
        # task engines then, ~0.6 s) are paid before the clock starts, like the transports'.
        asyncio.run(warm_up())
        base_rss = _rss_kb()
        t0_epoch = time.time()
        with Profiled(a.profile) as profiled:
            statuses = asyncio.run(fanout(a.n))
        out = {"wall_s": profiled.wall, "t0_epoch": t0_epoch, "succeeded": sum(s == "SUCCEEDED" for s in statuses),
               "errors": [s for s in statuses if s != "SUCCEEDED"][:3], "poller": dict(get_poller().stats),
               "rss_base_kb": base_rss, "rss_peak_kb": _peak_rss_kb(), **profiled.report()}
        out["record_variables"] = asyncio.run(record_variables())
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--side", required=True,
                        choices=["client", "sdk", "layer", "prefect", "prefect_memrec", "prefect_many",
                                 "prefect_floor", "prefect_hand"])
    parser.add_argument("--url", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--flow", required=True)
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--tick", type=float, default=0.5)
    parser.add_argument("--threads", type=int, default=10, help="SDK thread pool (= its connection pool)")
    parser.add_argument("--concurrency", type=int, default=100, help="client: in-flight triggers (= pool)")
    parser.add_argument("--wait-timeout", type=float, default=120.0, help="per-run wait limit (layer, prefect)")
    parser.add_argument("--floor-sleep", type=float, default=1.0, help="prefect_floor: seconds per task")
    parser.add_argument("--trace", action="store_true", help="tracemalloc (slower; memory trials only)")
    parser.add_argument("--profile", action="store_true", help="cProfile the main thread (profile trials only)")
    parser.add_argument("--prefect-api-url", default="", help="Prefect sides: this server, not a test harness")
    parser.add_argument("--server-pids", default="", help="comma list: that server's processes (its CPU)")
    a = parser.parse_args()
    SERVER_PIDS.extend(int(pid) for pid in a.server_pids.split(",") if pid)
    # The Prefect layer's in-process trigger limit (default 16) would serialise the fan-out; the
    # baselines fire all N at once, so the layer gets the same freedom.
    os.environ["PREFECT_INTEGRATIONS_IMBRACE_TRIGGER_CONCURRENCY"] = str(a.n)
    # Loopback only: the temporary Prefect server must not try to send telemetry.
    os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
    if a.side.startswith("prefect"):
        out = run_prefect(a)
    else:
        # import everything the side needs before the baseline RSS is taken
        import httpx
        import imbrace  # noqa: F401

        import prefect_imbrace.client  # noqa: F401
        if a.side == "layer":
            import prefect_imbrace.exactly_once.handle  # noqa: F401
        # One-off costs of the transport are paid before measuring, so the peak is the watch's:
        # the first httpx client of a process loads the CA bundle (~16 MB allocation peak) and
        # the first async request imports httpcore/anyio's async machinery (~7 MB peak).
        with httpx.Client() as http:
            http.get(a.url + "/_local/warm-up")  # /_local is not counted by the engine

        async def warm() -> None:
            async with httpx.AsyncClient() as http:
                await http.get(a.url + "/_local/warm-up")  # /_local is not counted by the engine

        asyncio.run(warm())
        base_rss = _rss_kb()
        if a.trace:
            tracemalloc.start()
        t0_epoch = time.time()
        with Profiled(a.profile) as profiled:
            if a.side == "client":
                out = asyncio.run(side_client(a))
            elif a.side == "layer":
                out = asyncio.run(side_layer(a))
            else:
                out = side_sdk(a)
        out.update(wall_s=profiled.wall, t0_epoch=t0_epoch, **profiled.report())
        if a.trace:
            out["tracemalloc_peak_kb"] = tracemalloc.get_traced_memory()[1] // 1024
            tracemalloc.stop()
        out["rss_base_kb"] = base_rss
        out["rss_peak_kb"] = _peak_rss_kb()
    out["side"] = a.side
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    sys.exit(main())

"""One trial of the steps benchmark, in a fresh process: a wait or a fan-out, steps on or off.

Run by bench_steps.py as `python -m benchmarks._steps_worker --case CASE --show SHOW ...`;
prints one JSON line. Under `prefect_test_harness()` (a real temporary Prefect API), one Prefect
flow runs `trigger_flow_and_wait` on the given Imbrace flow `--n` times one after another
(`--case wait`), `--n` such task runs gathered at once (`--case tasks`, the `[tasks]` side of
`prefect_fanout_500`), or one `trigger_many_and_wait` over `--n` payloads (`--case fan_out`),
with `show_steps=--show` (`default`: the settings' choice). `--case observe` starts `--n` runs
outside Prefect first (not timed), then times one `observe_imbrace_runs` pass over them, with
`reflect_runs=True` unless `--show none`. Besides the wall time it counts what
the process wrote to Prefect while the flow ran (load-independent): HTTP requests to the
Prefect API by method and route, events sent over the events websocket (and those that are
step task runs), and logs queued for the API (and those of step task runs).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import sys
import time
from collections import Counter
from typing import Any

_ID = re.compile(r"/[0-9a-f]{8}-[0-9a-f-]{27,}")


class Counts:
    """Counters patched into Prefect's HTTP clients, events client and log worker."""

    def __init__(self) -> None:
        self.http: Counter[str] = Counter()
        self.events: Counter[str] = Counter()
        self.logs: Counter[str] = Counter()
        self.on = False

    def install(self) -> None:
        from prefect.client.base import PrefectHttpxAsyncClient, PrefectHttpxSyncClient
        from prefect.events.clients import PrefectEventsClient
        from prefect.logging.handlers import APILogWorker

        counts = self
        send, emit, queue = PrefectHttpxAsyncClient.send, PrefectEventsClient._emit, APILogWorker.send
        sync_send = PrefectHttpxSyncClient.send

        def count(request: Any) -> None:
            if counts.on:
                counts.http[f"{request.method} {_ID.sub('/{id}', request.url.path)}"] += 1

        async def counted_send(client: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
            count(request)
            return await send(client, request, *args, **kwargs)

        def counted_sync_send(client: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
            count(request)  # sync flows (the observer) talk to Prefect through the sync client
            return sync_send(client, request, *args, **kwargs)

        async def counted_emit(client: Any, event: Any) -> None:
            if counts.on:
                step = any(r.role == "imbrace-run" for r in event.related)
                counts.events["step task run" if step else event.event.rsplit(".", 1)[0]] += 1
            await emit(client, event)

        def counted_queue(worker: Any, item: Any) -> None:
            if counts.on:
                text = item if isinstance(item, (bytes, str)) else json.dumps(item, default=str)
                counts.logs["step task run" if "prefect_imbrace.steps" in str(text) else "other"] += 1
            queue(worker, item)

        PrefectHttpxAsyncClient.send = counted_send  # type: ignore[method-assign]
        PrefectHttpxSyncClient.send = counted_sync_send  # type: ignore[method-assign]
        PrefectEventsClient._emit = counted_emit  # type: ignore[method-assign]
        APILogWorker.send = counted_queue  # type: ignore[method-assign]

    def report(self) -> dict[str, Any]:
        writes = {k: v for k, v in self.http.items() if not k.startswith("GET ") and "/filter" not in k}
        return {"http": dict(self.http), "http_writes": sum(writes.values()), "events": dict(self.events),
                "logs": dict(self.logs)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--case", required=True, choices=["wait", "tasks", "fan_out", "observe"])
    parser.add_argument("--show", required=True, choices=["all", "failed", "none", "default"])
    parser.add_argument("--url", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--flow", required=True)
    parser.add_argument("--n", type=int, default=1)
    parser.add_argument("--wait-timeout", type=float, default=300.0)
    a = parser.parse_args()
    os.environ["PREFECT_INTEGRATIONS_IMBRACE_TRIGGER_CONCURRENCY"] = str(max(a.n, 16))
    os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"

    from prefect import flow
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker
    from prefect.testing.utilities import prefect_test_harness

    from prefect_imbrace import tasks as t
    from prefect_imbrace.credentials import ImbraceCredentials

    creds = ImbraceCredentials(api_key=a.key, gateway=a.url, timeout=30)
    show = None if a.show == "default" else a.show
    counts = Counts()
    counts.install()

    @flow(name="imbrace-steps-bench")
    async def bench() -> list[str]:
        if a.case == "fan_out":
            results = await t.atrigger_many_and_wait(creds, a.flow, [{"i": i} for i in range(a.n)],
                                                     timeout=a.wait_timeout, return_exceptions=True,
                                                     show_steps=show)
        elif a.case == "tasks":
            results = await asyncio.gather(*(
                t.atrigger_flow_and_wait(creds, a.flow, {"i": i}, timeout=a.wait_timeout, show_steps=show)
                for i in range(a.n)), return_exceptions=True)
        else:
            results = [await t.atrigger_flow_and_wait(creds, a.flow, {"i": i}, timeout=a.wait_timeout,
                                                      show_steps=show) for i in range(a.n)]
        return [getattr(r, "status", repr(r)) for r in results]

    @flow(name="imbrace-steps-bench-warm-up")
    async def warm_up() -> None:
        await t.atrigger_flow_and_wait(creds, a.flow, {"warm": True}, show_steps="none")

    def observe() -> tuple[list[str], float]:
        """`--n` runs started outside Prefect (untimed), then one observer pass (timed from the
        returned start)."""
        from prefect_imbrace.flows import observe_imbrace_runs

        began = time.time()
        with creds.get_client() as client:
            before = {run.id for run in client.workflows.iter_runs(flow_id=a.flow)}
            for i in range(a.n):
                client.workflows.trigger_flow(flow_id=a.flow, payload={"i": i})
            while True:
                new = [r for r in client.workflows.iter_runs(flow_id=a.flow) if r.id not in before]
                if len(new) == a.n and all(r.is_terminal for r in new):
                    break
                time.sleep(0.5)
        counts.on = True
        started = time.perf_counter()
        observe_imbrace_runs(creds, flow_ids=[a.flow], variable_name=f"steps-bench-{os.getpid()}",
                             lookback_minutes=(time.time() - began + 5) / 60,
                             reflect_runs=a.show != "none")
        return [r.status for r in new], started

    with prefect_test_harness(server_startup_timeout=120):
        asyncio.run(warm_up())  # the first flow and task run of a process import Prefect's engines
        if a.case == "observe":
            statuses, started = observe()
        else:
            counts.on = True
            started = time.perf_counter()
            statuses = asyncio.run(bench())
        wall = time.perf_counter() - started
        APILogWorker.drain_all(timeout=60)  # what the run queued reaches the server (counted)
        EventsWorker.drain_all(timeout=60)
        counts.on = False
    out = {"case": a.case, "show": a.show, "n": a.n, "wall_s": wall,
           "succeeded": sum(s == "SUCCEEDED" for s in statuses), **counts.report()}
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    sys.exit(main())

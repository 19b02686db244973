"""local_engine: Imbrace Local's own speed (one uvicorn worker in its own process).

* GETs per second: `GET /v1/flows/{id}` (auth, tenancy, store read, JSON) driven by a raw
  asyncio HTTP/1.1 keep-alive load generator in this process (16 connections), so the client
  is not the bottleneck; both processes' CPU use is recorded to show which side saturates.
* webhook -> SUCCEEDED: a 3-step flow (webhook, 3 data-mapper steps) triggered through the
  async webhook one at a time; latency = the run's `finishTime` (engine clock) minus the wall
  clock just before the POST was sent (same host, same clock; ms resolution). The goal is on
  Local's own execution (`--queue-delay 0`); with the default queue delay (a run stays QUEUED
  0.1 s, as on the engine) it is reported as `[queued as the engine]`.
* sync trigger: `POST /v1/webhooks/{id}/sync` of an echo flow, p50 and p99 round trip.
* startup: from spawning `imbrace-local --port 0` to its "ready" line (and to the first
  answered request).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
from datetime import datetime
from typing import Any

import httpx

from ._common import (
    ROOT,
    LocalProcess,
    Metric,
    echo_flow,
    local_command,
    mapper_flow,
    median,
    percentile,
)

GET_GOAL = 1000.0
LATENCY_GOAL_MS = 20.0
STARTUP_GOAL_S = 1.5
CONNECTIONS = 16


def _cpu_s(pid: int) -> float:
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _load(host: str, port: int, request: bytes, seconds: float) -> tuple[int, int]:
    """Raw keep-alive GETs from CONNECTIONS connections for `seconds`; (ok, errors)."""
    stop = time.perf_counter() + seconds
    ok = errors = 0

    async def worker() -> None:
        nonlocal ok, errors
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while time.perf_counter() < stop:
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line[:15].lower() == b"content-length:":
                        length = int(line[15:])
                await reader.readexactly(length)
                if head.startswith(b"HTTP/1.1 200"):
                    ok += 1
                else:
                    errors += 1
        finally:
            writer.close()

    await asyncio.gather(*(worker() for _ in range(CONNECTIONS)))
    return ok, errors


def _gets_per_second(engine: LocalProcess, flow_id: str, seconds: float) -> list[Metric]:
    host, port = "127.0.0.1", int(engine.url.rsplit(":", 1)[1])
    request = (f"GET /activepieces/v1/flows/{flow_id} HTTP/1.1\r\nHost: {host}:{port}\r\n"
               f"x-api-key: {engine.api_key}\r\naccept: application/json\r\n\r\n").encode()
    asyncio.run(_load(host, port, request, 0.5))  # warm-up
    assert engine.proc is not None
    server_cpu, client_cpu, start = _cpu_s(engine.proc.pid), time.process_time(), time.perf_counter()
    ok, errors = asyncio.run(_load(host, port, request, seconds))
    wall = time.perf_counter() - start
    server_util = (_cpu_s(engine.proc.pid) - server_cpu) / wall
    client_util = (time.process_time() - client_cpu) / wall
    rate = ok / wall
    per_cpu = ok / max(server_util * wall, 1e-9)
    return [Metric(name="local_engine_get_per_s", value=round(rate, 1), unit="requests/s",
                  goal=f">= {GET_GOAL:g}", met=rate >= GET_GOAL and errors == 0,
                  notes=(f"GET /v1/flows/{{id}}, one worker process, {CONNECTIONS} keep-alive connections "
                         f"from a raw asyncio load generator, {seconds:g}s"),
                  details={"requests": ok, "errors": errors, "server_cpu_util": round(server_util, 2),
                           "loadgen_cpu_util": round(client_util, 2)}),
            Metric(name="local_engine_get_per_cpu_s", value=round(per_cpu, 1), unit="requests/CPU-s",
                   goal="report", notes="same load; requests per CPU-second the server process used (less "
                   "sensitive to other load on a shared machine than the wall rate)")]


def _iso_s(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def _webhook_latency(engine: LocalProcess, n: int, name: str, goal: bool) -> list[Metric]:
    flow_id = mapper_flow(engine.url, engine.api_key, 3, name="Latency 3 steps")
    url = f"{engine.engine_url}/v1/webhooks/{flow_id}"
    headers = {"x-api-key": engine.api_key}
    sent: list[float] = []
    with httpx.Client(timeout=30) as http:
        for _ in range(10):  # warm-up runs; they are the first 10 and are dropped below
            http.post(url, json={"x": -1}, headers=headers).raise_for_status()
        time.sleep(0.3)
        for i in range(n):
            t = time.time()
            http.post(url, json={"x": i}, headers=headers).raise_for_status()
            sent.append(t)
            time.sleep(0.04)  # let the run end: runs are measured one at a time, not under load
        time.sleep(0.5)
        runs: list[dict[str, Any]] = []
        cursor = None
        for _ in range(100):
            page = http.get(f"{engine.engine_url}/v1/flow-runs", headers=headers,
                            params={"flowId": flow_id, "limit": 100, **({"cursor": cursor} if cursor else {})}).json()
            runs.extend(page["data"])
            cursor = page.get("next")
            if not cursor:
                break
    runs.sort(key=lambda r: r["created"])
    runs = runs[10:]  # the warm-up runs came first
    if len(runs) != n or any(r["status"] != "SUCCEEDED" for r in runs):
        statuses = sorted({r["status"] for r in runs})
        return [Metric(name=name, value=None, unit="ms", met=False,
                       goal=f"median <= {LATENCY_GOAL_MS:g}" if goal else "report", notes=f"expected {n} SUCCEEDED runs, got {len(runs)} {statuses}")]
    lat = [(_iso_s(r["finishTime"]) - t) * 1000 for r, t in zip(runs, sent, strict=True)]
    exec_ms = [(_iso_s(r["finishTime"]) - _iso_s(r["startTime"])) * 1000 for r in runs]
    med = median(lat)
    return [Metric(name=name, value=round(med, 2), unit="ms",
                   goal=f"median <= {LATENCY_GOAL_MS:g}" if goal else "report",
                   met=med <= LATENCY_GOAL_MS if goal else None,
                   notes=(f"{n} runs of webhook -> 3 data-mapper steps, one at a time; run finishTime minus "
                          "client clock before the async trigger POST (ms resolution)"),
                   details={"p90_ms": round(percentile(lat, 90), 2), "p99_ms": round(percentile(lat, 99), 2),
                            "median_execution_ms": round(median(exec_ms), 2)})]


def _sync_trigger(engine: LocalProcess, n: int) -> list[Metric]:
    flow_id = echo_flow(engine.url, engine.api_key, name="Sync echo")
    url = f"{engine.engine_url}/v1/webhooks/{flow_id}/sync"
    headers = {"x-api-key": engine.api_key}
    times: list[float] = []
    with httpx.Client(timeout=30) as http:
        for i in range(20):
            http.post(url, json={"x": i}, headers=headers).raise_for_status()
        for i in range(n):
            t = time.perf_counter()
            response = http.post(url, json={"x": i}, headers=headers)
            times.append((time.perf_counter() - t) * 1000)
            if response.json() != {"echo": {"x": i}}:
                raise RuntimeError(f"sync webhook answered {response.status_code} {response.text[:200]}")
    return [
        Metric(name="local_engine_sync_trigger_p50_ms", value=round(percentile(times, 50), 2), unit="ms",
               goal="report", notes=f"{n} sequential POST .../sync of an echo flow (Return Response), raw httpx"),
        Metric(name="local_engine_sync_trigger_p99_ms", value=round(percentile(times, 99), 2), unit="ms",
               goal="report", notes="same calls as p50"),
    ]


def _startup(repeats: int) -> Metric:
    ready: list[float] = []
    answered: list[float] = []
    for _ in range(repeats):
        start = time.perf_counter()
        proc = subprocess.Popen(local_command(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            ready.append(time.perf_counter() - start)
            gateway = line.split("gateway=", 1)[1].split()[0]
            httpx.get(gateway + "/activepieces/v1/flows", headers={"x-api-key": "x"}, timeout=10)
            answered.append(time.perf_counter() - start)
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    med = median(ready)
    return Metric(name="local_engine_startup_s", value=round(med, 3), unit="s", goal=f"median <= {STARTUP_GOAL_S:g}",
                  met=med <= STARTUP_GOAL_S,
                  notes=f"spawn of `imbrace-local --port 0` to its ready line, median of {repeats}",
                  details={"all_s": [round(x, 3) for x in ready], "to_first_answer_median_s": round(median(answered), 3)})


def run(quick: bool, *, smoke: bool = False) -> list[Metric]:
    """`smoke`: tiny sizes (tests/benchmarks: code paths only)."""
    seconds, runs, calls, starts = (0.3, 5, 5, 1) if smoke else (1.5, 25, 40, 1) if quick else (6.0, 200, 400, 5)
    metrics: list[Metric] = []
    with LocalProcess() as engine:
        flow_id = echo_flow(engine.url, engine.api_key, name="GET target")
        metrics += _gets_per_second(engine, flow_id, seconds)
        metrics += _webhook_latency(engine, runs, "local_engine_webhook_to_succeeded_ms[queued as the engine]",
                                    goal=False)
        metrics += _sync_trigger(engine, calls)
    # Local's own execution: runs start at once instead of waiting QUEUE_DELAY_S as on the engine
    with LocalProcess(("--queue-delay", "0")) as unqueued:
        metrics += _webhook_latency(unqueued, runs, "local_engine_webhook_to_succeeded_ms", goal=True)
    metrics.append(_startup(starts))
    return metrics

"""client_overhead_ratio: our typed client vs raw httpx, same server, same pooled request.

Both sides send the same request to the same Imbrace Local process over a warm keep-alive
pool (same `httpx.Limits`; async: the same transport, aiohttp under httpx). The raw side does
what a careful httpx user would: send, check
the status, decode JSON. Our side also builds the request (auth, request id), runs it through
the retry policy and validates the answer into a pydantic model. Sides alternate in rounds
(A B, then B A) to cancel drift; the figure is median(ours) / median(raw) per call.
"""

from __future__ import annotations

import asyncio
import cProfile
import gc
import io
import pstats
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from prefect_imbrace.client._aiohttp import ImbraceAiohttpTransport

from ._common import LocalProcess, Metric, delay_flow, median

GOAL = 1.10
LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20)


class Side:
    """Per-call wall times and the process CPU time spent by one side."""

    def __init__(self) -> None:
        self.wall: list[float] = []
        self.cpu = 0.0

    @property
    def cpu_per_call(self) -> float:
        return self.cpu / len(self.wall)


def _time_sync(fn: Callable[[], Any], n: int, side: Side | None = None) -> None:
    side = side or Side()
    c = time.process_time()
    for _ in range(n):
        t = time.perf_counter()
        fn()
        side.wall.append(time.perf_counter() - t)
    side.cpu += time.process_time() - c


async def _time_async(fn: Callable[[], Awaitable[Any]], n: int, side: Side | None = None) -> None:
    side = side or Side()
    c = time.process_time()
    for _ in range(n):
        t = time.perf_counter()
        await fn()
        side.wall.append(time.perf_counter() - t)
    side.cpu += time.process_time() - c


def _raw_json(response: httpx.Response) -> Any:
    response.raise_for_status()
    return response.json()


def _format_profile(prof: cProfile.Profile) -> str:
    """Own-time leaders, then cumulative time of our code (the part the client can change)."""
    parts = []
    for order, restrict in (("tottime", 12), ("cumulative", r"prefect_imbrace|_base|_resource|endpoints|workflows|tenacity")):
        buf = io.StringIO()
        stats = pstats.Stats(prof, stream=buf).sort_stats(order)
        stats.print_stats(restrict) if isinstance(restrict, int) else stats.print_stats(restrict, 14)
        text = buf.getvalue()
        parts.append(f"-- by {order} --\n" + (text[text.find("ncalls"):] if "ncalls" in text else text).strip())
    return "\n".join(parts)


def _profile_sync(fn: Callable[[], Any], n: int) -> str:
    """Where our client's time goes over `n` calls (printed when a goal is missed)."""
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(n):
        fn()
    prof.disable()
    return _format_profile(prof)


def _metric(kind: str, op: str, ours: Side, raw: Side, profile: str | None) -> Metric:
    mo, mr = median(ours.wall), median(raw.wall)
    ratio = mo / mr
    return Metric(
        name=f"client_overhead_ratio[{kind} {op}]", value=round(mo * 1e6, 1), unit="us/call",
        baseline=round(mr * 1e6, 1), ratio=round(ratio, 3), goal=f"ratio <= {GOAL}", met=ratio <= GOAL,
        notes=f"median wall time per call, {len(ours.wall)} calls per side, interleaved; baseline raw httpx",
        details={
            "extra_us_per_call": round((mo - mr) * 1e6, 1),
            "client_cpu_us_per_call": round(ours.cpu_per_call * 1e6, 1),
            "baseline_cpu_us_per_call": round(raw.cpu_per_call * 1e6, 1),
            "cpu_ratio": round(ours.cpu_per_call / raw.cpu_per_call, 3),
            **({"profile": profile} if profile else {}),
        },
    )


def run(quick: bool, *, smoke: bool = False) -> list[Metric]:
    """`smoke`: a few calls per side, no profiles (tests/benchmarks: code paths only)."""
    rounds, per_round = (4, 2) if smoke else (30, 5) if quick else (400, 5)
    warm = 5 if smoke else 50
    from prefect_imbrace.client import AsyncImbraceClient, ImbraceClient

    metrics: list[Metric] = []
    with LocalProcess() as engine:
        flow_id = delay_flow(engine.url, engine.api_key, 0, name="Overhead target")
        headers = {"x-api-key": engine.api_key, "accept": "application/json"}
        flow_url = f"{engine.engine_url}/v1/flows/{flow_id}"
        folder_url = f"{engine.engine_url}/v1/folders"
        folder_body = {"displayName": "Bench folder", "projectId": engine.project_id}

        # -- sync ------------------------------------------------------------------------------
        ours = ImbraceClient(gateway=engine.url, api_key=engine.api_key)
        raw = httpx.Client(timeout=30.0, limits=LIMITS)
        sync_ops: dict[str, tuple[Callable[[], Any], Callable[[], Any]]] = {
            "GET get_flow": (lambda: ours.workflows.get_flow(flow_id=flow_id),
                             lambda: _raw_json(raw.get(flow_url, headers=headers))),
            "POST create_folder": (lambda: ours.workflows.create_folder(display_name="Bench folder", project_id=engine.project_id),
                                   lambda: _raw_json(raw.post(folder_url, json=folder_body, headers=headers))),
        }
        for op, (a, b) in sync_ops.items():
            _time_sync(a, warm)
            _time_sync(b, warm)  # warm pools, caches, imports
            sa, sb = Side(), Side()
            for r in range(rounds):
                if r % 50 == 0:
                    gc.collect()
                for side, fn in ((sa, a), (sb, b)) if r % 2 == 0 else ((sb, b), (sa, a)):
                    _time_sync(fn, per_round, side)
            profile = None
            if median(sa.wall) / median(sb.wall) > GOAL and not smoke:
                profile = _profile_sync(a, 300)
            metrics.append(_metric("sync", op, sa, sb, profile))
        ours.close()
        raw.close()

        # -- async -----------------------------------------------------------------------------
        async def async_side() -> None:
            aours = AsyncImbraceClient(gateway=engine.url, api_key=engine.api_key)
            # the same transport as ours (aiohttp under httpx): the ratio is our client's own cost
            araw = httpx.AsyncClient(timeout=30.0, limits=LIMITS,
                                     transport=ImbraceAiohttpTransport(LIMITS))

            async def raw_get() -> Any:
                return _raw_json(await araw.get(flow_url, headers=headers))

            async def raw_post() -> Any:
                return _raw_json(await araw.post(folder_url, json=folder_body, headers=headers))

            async_ops = {
                "GET get_flow": (lambda: aours.workflows.get_flow(flow_id=flow_id), raw_get),
                "POST create_folder": (lambda: aours.workflows.create_folder(display_name="Bench folder", project_id=engine.project_id),
                                       raw_post),
            }
            for op, (a, b) in async_ops.items():
                await _time_async(a, warm)
                await _time_async(b, warm)
                sa, sb = Side(), Side()
                for r in range(rounds):
                    if r % 50 == 0:
                        gc.collect()
                    order = ((sa, a), (sb, b)) if r % 2 == 0 else ((sb, b), (sa, a))
                    for side, fn in order:
                        await _time_async(fn, per_round, side)
                profile = None
                if median(sa.wall) / median(sb.wall) > GOAL and not smoke:
                    prof = cProfile.Profile()
                    prof.enable()
                    await _time_async(a, 300)
                    prof.disable()
                    profile = _format_profile(prof)
                metrics.append(_metric("async", op, sa, sb, profile))
            await aours.close()
            await araw.aclose()

        asyncio.run(async_side())
    return metrics

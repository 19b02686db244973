"""Exactly one engine run per logical trigger when the Imbrace runs last 8 s, 20 s and 90 s.

A run that is RUNNING does not show its trigger headers (our key) until it pauses or ends, so
for its whole length every run of the flow is a candidate that could be ours. The scenarios of issue 11 run
side by side in ONE Prefect flow (about 5 s more than one run's length, instead of four runs' lengths), each on its
own Imbrace flow so the engine's counters tell them apart. The 20 s and 90 s runs are in the slow tier
(`uv run pytest -m slow`); the 8 s run keeps the scenarios in the default one.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from prefect import flow, task

from prefect_imbrace.jobs import ImbraceFlow
from prefect_imbrace.tasks import atrigger_flow_and_wait, trigger_flow_and_wait


def webhook_posts(engine, fid: str) -> int:
    return engine.control.counters()["requests"].get(f"POST /activepieces/v1/webhooks/{fid}", 0)


def n_of(result) -> int:
    return int(result.payload["n"])


@pytest.mark.parametrize("run_s", [
    8,  # the default tier: RUNNING past the 2 s after which SENT is stored, and past the crash
    pytest.param(20, marks=pytest.mark.slow),
    pytest.param(90, marks=pytest.mark.slow),
])
def test_long_runs_make_one_engine_run_per_logical_trigger(creds, flows, engine, run_s):
    lost, refused, nested, rerun = (flows.long(run_s, name=f"Long {what} {run_s}s")
                                    for what in ("lost", "refused", "nested", "rerun"))
    # lost answers: the engine starts the run, the caller never hears back (3 triggers)
    engine.control.add_fault(path=f"/webhooks/{lost}$", method="POST", lost_response=True, times=3)
    # the first run listing of one flow is refused (403, not transient): the task fails and its
    # retry must adopt the run it already started (3 triggers)
    engine.control.add_fault(path="^/activepieces/v1/flow-runs$", query=f"flowId={refused}",
                             method="GET", status=403, times=1)
    retrying = atrigger_flow_and_wait.with_options(retries=1, retry_delay_seconds=0)
    raised: list[int] = []

    @task(retries=1, retry_delay_seconds=0)
    def enclosing(n: int) -> int:
        """Triggers (no explicit key), then fails once: its retry must not send again."""
        result = trigger_flow_and_wait(creds, nested, {"n": n})
        if n not in raised:
            raised.append(n)
            raise RuntimeError("the enclosing task fails after its Imbrace run ended")
        return n_of(result)

    job = ImbraceFlow(imbrace_credentials=creds, flow_id=rerun)

    @flow(retries=1, retry_delay_seconds=0)
    def crashing_parent() -> list[int]:
        """Sends 2 triggers, then crashes mid-wait; the flow run's retry adopts both runs."""
        from prefect.context import FlowRunContext

        runs = [job.trigger(payload={"n": n}) for n in range(2)]
        if FlowRunContext.get().flow_run.run_count == 1:
            time.sleep(2)
            raise RuntimeError("crash while the Imbrace runs are RUNNING")
        assert all(run.adopted for run in runs)
        return [n_of(run.fetch_result()) for run in runs]

    @flow
    async def parent() -> dict[str, list[int]]:
        futures = [enclosing.submit(n) for n in range(5)]
        rerun_future = asyncio.ensure_future(asyncio.to_thread(crashing_parent))
        lost_results, refused_results = await asyncio.gather(
            asyncio.gather(*(atrigger_flow_and_wait(creds, lost, {"n": n}) for n in range(3))),
            asyncio.gather(*(retrying(creds, refused, {"n": n}) for n in range(3))),
        )
        return {
            "lost": [n_of(r) for r in lost_results], "refused": [n_of(r) for r in refused_results],
            "nested": [f.result() for f in futures], "rerun": await rerun_future,
        }

    started = time.monotonic()
    results = asyncio.run(parent())
    elapsed = time.monotonic() - started
    assert results == {"lost": [0, 1, 2], "refused": [0, 1, 2], "nested": [0, 1, 2, 3, 4],
                       "rerun": [0, 1]}
    runs = engine.control.counters()["runs_per_flow"]
    assert (runs[lost], runs[refused], runs[nested], runs[rerun]) == (3, 3, 5, 2)
    assert [webhook_posts(engine, f) for f in (lost, refused, nested, rerun)] == [3, 3, 5, 2]
    assert sorted(raised) == [0, 1, 2, 3, 4]
    assert engine.control.faults() == []  # every injected fault fired
    print(f"all scenarios side by side: {elapsed:.1f}s for {run_s}s Imbrace runs")

"""The quickstart: a Prefect pipeline that chains two Imbrace flows and fans out a batch.

    uv run python flows/quickstart.py

Without `IMBRACE_API_KEY` it starts Imbrace Local in this process and builds two Imbrace flows
through the API: a *greeter* that answers at once (sync webhook + Return Response) and a
*classifier* that runs in the background (a short delay, then a router). Pointed at an Imbrace
Local you started (`IMBRACE_API_KEY` and `IMBRACE_GATEWAY_URL` from `uv run imbrace-local`) it
builds the same two flows there, and the run links in its artifacts keep working after it
ends. Against real Imbrace it creates nothing and runs the same pipeline against the flows you
name (`--sync-flow-id`/`--async-flow-id`, or `IMBRACE_SYNC_FLOW_ID`/`IMBRACE_ASYNC_FLOW_ID`).
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from imbrace_demo import (
    Target,
    build_classifier,
    build_greeter,
    flow_ids_from,
    imbrace_target,
    prefect_api,
    real_imbrace_configured,
)
from prefect import flow, get_run_logger
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

from prefect_imbrace.client import SyncOutcome
from prefect_imbrace.credentials import ImbraceCredentials
from prefect_imbrace.exceptions import ImbraceRunFailed
from prefect_imbrace.tasks import trigger_flow_and_wait, trigger_flow_sync, trigger_many_and_wait


@flow(name="imbrace-quickstart")
def quickstart_pipeline(
    imbrace_credentials: ImbraceCredentials,
    sync_flow_id: str,
    async_flow_id: str,
    name: str = "Prefect",
    batch_size: int = 20,
    max_concurrent: int = 10,
) -> dict[str, Any]:
    """Greet (sync reply), feed the reply to the classifier, then classify a batch in parallel.

    The batch goes through one task that keeps at most `max_concurrent` Imbrace runs in flight
    and waits for all of them; every run is triggered exactly once, even if the task retries.
    """
    log = get_run_logger()
    reply = trigger_flow_sync(imbrace_credentials, sync_flow_id, {"name": name, "n": batch_size})
    if reply.outcome != SyncOutcome.REPLIED:
        raise ImbraceRunFailed(
            f"Imbrace flow {sync_flow_id} did not reply ({reply.outcome.value}); it needs a "
            "Return Response step.",
            flow_id=sync_flow_id,
        )
    log.info("The greeter replied %s.", reply.body)

    chained = trigger_flow_and_wait(imbrace_credentials, async_flow_id, reply.body)
    log.info("The classifier answered %s.", chained.payload)

    payloads = [{"greeting": f"Item {n}:", "n": n} for n in range(1, batch_size + 1)]
    results = trigger_many_and_wait(
        imbrace_credentials, async_flow_id, payloads, max_concurrent=max_concurrent
    )
    # The task itself wrote the batch's table artifact (a row per payload: result, seconds,
    # link); these rows are what the script prints.
    rows = [_row(payload, result) for payload, result in zip(payloads, results, strict=True)]
    return {"reply": reply.body, "chained": chained.payload, "batch": rows}


def _row(payload: dict[str, Any], result: Any) -> dict[str, Any]:
    answer = result.payload if isinstance(result.payload, dict) else {}
    duration = result.duration_seconds
    return {
        "n": payload["n"],
        "size": answer.get("size", ""),
        "imbrace_run": result.run_id,
        "status": result.status,
        "seconds": round(duration, 2) if duration is not None else None,
    }


GREETER = "Quickstart: greeter"
CLASSIFIER = "Quickstart: classifier"


def find_flow(client: Any, name: str) -> str | None:
    """An enabled Imbrace flow with exactly this display name, if one exists."""
    page = client.workflows.list_flows(limit=20, name=name, status=["ENABLED"])
    return next((f.id for f in page.data if f.display_name == name), None)


def print_results(outcome: dict[str, Any], artifacts: list[Any], elapsed: float) -> None:
    print()
    print(f"Greeter replied:     {outcome['reply']}")
    print(f"Classifier answered: {outcome['chained']}")
    print()
    print(f"{'n':>3}  {'size':<6} {'imbrace run':<22} {'status':<10} {'seconds':>7}")
    for row in outcome["batch"]:
        seconds = "-" if row["seconds"] is None else f"{row['seconds']:.2f}"
        print(
            f"{row['n']:>3}  {row['size']:<6} {row['imbrace_run']:<22} {row['status']:<10} {seconds:>7}"
        )
    kinds: dict[str, int] = {}
    for artifact in artifacts:
        if artifact.type:  # untyped ones are persisted results, not something to read
            kinds[artifact.type] = kinds.get(artifact.type, 0) + 1
    summary = ", ".join(f"{count} {kind}" for kind, count in sorted(kinds.items()))
    print()
    print(f"Prefect artifacts of this flow run: {summary or 'none'}")
    print("  (the chained run's summary and the batch's progress and table of runs)")
    keys = sorted({artifact.key for artifact in artifacts if artifact.key})
    if keys:
        print(f"  keyed, with history from run to run: {', '.join(keys)}")
        print(f"  list them with `uv run prefect artifact ls`, one with `uv run prefect artifact inspect {keys[0]}`")
    succeeded = sum(row["status"] == "SUCCEEDED" for row in outcome["batch"])
    print(f"{succeeded}/{len(outcome['batch'])} batch runs succeeded; done in {elapsed:.1f} s.")


def read_artifacts(flow_run_id: Any) -> list[Any]:
    with get_client(sync_client=True) as client:
        return client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]))
        )


def run(target: Target, sync_flow_id: str | None, async_flow_id: str | None, batch_size: int, max_concurrent: int) -> dict[str, Any]:
    """Build the two Imbrace flows on Local (or take the given ids) and run the pipeline."""
    if target.is_local and not (sync_flow_id or async_flow_id):
        with target.client() as client:
            # On an Imbrace Local that outlives this script, the flows of an earlier run are
            # used again, so the artifacts' keys (Prefect flow + Imbrace flow) keep a history.
            found = [find_flow(client, name) for name in (GREETER, CLASSIFIER)] if target.external_local else [None, None]
            sync_flow_id = found[0] or build_greeter(client)
            async_flow_id = found[1] or build_classifier(client)
        verb = "Using the" if all(found) else "Built"
        print(f"{verb} Imbrace flows: greeter {sync_flow_id}, classifier {async_flow_id}.")
    else:
        sync_flow_id, async_flow_id = flow_ids_from(
            [sync_flow_id, async_flow_id], ["IMBRACE_SYNC_FLOW_ID", "IMBRACE_ASYNC_FLOW_ID"]
        )
    started = time.monotonic()
    state = quickstart_pipeline(
        target.credentials, sync_flow_id, async_flow_id,
        batch_size=batch_size, max_concurrent=max_concurrent, return_state=True,
    )
    outcome = state.result()
    print_results(outcome, read_artifacts(state.state_details.flow_run_id), time.monotonic() - started)
    return outcome


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sync-flow-id", help="real Imbrace: a flow that replies (Return Response)")
    parser.add_argument("--async-flow-id", help="real Imbrace: a flow that takes the reply as payload")
    parser.add_argument("--batch-size", type=int, default=20)
    parser.add_argument("--max-concurrent", type=int, default=10)
    args = parser.parse_args(argv)
    if not real_imbrace_configured() and (args.sync_flow_id or args.async_flow_id):
        parser.error("flow ids are for real Imbrace: set IMBRACE_API_KEY too")
    with prefect_api(), imbrace_target() as target:
        run(target, args.sync_flow_id, args.async_flow_id, args.batch_size, args.max_concurrent)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Prefect integration for the Imbrace workflow engine.

Names load lazily: `import prefect_imbrace.client` must not drag Prefect in (the client is usable
on its own), and Prefect's `block register -m prefect_imbrace` still finds the blocks because
`dir()` lists every public name.

Vocabulary: an *Imbrace flow* is an automation inside the Imbrace engine; a *Prefect flow* is a
Python function decorated with `@flow`.
"""

from __future__ import annotations

import importlib
from typing import Any

from prefect_imbrace import exceptions as _exceptions  # light: no Prefect, no httpx

__version__ = "0.1.0"

_CLIENT = (
    "AsyncImbraceClient",
    "Flow",
    "FlowOperation",
    "FlowRun",
    "ImbraceClient",
    "RunCategory",
    "SeekPage",
    "StepResult",
    "SyncOutcome",
    "SyncReply",
    "TriggerReceipt",
    "create_webhook_flow",
)

# public name -> module that defines it
_LAZY: dict[str, str] = {
    **dict.fromkeys(_exceptions.__all__, "prefect_imbrace.exceptions"),
    **dict.fromkeys(_CLIENT, "prefect_imbrace.client"),
    "ImbraceCredentials": "prefect_imbrace.credentials",
    "ImbraceFlow": "prefect_imbrace.jobs",
    "ImbraceFlowRun": "prefect_imbrace.jobs",
    "ImbraceRunResult": "prefect_imbrace.exactly_once.handle",
    "StepSummary": "prefect_imbrace.exactly_once.handle",
    "atrigger_and_wait": "prefect_imbrace.exactly_once.waits",
    "trigger_and_wait": "prefect_imbrace.exactly_once.waits",
    "WaitOptions": "prefect_imbrace.exactly_once.handle",
    "cancel_imbrace_runs_hook": "prefect_imbrace.flows",
    "deploy_resumer": "prefect_imbrace.exactly_once.resumer",
    "observe_imbrace_runs": "prefect_imbrace.flows",
    "steps_view": "prefect_imbrace.run_graph",
    "trigger_flow_and_wait_for_completion": "prefect_imbrace.flows",
    "trigger_flow_chain": "prefect_imbrace.flows",
    "AsCodeFilesError": "prefect_imbrace.as_code.loader",
    "ImbraceApplyFailed": "prefect_imbrace.as_code.tasks",
    "ImbraceFlowNotFound": "prefect_imbrace.as_code.tasks",
    "aapply_imbrace_flows": "prefect_imbrace.as_code.tasks",
    "aplan_imbrace_flows": "prefect_imbrace.as_code.tasks",
    "apply_imbrace_flows": "prefect_imbrace.as_code.tasks",
    "find_imbrace_flow_id": "prefect_imbrace.as_code.tasks",
    "plan_imbrace_flows": "prefect_imbrace.as_code.tasks",
    "ImbraceLocal": "prefect_imbrace.local",
    "LocalControl": "prefect_imbrace.local",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'prefect_imbrace' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})

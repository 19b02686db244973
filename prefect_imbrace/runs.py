"""Trigger-and-wait: where its public names have always been importable from.

The machinery lives in `prefect_imbrace.exactly_once` (see its package docstring).
"""

from prefect_imbrace.exactly_once.handle import (
    KEY_HEADER,
    ImbraceRunHandle,
    ImbraceRunResult,
    StepSummary,
    TriggerState,
    WaitOptions,
    acancel_active_runs,
    active_runs,
    atrigger_and_wait,
    cancel_active_runs,
    guard_interrupts,
    run_sync,
    trigger_and_wait,
)

__all__ = [
    "KEY_HEADER",
    "ImbraceRunHandle",
    "ImbraceRunResult",
    "StepSummary",
    "TriggerState",
    "WaitOptions",
    "acancel_active_runs",
    "active_runs",
    "atrigger_and_wait",
    "cancel_active_runs",
    "guard_interrupts",
    "run_sync",
    "trigger_and_wait",
]

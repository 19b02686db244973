"""The public surface is pinned: a rename shows up here, not as breakage for a user."""

import subprocess
import sys

import prefect_imbrace

EXPECTED = [
    "APIConnectionError", "APIError", "APIStatusError", "APITimeoutError", "AsCodeFilesError",
    "AsyncImbraceClient", "AuthenticationError", "ConflictError", "Flow", "FlowDisabledError",
    "FlowGoneError", "FlowOperation", "FlowRun", "ImbraceApplyFailed", "ImbraceClient",
    "ImbraceConfigurationError", "ImbraceCredentials", "ImbraceError", "ImbraceFlow",
    "ImbraceFlowNotFound", "ImbraceFlowRun", "ImbraceLocal", "ImbraceRunCancelled",
    "ImbraceRunError", "ImbraceRunFailed", "ImbraceRunResult", "ImbraceRunWaitTimeout",
    "InvalidRequestError", "LocalControl", "NotFoundError", "PermissionDeniedError",
    "RateLimitError", "RequestOutcomeUnknownError", "RunCategory", "SeekPage", "ServerError",
    "StepResult", "StepSummary", "SyncOutcome", "SyncReply", "TriggerReceipt", "WaitOptions",
    "aapply_imbrace_flows", "aplan_imbrace_flows", "apply_imbrace_flows", "atrigger_and_wait",
    "cancel_imbrace_runs_hook", "create_webhook_flow", "deploy_resumer", "find_imbrace_flow_id",
    "observe_imbrace_runs", "plan_imbrace_flows", "steps_view", "trigger_and_wait",
    "trigger_flow_and_wait_for_completion", "trigger_flow_chain",
]


def test_all_is_sorted_and_pinned():
    assert prefect_imbrace.__all__ == sorted(prefect_imbrace.__all__)
    assert prefect_imbrace.__all__ == EXPECTED


def test_every_exported_name_resolves_and_is_listed_by_dir():
    for name in prefect_imbrace.__all__:
        assert getattr(prefect_imbrace, name) is not None
    assert set(prefect_imbrace.__all__) <= set(dir(prefect_imbrace))


def test_unknown_attribute_is_an_attribute_error():
    try:
        prefect_imbrace.NoSuchThing  # noqa: B018
    except AttributeError as exc:
        assert "NoSuchThing" in str(exc)
    else:  # pragma: no cover
        raise AssertionError("expected AttributeError")


def test_importing_the_package_or_client_does_not_import_prefect():
    code = (
        "import sys, prefect_imbrace, prefect_imbrace.client;"
        "bad=[m for m in sys.modules if m=='prefect' or m.startswith('prefect.')];"
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_block_registration_finds_the_credentials_block():
    import inspect

    from prefect.blocks.core import Block

    blocks = [c for _, c in inspect.getmembers(prefect_imbrace) if Block.is_block_class(c)]
    assert {b.__name__ for b in blocks} >= {"ImbraceCredentials", "ImbraceFlow"}

"""`ImbraceFlow` / `ImbraceFlowRun`: Prefect's JobBlock / JobRun pair for an Imbrace flow.

`ImbraceFlow` is a saved block (credentials + flow id + defaults); `trigger()` sends (or, on a
retry or re-run, adopts from its record) one trigger and returns an `ImbraceFlowRun`;
`wait_for_completion()` and `fetch_result()` follow its run. Every method comes as an explicit
pair: the sync name blocks (`trigger`, `wait_for_completion`, `fetch_result`, `cancel`), the
`a`-prefixed twin is awaited (`atrigger`, `await_for_completion`, `afetch_result`, `acancel`),
as in Prefect's own sync/async APIs. (Prefect's abstract `JobRun` declares these names as
coroutines; here the plain names block, so sync and async callers each get a real method.)
"""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any, TypeVar

from prefect.blocks.abstract import JobBlock, JobRun
from pydantic import Field

from prefect_imbrace.credentials import DOCUMENTATION_URL, LOGO_URL, ImbraceCredentials
from prefect_imbrace.exactly_once.clients import client_kwargs_of, shared_async_client
from prefect_imbrace.exactly_once.deferral import wait_deferrable
from prefect_imbrace.exactly_once.durable import open_record_store
from prefect_imbrace.exactly_once.handle import (
    ImbraceRunHandle,
    TriggerState,
    WaitOptions,
    guard_interrupts,
    run_sync,
)
from prefect_imbrace.exactly_once.outcome import ImbraceRunResult
from prefect_imbrace.exceptions import ImbraceRunError

__all__ = ["ImbraceFlow", "ImbraceFlowRun"]


T = TypeVar("T")


def _blocking(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine for a sync caller; an interrupt cancels the runs it started."""
    with guard_interrupts():
        return run_sync(coro)


class ImbraceFlowRun(JobRun[ImbraceRunResult]):
    """One trigger of an Imbrace flow sent (or adopted) by `ImbraceFlow.trigger()` and its run.

    `run_id` is None until the run is identified: the engine shows which run a trigger made
    only when that run pauses or ends (docs/concepts/trigger-and-wait.md).
    """

    def __init__(self, handle: ImbraceRunHandle, defer_after: float | None = None):
        self._handle = handle
        self._defer_after = defer_after
        self._result: ImbraceRunResult | None = None
        self._error: ImbraceRunError | None = None

    @property
    def run_id(self) -> str | None:
        return self._handle.run_id

    @property
    def flow_id(self) -> str:
        return self._handle.flow_id

    @property
    def status(self) -> str | None:
        return self._handle.status

    @property
    def idempotency_key(self) -> str:
        return self._handle.key

    @property
    def state(self) -> TriggerState:
        """The trigger record's state (PLANNED, SENT, UNKNOWN_OUTCOME, IDENTIFIED, ENDED)."""
        return self._handle.state

    @property
    def adopted(self) -> bool:
        """True when the run was started by an earlier attempt and adopted, not re-sent."""
        return self._handle.adopted

    def __repr__(self) -> str:
        return f"ImbraceFlowRun(flow_id={self.flow_id!r}, run_id={self.run_id!r}, status={self.status!r})"

    async def await_for_completion(self) -> None:
        """Async twin of `wait_for_completion`."""
        if self._result is not None:
            return
        if self._error is not None:
            raise self._error
        try:
            async with open_record_store() as store:
                self._handle.store = store
                if self._defer_after and await wait_deferrable([self._handle], self._defer_after):
                    self._result = await self._handle.result()
                else:
                    self._result = await self._handle.wait()
        except ImbraceRunError as exc:
            self._error = exc
            raise

    def wait_for_completion(self) -> None:  # type: ignore[override]
        """Wait until the run ends; raise `ImbraceRunFailed`/`...Cancelled`/`...WaitTimeout`."""
        _blocking(self.await_for_completion())

    async def afetch_result(self) -> ImbraceRunResult:
        """Async twin of `fetch_result`."""
        await self.await_for_completion()
        assert self._result is not None
        return self._result

    def fetch_result(self) -> ImbraceRunResult:  # type: ignore[override]
        """The typed result of the SUCCEEDED run (waits first if needed)."""
        return _blocking(self.afetch_result())

    async def acancel(self) -> bool:
        """Async twin of `cancel`."""
        return await self._handle.acancel("cancelled by the caller")

    def cancel(self) -> bool:
        """Cancel the run if the engine allows it (QUEUED or PAUSED); True if it was cancelled."""
        return run_sync(self.acancel())


class ImbraceFlow(JobBlock[ImbraceRunResult]):
    """An Imbrace flow that Prefect can run exactly once per logical trigger and wait for.

    Examples:
        Trigger a saved Imbrace flow and wait for its result:
        ```python
        from prefect import flow
        from prefect_imbrace import ImbraceFlow

        @flow
        def my_flow():
            imbrace_flow = ImbraceFlow.load("BLOCK_NAME")
            run = imbrace_flow.trigger(payload={"order": 42})
            run.wait_for_completion()
            return run.fetch_result().payload
        ```
    """

    _block_type_name = "Imbrace Flow"
    _block_type_slug = "imbrace-flow"
    _logo_url = LOGO_URL  # type: ignore[assignment]  # Prefect's blocks give these as text
    _documentation_url = DOCUMENTATION_URL  # type: ignore[assignment]
    _description = "An Imbrace flow to trigger exactly once per logical call and wait for."

    imbrace_credentials: ImbraceCredentials = Field(
        default=...,
        title="Imbrace credentials",
        description="The credentials block used to reach the Imbrace engine.",
    )
    flow_id: str = Field(
        default=...,
        title="Flow ID",
        description="The id of the Imbrace flow (21 characters) whose webhook is triggered.",
    )
    payload: dict[str, Any] | None = Field(
        default=None,
        title="Default payload",
        description="JSON body sent to the webhook when trigger() gets no payload.",
    )
    headers: dict[str, str] = Field(
        default_factory=dict,
        title="Extra headers",
        description="Extra HTTP headers sent with each trigger (not for secrets).",
    )
    timeout_seconds: float | None = Field(
        default=None,
        gt=0,
        title="Wait timeout",
        description="Overall limit in seconds on waiting for a run (default from settings).",
    )
    paused_timeout_seconds: float | None = Field(
        default=None,
        gt=0,
        title="PAUSED timeout",
        description="Limit in seconds on time a run may spend PAUSED while waited for.",
    )
    max_poll_errors: int | None = Field(
        default=None,
        ge=0,
        title="Tolerated polling errors",
        description="How many consecutive transient polling errors are tolerated.",
    )
    retry_failed_from_step: bool = Field(
        default=False,
        title="Retry failed step on re-run",
        description="On a re-run, retry an adopted failed run from its failed step.",
    )
    defer_after_seconds: float | None = Field(
        default=None,
        gt=0,
        title="Defer after",
        description=(
            "In a flow run of a deployment, suspend it (releasing its worker) when the run has "
            "not ended after this many seconds; the resumer resumes it (prefect_imbrace.exactly_once.resumer)."
        ),
    )

    def _handle(self, payload: Any, idempotency_key: str | None) -> ImbraceRunHandle:
        return ImbraceRunHandle(
            self.imbrace_credentials,
            self.flow_id,
            self.payload if payload is None else payload,
            idempotency_key=idempotency_key,
            headers=self.headers,
            options=WaitOptions(
                self.timeout_seconds, self.paused_timeout_seconds, self.max_poll_errors
            ),
            retry_failed_from_step=self.retry_failed_from_step,
        )

    async def atrigger(
        self, payload: Any = None, idempotency_key: str | None = None
    ) -> ImbraceFlowRun:
        """Async twin of `trigger`."""
        handle = self._handle(payload, idempotency_key)
        try:
            async with shared_async_client(client_kwargs_of(handle.credentials)) as shared, \
                    open_record_store() as store:
                await handle.adopt_or_trigger(shared, store)
                await handle.persist()  # the caller may never wait (fire and forget)
        except BaseException as exc:
            await handle.on_interrupt(exc)
            raise
        return ImbraceFlowRun(handle, self.defer_after_seconds)

    def trigger(  # type: ignore[override]
        self, payload: Any = None, idempotency_key: str | None = None
    ) -> ImbraceFlowRun:
        """Send (or adopt from its record) one trigger and return it; `wait_for_completion()`
        follows its run.

        `idempotency_key` defaults to one derived from the call's place in the Prefect flow run
        (see docs/concepts/trigger-and-wait.md).
        """
        return _blocking(self.atrigger(payload, idempotency_key))

    @classmethod
    def by_key(cls, imbrace_credentials: ImbraceCredentials, key: str, **fields: Any) -> ImbraceFlow:
        """The block for the flow that `prefect-imbrace apply` keyed `key` in this project.

        Flow ids differ between projects, keys do not: the id is looked up now, at run time
        (`prefect_imbrace.as_code.find_imbrace_flow_id`). `fields` are the other block fields.
        """
        from prefect_imbrace.as_code.tasks import find_imbrace_flow_id

        with imbrace_credentials.get_client() as client:
            flow_id = find_imbrace_flow_id(client, key=key)
        return cls(imbrace_credentials=imbrace_credentials, flow_id=flow_id, **fields)

    @classmethod
    def by_external_id(
        cls, imbrace_credentials: ImbraceCredentials, external_id: str, **fields: Any
    ) -> ImbraceFlow:
        """The block for the flow with this engine `externalId`, its id looked up at run time."""
        from prefect_imbrace.as_code.tasks import find_imbrace_flow_id

        with imbrace_credentials.get_client() as client:
            flow_id = find_imbrace_flow_id(client, external_id=external_id)
        return cls(imbrace_credentials=imbrace_credentials, flow_id=flow_id, **fields)

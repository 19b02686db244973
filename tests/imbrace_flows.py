"""The one place the tests build Imbrace flows on an engine (through the tested client).

Every folder imports it (`tests/` is on `sys.path` through the root conftest):
`ImbraceFlows(client).echo()` returns the id of a published webhook flow.
"""

from __future__ import annotations

from typing import Any

from prefect_imbrace.client import ImbraceClient, create_webhook_flow
from prefect_imbrace.client import operations as ops

__all__ = ["ImbraceFlows", "approve_when_paused", "running_delays"]

IN_RUN_DELAY_S = 10
"""The longest Delay For the engine sleeps inside a run; a longer one pauses it (PAUSED)."""


def running_delays(seconds: float, name: str = "step_1") -> list[Any]:
    """Delay For steps that keep a run RUNNING for `seconds`, as on the engine.

    One Delay For over 10 s pauses the run, so a longer wait is several delays in a row, each
    at most 10 s: `name`, then `name_2`, `name_3`...
    """
    count = max(1, -(-int(seconds * 1000) // (IN_RUN_DELAY_S * 1000)))
    part = seconds / count
    return [ops.delay(name if i == 0 else f"{name}_{i + 1}", part) for i in range(count)]


class ImbraceFlows:
    """Creates published webhook flows: echo, mapper, failing, slow, long, paused, using a connection."""

    def __init__(self, client: ImbraceClient):
        self.client = client

    def publish(self, name: str, actions: list[Any]) -> str:
        """A published, enabled webhook flow running `actions` in a row; returns its id."""
        return create_webhook_flow(self.client, name, actions).id

    def echo(
        self,
        name: str = "Echo",
        extra: dict[str, Any] | None = None,
        *,
        status: int = 200,
        headers: dict[str, str] | None = None,
        body: Any = None,
    ) -> str:
        """Replies `body` (default {"echo": <trigger body>, **extra}) with `status` and `headers`."""
        reply = {"echo": "{{trigger.body}}", **(extra or {})} if body is None else body
        step = ops.return_response("step_1", status=status, headers=headers, body=reply)
        return self.publish(name, [step])

    def mapper(self, name: str, mapping: dict[str, Any]) -> str:
        """No reply; its last step's output is `mapping` with templates resolved."""
        step = ops.piece_action(
            "step_1", "@activepieces/piece-data-mapper", "0.3.14", "advanced_mapping",
            {"mapping": mapping},
        )
        return self.publish(name, [step])

    def failing(self, name: str = "Failing") -> str:
        """Fails at step_1 (a CODE step, which Imbrace Local cannot execute)."""
        return self.publish(name, [ops.code("step_1", "export const code = async () => 1")])

    def http_failing(self, name: str = "HTTP failing") -> str:
        """Fails at step_1, an HTTP call nobody answers: the engine's errorMessage is JSON text."""
        return self.publish(name, [ops.http_request("step_1", "GET", "http://127.0.0.1:1/")])

    def slow(self, seconds: float, name: str = "Slow") -> str:
        """Runs for `seconds` (RUNNING), then replies {"done": true}."""
        return self.publish(
            name, [*running_delays(seconds), ops.return_response("step_2", body={"done": True})]
        )

    def long(self, seconds: float, name: str = "Long") -> str:
        """webhook -> Delay For `seconds` (RUNNING all along) -> Return Response {"n": body.n}."""
        return self.publish(name, [
            *running_delays(seconds),
            ops.return_response("step_2", body={"n": "{{trigger.body.n}}"}),
        ])

    def approval(self, name: str = "Approval") -> str:
        """Asks for approval (Respond and Wait for Next Webhook: the run PAUSES until a request
        reaches its resume URL), then replies {"approved": <body.approved>, "invoice": ...}."""
        return self.publish(name, [
            ops.respond_and_wait("step_1", body={"awaiting": "approval", "invoice": "{{trigger.body.invoice}}"}),
            ops.return_response("step_2", body={"approved": "{{step_1.body.approved}}",
                                                "invoice": "{{trigger.body.invoice}}"}),
        ])

    def paused(self, name: str = "Paused") -> str:
        """Pauses for an hour (status PAUSED), then replies."""
        return self.publish(
            name,
            [ops.delay("step_1", 60, unit="minutes"), ops.return_response("step_2", body={"ok": 1})],
        )

    def using_connection(self, external_id: str, name: str = "Uses connection") -> str:
        """Fails at step_1 with an HTTP error whose text would hold the connection secret."""
        secret = "{{connections['" + external_id + "']}}"
        request = {"method": "GET", "url": "http://127.0.0.1:9/" + secret,
                   "headers": {"authorization": "Bearer " + secret}, "body_type": "none"}
        step = ops.piece_action("step_1", "@activepieces/piece-http", "0.9.5", "send_request", request)
        return self.publish(name, [step])


def approve_when_paused(client: ImbraceClient, flow_id: str, payload: Any, limit_s: float = 120.0) -> Any:
    """Wait until a run of `flow_id` is PAUSED at its approval step, then resume it with
    `payload` through its resume URL (as a person's approval would); the resumed run's reply."""
    import time

    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        for listed in client.workflows.list_runs(flow_id=flow_id, status="PAUSED").data:
            run = client.workflows.get_run(listed.id)
            if run.resume_request_id:
                return client.workflows.resume_run(run.id, run.resume_request_id, payload)
        time.sleep(0.2)
    raise AssertionError(f"no run of {flow_id} paused for approval within {limit_s:.0f}s")

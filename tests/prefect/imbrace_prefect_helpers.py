"""Building Imbrace flows on Imbrace Local for the Prefect tests."""

from __future__ import annotations

from typing import Any

from prefect_imbrace.client import ImbraceClient, create_webhook_flow
from prefect_imbrace.client import operations as ops

SECRET_KEY = "sk-test-5ecret-ImbraceKey-0123456789abcdef"
"""The API key of the session engine: it must never show up in logs, artifacts or events."""


class FlowFactory:
    """Creates published webhook flows: echo, failing, slow, paused."""

    def __init__(self, client: ImbraceClient):
        self.client = client

    def _publish(self, name: str, actions: list[Any]) -> str:
        return create_webhook_flow(self.client, name, actions).id

    def echo(self, name: str = "Echo", extra: dict[str, Any] | None = None) -> str:
        """Replies {"echo": <trigger body>, **extra}."""
        body = {"echo": "{{trigger.body}}", **(extra or {})}
        return self._publish(name, [ops.return_response("step_1", body=body)])

    def mapper(self, name: str, mapping: dict[str, Any]) -> str:
        """No reply; its last step's output is `mapping` with templates resolved."""
        step = ops.piece_action(
            "step_1", "@activepieces/piece-data-mapper", "0.3.14", "advanced_mapping",
            {"mapping": mapping},
        )
        return self._publish(name, [step])

    def failing(self, name: str = "Failing") -> str:
        """Fails at step_1 (a CODE step, which Imbrace Local cannot execute)."""
        return self._publish(name, [ops.code("step_1", "export const code = async () => 1")])

    def slow(self, seconds: float, name: str = "Slow") -> str:
        """Runs for `seconds` (RUNNING), then replies {"done": true}."""
        return self._publish(
            name, [ops.delay("step_1", seconds), ops.return_response("step_2", body={"done": True})]
        )

    def long(self, seconds: float, name: str = "Long") -> str:
        """webhook -> Delay For `seconds` (RUNNING all along) -> Return Response {"n": body.n}."""
        return self._publish(name, [
            ops.delay("step_1", seconds),
            ops.return_response("step_2", body={"n": "{{trigger.body.n}}"}),
        ])

    def paused(self, name: str = "Paused") -> str:
        """Pauses for an hour (status PAUSED), then replies."""
        return self._publish(
            name,
            [ops.delay("step_1", 60, unit="minutes"), ops.return_response("step_2", body={"ok": 1})],
        )

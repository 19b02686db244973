"""The one place the tests build Imbrace flows on an engine (through the tested client).

Every folder imports it (`tests/` is on `sys.path` through the root conftest):
`ImbraceFlows(client).echo()` returns the id of a published webhook flow.
"""

from __future__ import annotations

from typing import Any

from prefect_imbrace.client import ImbraceClient, create_webhook_flow
from prefect_imbrace.client import operations as ops

__all__ = ["ImbraceFlows"]


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

    def slow(self, seconds: float, name: str = "Slow") -> str:
        """Runs for `seconds` (RUNNING), then replies {"done": true}."""
        return self.publish(
            name, [ops.delay("step_1", seconds), ops.return_response("step_2", body={"done": True})]
        )

    def long(self, seconds: float, name: str = "Long") -> str:
        """webhook -> Delay For `seconds` (RUNNING all along) -> Return Response {"n": body.n}."""
        return self.publish(name, [
            ops.delay("step_1", seconds),
            ops.return_response("step_2", body={"n": "{{trigger.body.n}}"}),
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

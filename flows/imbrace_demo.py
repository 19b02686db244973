"""What the examples share: where Imbrace is, and the small Imbrace flows they build on Local.

Every example runs against real Imbrace when `IMBRACE_API_KEY` (or `IMBRACE_CREDENTIALS_BLOCK`,
the name of a saved `ImbraceCredentials` block) is set, and otherwise starts Imbrace Local in
this process, so a fresh checkout needs no account and no network. When `IMBRACE_API_KEY` and
`IMBRACE_GATEWAY_URL` point at an Imbrace Local you started (`uv run imbrace-local`), the
examples see that and build their Imbrace flows there, as on their own Local; its run pages
then outlive the example.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from prefect.settings import (
    PREFECT_API_URL,
    PREFECT_SERVER_ANALYTICS_ENABLED,
    PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS,
    temporary_settings,
)

from prefect_imbrace.client import ImbraceClient, create_webhook_flow
from prefect_imbrace.client import operations as ops
from prefect_imbrace.credentials import ImbraceCredentials
from prefect_imbrace.exceptions import ImbraceConfigurationError
from prefect_imbrace.local import ImbraceLocal
from prefect_imbrace.run_links import gateway_of, is_imbrace_local

DATA_MAPPER = "@activepieces/piece-data-mapper"
DATA_MAPPER_VERSION = "~0.3.14"


@dataclass
class Target:
    """The Imbrace the example talks to; `engine` is set when the example started Imbrace Local.

    `external_local` is an Imbrace Local the user started and pointed `IMBRACE_GATEWAY_URL` at.
    Blocks saved for the example (`credentials_block_for`) are deleted when it ends, so none is
    left pointing at a port that is gone.
    """

    credentials: ImbraceCredentials
    engine: ImbraceLocal | None = None
    external_local: bool = False
    saved_blocks: list[str] = field(default_factory=list)

    @property
    def is_local(self) -> bool:
        """Imbrace Local (ours or the user's): the example builds its own Imbrace flows."""
        return self.engine is not None or self.external_local

    def client(self) -> ImbraceClient:
        return self.credentials.get_client()


def real_imbrace_configured() -> bool:
    return bool(os.environ.get("IMBRACE_API_KEY") or os.environ.get("IMBRACE_CREDENTIALS_BLOCK"))


@contextmanager
def imbrace_target() -> Iterator[Target]:
    """Real Imbrace if configured (nothing is created there), else a fresh Imbrace Local."""
    block = os.environ.get("IMBRACE_CREDENTIALS_BLOCK")
    if block:
        print(f"Using real Imbrace through the saved ImbraceCredentials block {block!r}.")
        yield Target(ImbraceCredentials.load(block))
        return
    if os.environ.get("IMBRACE_API_KEY"):
        # Empty fields fall back to IMBRACE_API_KEY / IMBRACE_ENV / IMBRACE_GATEWAY_URL.
        credentials = ImbraceCredentials()
        gateway = gateway_of(credentials)
        if is_imbrace_local(gateway):
            print(f"Using Imbrace Local at {gateway} (IMBRACE_GATEWAY_URL); the example builds its flows there.")
            target = Target(credentials, external_local=True)
        else:
            print("Using real Imbrace (IMBRACE_API_KEY is set).")
            target = Target(credentials)
        with _deleting_saved_blocks(target):
            yield target
        return
    with ImbraceLocal() as engine:
        print(f"No IMBRACE_API_KEY: started Imbrace Local at {engine.url} (it stops with this script).")
        target = Target(ImbraceCredentials(api_key=engine.api_key, gateway=engine.url), engine)
        with _deleting_saved_blocks(target):
            yield target


@contextmanager
def _deleting_saved_blocks(target: Target) -> Iterator[None]:
    """Delete the blocks the example saved once it ends (they point at this Imbrace Local)."""
    try:
        yield
    finally:
        for name in target.saved_blocks:
            try:
                ImbraceCredentials.delete(name)
            except Exception as exc:  # noqa: BLE001 - cleanup must not hide the example's error
                print(f"Could not delete the block {name!r}: {exc}")


@contextmanager
def prefect_api() -> Iterator[None]:
    """Use the configured Prefect API, else Prefect's temporary local server.

    The temporary server keeps its history in the Prefect home (`~/.prefect/prefect.db`), so a
    later `prefect server start` shows the runs. Its first start creates that database, which
    can take longer than Prefect's default 20 s wait on a slow machine: we wait longer.
    """
    if PREFECT_API_URL.value():
        yield
        return
    print("No PREFECT_API_URL: Prefect will start a temporary local server.")
    with temporary_settings(
        {
            PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS: 180,
            PREFECT_SERVER_ANALYTICS_ENABLED: False,
        }
    ):
        yield


def flow_ids_from(given: Sequence[str | None], env_names: Sequence[str]) -> list[str]:
    """Flow ids for real Imbrace: from the parameters, else the environment; say what is missing."""
    ids = [value or os.environ.get(env) for value, env in zip(given, env_names, strict=True)]
    missing = [env for value, env in zip(ids, env_names, strict=True) if not value]
    if missing:
        raise ImbraceConfigurationError(
            "Against real Imbrace this example creates nothing: give the flow ids as parameters "
            f"or set {', '.join(missing)}."
        )
    return [str(value) for value in ids]


# ------------------------------------------------------------------------- flows on Local


def draft(client: ImbraceClient, name: str, actions: Sequence[Any]) -> str:
    """A webhook flow with `actions` in a row, not yet published: add branches, then publish."""
    return create_webhook_flow(client, name, actions, publish=False).id


def mapper(name: str, mapping: Mapping[str, Any]) -> Any:
    """A data-mapper step: its output is `mapping` with the templates resolved."""
    return ops.piece_action(
        name, DATA_MAPPER, DATA_MAPPER_VERSION, "advanced_mapping", {"mapping": dict(mapping)},
        display_name="Map data",
    )


def build_greeter(client: ImbraceClient) -> str:
    """Answers its caller at once (sync webhook + Return Response): a greeting and `n`."""
    reply = ops.return_response(
        "reply", body={"greeting": "Hello, {{trigger.body.name}}!", "n": "{{trigger.body.n}}"}
    )
    return create_webhook_flow(client, "Quickstart: greeter", [reply]).id


def build_classifier(client: ImbraceClient, delay_seconds: float = 1.0) -> str:
    """Runs in the background: waits, then sorts `n` into small or large and replies with it."""
    flow_id = draft(client, "Quickstart: classifier", [ops.delay("wait", delay_seconds)])
    large = ops.branch("Large", ops.condition("{{trigger.body.n}}", "NUMBER_IS_GREATER_THAN", 10))
    router = ops.router("classify", [large, ops.fallback_branch("Small")])
    client.workflows.apply_flow_operation(flow_id=flow_id, operation=ops.add_action("wait", router))
    for index, size in ((0, "large"), (1, "small")):
        body = {
            "n": "{{trigger.body.n}}",
            "size": size,
            "message": f"{{{{trigger.body.greeting}}}} {{{{trigger.body.n}}}} is {size}.",
        }
        reply = ops.return_response(f"reply_{size}", body=body)
        client.workflows.apply_flow_operation(
            flow_id=flow_id, operation=ops.add_action("classify", reply, branch_index=index)
        )
    client.workflows.apply_flow_operation(flow_id=flow_id, operation=ops.lock_and_publish())
    return flow_id


def build_echo(client: ImbraceClient, name: str = "Echo") -> str:
    """Ends with a data mapper that hands back its payload plus a marker."""
    echo = mapper("echo", {"received": "{{trigger.body}}", "ok": True})
    return create_webhook_flow(client, name, [echo]).id


# ------------------------------------------------------------------------- deployments

LOCAL_BLOCK = "imbrace-local"


def load_credentials(credentials_block: str | None) -> ImbraceCredentials:
    """A saved block by name, else credentials from `IMBRACE_*` variables (for deployments)."""
    if credentials_block:
        return ImbraceCredentials.load(credentials_block)
    return ImbraceCredentials()


def credentials_block_for(target: Target) -> str | None:
    """The block name a deployment of `target` should use: Local's creds are saved as a block;
    for real Imbrace it is IMBRACE_CREDENTIALS_BLOCK, or None (the worker's IMBRACE_* variables)."""
    if target.is_local:
        target.credentials.save(LOCAL_BLOCK, overwrite=True)
        target.saved_blocks.append(LOCAL_BLOCK)  # deleted when the example ends
        return LOCAL_BLOCK
    return os.environ.get("IMBRACE_CREDENTIALS_BLOCK")

"""The state and rules of Imbrace Local, one object per area, composed by `Backend`.

Nothing here imports FastAPI: routes parse requests, call one method and shape the answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import EngineError, entity_not_found
from ..store import Store
from .common import paginate, public
from .connections import Connections
from .flows import Flows
from .folders import Folders
from .mcp import McpServers
from .runner import FINISH_DELAY_S, QUEUE_DELAY_S, Runner
from .runs import Runs
from .tables import Tables
from .tenancy import Principal, Tenancy
from .webhooks import Webhooks


@dataclass
class LocalConfig:
    """How one Imbrace Local instance is set up (see architecture.md §1)."""

    # Credentials never appear in a repr.
    api_keys: dict[str, str] = field(default_factory=dict, repr=False)
    access_tokens: dict[str, str] = field(default_factory=dict, repr=False)
    bearer_tokens: dict[str, list[str]] = field(default_factory=dict, repr=False)
    db: str | None = None
    sync_timeout: float = 30.0
    """Seconds a sync webhook (or sync resume) call waits for a reply before its 204: the
    engine's WEBHOOK_TIMEOUT_SECONDS."""
    run_timeout: float = 600.0
    queue_delay: float = QUEUE_DELAY_S
    """Seconds an async run stays QUEUED before it runs (0: at once)."""
    finish_delay: float = FINISH_DELAY_S
    """Seconds a run stays RUNNING after its reply reached a sync caller, before it ends or pauses
    (0: at once)."""
    control_token: str | None = field(default=None, repr=False)
    allow_http_hosts: frozenset[str] = frozenset()


class Backend:
    def __init__(self, config: LocalConfig):
        self.config = config
        self.store = Store(config.db)
        self.restored = bool(config.db) and bool(list(self.store.all("flow")))
        """State (flows, runs) was loaded from a `--db` file: counters start from zero anyway."""
        self.tenancy = Tenancy(self.store, config.api_keys, config.access_tokens, config.bearer_tokens)
        self.flows = Flows(self.store)
        self.folders = Folders(self.store)
        self.connections = Connections(self.store, self.tenancy)
        self.mcp = McpServers(self.store, self.flows)
        self.tables = Tables(self.store)
        self.runs = Runs(self.store)
        self.runner = Runner(
            self.store, self.connections, self.flows.finish_delete,
            run_timeout=config.run_timeout, allow_http_hosts=frozenset(config.allow_http_hosts),
            queue_delay=config.queue_delay, finish_delay=config.finish_delay,
        )
        self.webhooks = Webhooks(self.store, self.flows, self.runner, config.sync_timeout)
        for org_id in {*config.api_keys.values(), *config.access_tokens.values()}:
            self.tenancy.project_for_org(org_id)  # known organisations have their project at start

    def reset(self) -> None:
        self.restored = False
        self.runner.reset()
        self.store.reset()

    # -- small areas ------------------------------------------------------------------------------
    def project(self, principal: Principal) -> dict[str, Any]:
        project = self.store.get("project", principal.project_id)
        if project is None:
            raise entity_not_found("project", principal.project_id)
        return public(project)

    def flow_ids_using(self, principal: Principal, external_id: str) -> list[str]:
        return [
            f["id"] for f in self.store.all("flow")
            if f["projectId"] == principal.project_id and external_id in self.flows.latest(f)["connectionIds"]
        ]

    def trigger_status(self) -> dict[str, Any]:
        stats = self.store.get("meta", "triggerStats")
        return {"pieces": stats["pieces"] if stats else {}}

    def invitations(self, principal: Principal, q: dict[str, Any]) -> dict[str, Any]:
        # Invitations cannot be created through the gateway (403/402), so the list is always empty.
        return paginate([], lambda r: (0, ""), descending=False, limit=q.get("limit"), cursor=q.get("cursor"))

    def create_invitation(self, principal: Principal, body: dict[str, Any]) -> None:
        if body.get("type") == "PLATFORM":
            raise EngineError("AUTHORIZATION", {"message": "User is not owner of the platform"})
        raise EngineError("FEATURE_DISABLED", {"message": "Project roles are not enabled"})

    def test_trigger(self, principal: Principal, body: dict[str, Any]) -> dict[str, Any] | None:
        flow = self.flows.owned(principal, body["flowId"])
        version = self.store.get("version", body["flowVersionId"])
        if version is None or version["flowId"] != flow["id"]:
            raise entity_not_found("FlowVersion", body["flowVersionId"])
        if body["testStrategy"] == "SIMULATION":
            flow["_listening"] = not flow.get("_listening", False)
            self.store.put("flow", flow)
            return None
        sample = flow.get("_sampleData")
        if version["trigger"].get("type") == "EMPTY" or sample is None:
            return {"data": [], "next": None, "previous": None}
        return {"data": [{
            "id": flow["id"], "created": flow["updated"], "updated": flow["updated"],
            "projectId": flow["projectId"], "flowId": flow["id"],
            "sourceName": (version["trigger"].get("settings") or {}).get("triggerName", ""),
            "fileId": flow["id"], "payload": sample,
        }], "next": None, "previous": None}

    def stop_listening(self, principal: Principal, flow_id: str) -> None:
        flow = self.flows.owned(principal, flow_id)
        flow["_listening"] = False
        self.store.put("flow", flow)


__all__ = ["Backend", "LocalConfig", "Principal"]

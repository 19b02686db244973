"""Gateway authentication and tenancy: credentials -> organisation -> its one project.

Mirrors imbrace-api.md §1.2/§1.3: the gateway picks one auth mode (API key, then Bearer JWT +
`x-organization-id`, then access token), answers its own 401/400 bodies, and the fork maps every
organisation to one project (created on first use) and every Imbrace user to an engine user.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import FrameworkError, GatewayError
from ..store import Store
from .common import iso, new_id, now_ms

ORG_PATTERN = re.compile(r"^org_[A-Za-z0-9_-]{1,96}$")
NO_CREDENTIALS = {"message": "Unauthorized - API key or Access Token required"}


@dataclass(frozen=True)
class Principal:
    org_id: str
    project_id: str
    user_id: str  # engine user id (21 chars)
    user_external_id: str
    access_token: str | None = field(default=None, repr=False)

    def forwarded_headers(self) -> dict[str, str]:
        """The identity headers the gateway adds before proxying (seen by webhook triggers)."""
        headers = {
            "x-organization-id": self.org_id,
            "x-user-id": self.user_external_id,
            "x-gateway-source": "imbrace-gateway",
        }
        if self.access_token and not self.access_token.startswith("api_"):
            headers["x-access-token"] = self.access_token
        return headers


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()[:12]


def check_org_id(org_id: str) -> None:
    if not ORG_PATTERN.match(org_id):
        raise ValueError(f"organisation id must match {ORG_PATTERN.pattern}, got {org_id!r}")


class Tenancy:
    def __init__(
        self,
        store: Store,
        api_keys: Mapping[str, str],
        access_tokens: Mapping[str, str],
        bearer_tokens: Mapping[str, list[str]],
    ):
        self.store = store
        self.api_keys = dict(api_keys)
        self.access_tokens = dict(access_tokens)
        self.bearer_tokens = {k: list(v) for k, v in bearer_tokens.items()}
        meta = store.get("meta", "platform")
        if meta is None:
            meta = store.put("meta", {"id": "platform", "platformId": new_id()})
        self.platform_id: str = meta["platformId"]
        self._principals: dict[tuple[str, str, str | None], Principal] = {}

    # -- authentication -------------------------------------------------------------------
    def authenticate(self, headers: Mapping[str, str], query: Mapping[str, Any], webhook: bool) -> Principal | None:
        """The caller's principal, or None for a webhook call whose identity the gateway skips."""
        api_key = headers.get("x-api-key")
        if api_key is not None:
            org = self.api_keys.get(api_key)
            if org is None:
                raise GatewayError(
                    401,
                    {"error": "Unauthorized", "message": "Invalid API key", "request_id": str(uuid.uuid4())},
                )
            return self.principal(org, "usr_" + _digest(api_key))
        auth = headers.get("authorization", "")
        org_header = headers.get("x-organization-id")
        if auth.lower().startswith("bearer ") and org_header:
            if webhook:
                return None
            token = auth[7:].strip()
            orgs = self.bearer_tokens.get(token)
            if orgs is None:
                raise GatewayError(401, {"message": "Unauthorized - Invalid JWT"})
            if org_header not in orgs:
                raise GatewayError(
                    400, {"message": "Bad Request - organization_id not found in user organizations"}
                )
            return self.principal(org_header, "usr_" + _digest(token))
        access_token = headers.get("x-access-token")
        if access_token is not None:
            if webhook:
                return None
            org_param = query.get("organizationId")
            if isinstance(org_param, str) and org_param:
                # The gateway takes `?organizationId=` as the org without an account lookup.
                return self.principal(org_param, "acc_" + _digest(access_token), access_token)
            org = self.access_tokens.get(access_token)
            if org is None:
                raise GatewayError(401, {"message": "Unauthorized"})
            return self.principal(org, "acc_" + _digest(access_token), access_token)
        raise GatewayError(401, NO_CREDENTIALS)

    # -- organisations, projects, users ---------------------------------------------------------
    def principal(self, org_id: str, user_external_id: str, access_token: str | None = None) -> Principal:
        cache_key = (org_id, user_external_id, access_token)
        found = self._principals.get(cache_key)
        if found is not None:
            return found
        if not ORG_PATTERN.match(org_id):
            raise FrameworkError(409, "Cannot read properties of undefined (reading 'type')")
        user = self.user(user_external_id)
        project = self.project_for_org(org_id, user["id"])
        found = Principal(org_id, project["id"], user["id"], user_external_id, access_token)
        self._principals[cache_key] = found
        return found

    def user(self, external_id: str) -> dict[str, Any]:
        for user in self.store.all("user"):
            if user["externalId"] == external_id:
                return user
        ms = now_ms()
        return self.store.put(
            "user",
            {
                "id": new_id(),
                "email": f"{external_id}@external.local",
                "firstName": "Dashboard",
                "lastName": "User",
                "platformId": self.platform_id,
                "platformRole": "MEMBER",
                "status": "ACTIVE",
                "externalId": external_id,
                "created": iso(ms),
                "updated": iso(ms),
            },
        )

    def project_for_org(self, org_id: str, owner_id: str | None = None) -> dict[str, Any]:
        for project in self.store.all("project"):
            if project["externalId"] == org_id:
                return project
        ms = now_ms()
        return self.store.put(
            "project",
            {
                "id": new_id(),
                "created": iso(ms),
                "updated": iso(ms),
                "deleted": None,
                "ownerId": owner_id or self.user(f"org-user-{org_id}")["id"],
                "displayName": f"Organization {org_id}",
                "type": "TEAM",
                "platformId": self.platform_id,
                "externalId": org_id,
                "maxConcurrentJobs": None,
                "icon": {"color": "BLUE"},
                "releasesEnabled": False,
                "metadata": None,
                "_createdMs": ms,
            },
        )

    def add_api_key(self, key: str, org_id: str) -> str:
        check_org_id(org_id)
        self.api_keys[key] = org_id
        return self.project_for_org(org_id)["id"]

"""Two tenants of one Imbrace Local (real HTTP); the builders live in as_code_helpers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from as_code_helpers import Tenant, Tenants

from prefect_imbrace.client import ImbraceClient
from prefect_imbrace.local import ImbraceLocal


@pytest.fixture
def tenants() -> Iterator[Tenants]:
    with ImbraceLocal() as engine:
        key_b, _ = engine.add_organization("org_tenant_b")
        with ImbraceClient(api_key=engine.api_key, gateway=engine.url) as a, \
                ImbraceClient(api_key=key_b, gateway=engine.url) as b:
            yield Tenants(engine, Tenant(engine.api_key, a), Tenant(key_b, b))

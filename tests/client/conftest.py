"""One Imbrace Local for the client tests (real HTTP on a free loopback port)."""

from __future__ import annotations

import asyncio
import inspect

import pytest
from imbrace_flows import ImbraceFlows

from prefect_imbrace.client import AsyncImbraceClient, ImbraceClient
from prefect_imbrace.local import ImbraceLocal

JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJsb2NhbCJ9.c2lnbmF0dXJl"


@pytest.fixture(scope="session")
def engine():
    with ImbraceLocal(
        access_tokens={"acc_local_token": "org_local"},
        bearer_tokens={JWT: ["org_local"]},
        sync_timeout=2,
    ) as local:
        yield local


@pytest.fixture
def fresh(engine):
    """The shared engine with empty state, no faults and zeroed counters."""
    engine.control.reset()
    yield engine
    engine.control.clear_faults()


@pytest.fixture(scope="session")
def client(engine):
    # Small backoff so retry tests stay fast; Retry-After hints are still honoured exactly.
    with ImbraceClient(
        api_key=engine.api_key, gateway=engine.url, retry_initial_delay=0.01, retry_max_delay=0.05
    ) as c:
        yield c


@pytest.fixture(scope="session")
async def aclient(engine):
    async with AsyncImbraceClient(
        api_key=engine.api_key, gateway=engine.url, retry_initial_delay=0.01, retry_max_delay=0.05
    ) as c:
        yield c


@pytest.fixture
def echo_flow():
    return make_echo_flow


@pytest.fixture
def requests_for():
    return count_requests


def make_echo_flow(client: ImbraceClient, name: str = "echo", status: int = 201) -> str:
    """A published, enabled catch-webhook -> return-response flow; returns its id."""
    body = {"n": "{{trigger.body.n}}", "echo": "{{trigger.body}}"}
    return ImbraceFlows(client).echo(name, status=status, headers={"x-demo": "yes"}, body=body)


def count_requests(engine, method: str, fragment: str) -> int:
    """How many requests Local saw for `METHOD <path containing fragment>`."""
    counts = engine.control.counters()["requests"]
    return sum(n for key, n in counts.items() if key.startswith(method + " ") and fragment in key)


class Driver:
    """Runs one test body against `Workflows` or `AsyncWorkflows`: `await wf.method(...)` either way."""

    def __init__(self, resource, kind: str):
        self.resource = resource
        self.kind = kind

    def __getattr__(self, name):
        method = getattr(self.resource, name)

        async def call(*args, **kwargs):
            result = method(*args, **kwargs)
            if inspect.isawaitable(result):
                result = await result
            return result

        return call

    async def collect(self, name, **kwargs):
        """All items of an `iter_*` pager (sync or async); `take=n` keeps at most n."""
        take = kwargs.pop("take", None)
        iterator = getattr(self.resource, name)(**kwargs)
        if take is not None:
            iterator = iterator.take(take)
        if hasattr(iterator, "__aiter__"):
            return [item async for item in iterator]
        return list(iterator)


@pytest.fixture
def make_driver():
    """Wrap any `Workflows` / `AsyncWorkflows` in a `Driver`."""
    return Driver


@pytest.fixture(params=["sync", "async"])
def wf(request, client, aclient):
    """`Workflows` (sync) or `AsyncWorkflows`, behind one awaitable interface."""
    resource = client.workflows if request.param == "sync" else aclient.workflows
    return Driver(resource, request.param)


async def wait_for(check, *, attempts: int = 100, delay: float = 0.05):
    """Poll `check()` (sync or async) until it returns something truthy; bounded."""
    for _ in range(attempts):
        value = check()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        await asyncio.sleep(delay)
    raise AssertionError("condition not reached")


@pytest.fixture
def eventually():
    return wait_for

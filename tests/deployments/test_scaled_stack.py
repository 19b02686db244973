"""The scaled-stack kit itself: what runs, where the data lives, and what Prefect refuses.

The `prefect_server` fixture parametrized with "scaled" is PostgreSQL, Redis, two API worker
processes and one services process (prefect_imbrace.testing_stack). These tests check that it
is that stack and not a single server in disguise, and prove the refusals the docs describe
(docs/how-to/run-at-scale.md): `--workers 2` on SQLite, and on PostgreSQL without Redis.
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import redis
from prefect.client.schemas.actions import VariableCreate

from prefect_imbrace.testing_deployments import free_port, server_environment
from prefect_imbrace.testing_stack import (
    ScaledPrefectServer,
    group_members,
    postgres_bin_dir,
)

on_the_stack = pytest.mark.parametrize(
    "prefect_server", [pytest.param("scaled", id="scaled", marks=pytest.mark.scaled)], indirect=True
)


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


@on_the_stack
def test_the_stack_is_two_api_workers_and_a_services_process_over_postgres_and_redis(
    prefect_server: ScaledPrefectServer,
) -> None:
    assert isinstance(prefect_server, ScaledPrefectServer)
    api_group = group_members(prefect_server.process.pid)
    workers = [pid for pid in api_group if "spawn_main" in _cmdline(pid)]
    assert len(workers) == 2, {pid: _cmdline(pid) for pid in api_group}
    assert prefect_server.services is not None and prefect_server.services.poll() is None
    assert "services start" in _cmdline(prefect_server.services.pid)

    name = f"scaled_kit_{uuid.uuid4().hex[:6]}"  # written through the API ...
    with prefect_server.client() as client:
        client.create_variable(VariableCreate(name=name, value={"where": "postgres"}))
    assert prefect_server.postgres is not None  # ... read back from PostgreSQL itself
    stored = subprocess.run(
        [str(postgres_bin_dir() / "psql"), "-h", "127.0.0.1", "-p", str(prefect_server.postgres.port),
         "-U", "prefect", "-d", "prefect", "-tAc", f"SELECT value FROM variable WHERE name = '{name}'"],
        check=True, capture_output=True, text=True, timeout=30,
    ).stdout.strip()
    assert stored == '{"where": "postgres"}', stored

    assert prefect_server.redis is not None  # the API workers and services talk through Redis
    info = redis.Redis(port=prefect_server.redis.port).info()
    assert info["connected_clients"] >= 3 and info["total_commands_processed"] > 0, info


def _start_api(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1",
         "--port", env["PREFECT_SERVER_API_PORT"], "--workers", "2"],
        env=env, capture_output=True, text=True, timeout=180, cwd=env["PREFECT_HOME"],
        stdin=subprocess.DEVNULL,
    )


@on_the_stack
def test_prefect_refuses_two_api_workers_on_sqlite_and_without_redis(
    prefect_server: ScaledPrefectServer, tmp_path: Path
) -> None:
    sqlite = _start_api(server_environment(tmp_path, free_port()))
    assert sqlite.returncode != 0
    assert "not supported with SQLite" in sqlite.stdout + sqlite.stderr, sqlite.stdout[-2000:]

    assert prefect_server.postgres is not None
    without_redis = server_environment(tmp_path, free_port())
    without_redis.pop("PREFECT_API_DATABASE_CONNECTION_URL")
    without_redis["PREFECT_SERVER_DATABASE_CONNECTION_URL"] = prefect_server.postgres.url
    refused = _start_api(without_redis)
    assert refused.returncode != 0
    assert "requires Redis" in refused.stdout + refused.stderr, refused.stdout[-2000:]

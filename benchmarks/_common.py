"""Shared pieces of the benchmarks: metrics, machine info, Imbrace Local in a subprocess, flows.

Every figure is a ratio of two sides measured in the same run on the same engine, because
absolute times drift on shared machines. The engine runs in its own process
(`imbrace-local --port 0`), so the client under test never shares a GIL with the server.
"""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
CONTROL_TOKEN = "bench-control-token"
API_KEY = "api_bench_0123456789abcdef01234567"


@dataclass
class Metric:
    """One line of results/latest.json: a value, its same-run baseline, and the goal."""

    name: str
    value: float | None
    unit: str
    baseline: float | None = None
    ratio: float | None = None
    goal: str = ""
    met: bool | None = None
    notes: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def machine_info() -> dict[str, Any]:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu_count": os.cpu_count(),
        "cpu_model": cpu,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def median(values: list[float]) -> float:
    return statistics.median(values)


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def local_command(port: int = 0) -> list[str]:
    exe = Path(sys.executable).with_name("imbrace-local")
    return [str(exe), "--host", "127.0.0.1", "--port", str(port), "--api-key", API_KEY,
            "--control-token", CONTROL_TOKEN]


class LocalProcess:
    """`imbrace-local --port 0` in a subprocess (one uvicorn worker), stopped on exit."""

    def __init__(self, extra_args: tuple[str, ...] = ()) -> None:
        self.extra_args = extra_args
        """More `imbrace-local` options (`--queue-delay 0`: runs start at once)."""
        self.proc: subprocess.Popen[str] | None = None
        self.url = ""
        self.project_id = ""
        self.api_key = API_KEY
        self.ready_s = 0.0

    def __enter__(self) -> LocalProcess:
        start = time.perf_counter()
        self.proc = subprocess.Popen([*local_command(), *self.extra_args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True, cwd=ROOT)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        self.ready_s = time.perf_counter() - start
        if "ready" not in line:
            self.proc.kill()
            raise RuntimeError(f"imbrace-local did not start: {line!r} {self.proc.stderr.read()!r}")
        fields = dict(part.split("=", 1) for part in line.split() if "=" in part)
        self.url, self.project_id = fields["gateway"], fields["project"]
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)

    @property
    def engine_url(self) -> str:
        return self.url + "/activepieces"

    @property
    def control(self) -> Any:
        from prefect_imbrace.local import LocalControl

        return LocalControl(self.url, CONTROL_TOKEN, timeout=60)


def publish_flow(url: str, api_key: str, name: str, actions: list[Any]) -> str:
    """Create an ENABLED webhook flow whose chain is `actions`; returns its id."""
    from prefect_imbrace.client import ImbraceClient, create_webhook_flow

    with ImbraceClient(gateway=url, api_key=api_key) as client:
        return create_webhook_flow(client, name, actions).id


def delay_flow(url: str, api_key: str, seconds: float, name: str = "Bench delay") -> str:
    """trigger -> Delay For `seconds` (sleeps inside the run: no pause under one minute)."""
    from prefect_imbrace.client import operations as ops

    return publish_flow(url, api_key, name, [ops.delay("step_1", seconds)])


def mapper_flow(url: str, api_key: str, steps: int = 3, name: str = "Bench mapper") -> str:
    """trigger -> `steps` data-mapper steps (no waiting anywhere)."""
    from prefect_imbrace.client import operations as ops

    actions = [
        ops.piece_action(f"step_{i}", "@activepieces/piece-data-mapper", "0.3.14", "advanced_mapping",
                         {"mapping": {"i": i, "x": "{{trigger.body.x}}"}})
        for i in range(1, steps + 1)
    ]
    return publish_flow(url, api_key, name, actions)


def echo_flow(url: str, api_key: str, name: str = "Bench echo") -> str:
    """trigger -> Return Response {"echo": body} (for /sync)."""
    from prefect_imbrace.client import operations as ops

    return publish_flow(url, api_key, name, [ops.return_response("step_1", body={"echo": "{{trigger.body}}"})])


def classify_requests(requests: dict[str, int]) -> dict[str, int]:
    """Engine request counters grouped: triggers, run lists, run gets, other."""
    out = {"trigger": 0, "list_runs": 0, "get_run": 0, "other": 0}
    for key, n in requests.items():
        method, _, path = key.partition(" ")
        if method == "POST" and "/v1/webhooks/" in path:
            out["trigger"] += n
        elif method == "GET" and path.endswith("/v1/flow-runs"):
            out["list_runs"] += n
        elif method == "GET" and "/v1/flow-runs/" in path:
            out["get_run"] += n
        else:
            out["other"] += n
    out["total"] = sum(requests.values())
    return out


@dataclass
class PrefectTarget:
    """The Prefect API the Prefect sides of a benchmark run against.

    `api_url=None`: a temporary `prefect_test_harness` server per trial (the default, as in
    the unit tests). Otherwise the server at `api_url` (`run.py --prefect-api-url`, or the
    scaled stack with `run.py --scaled-stack`), and metric names get `suffix` (`@scaled`). For a
    server this process started, `server` is its handle (its PIDs give the server's CPU).
    """

    api_url: str | None = None
    suffix: str = ""
    label: str = "prefect_test_harness"
    server: Any = None

    def server_pids(self) -> list[int]:
        """Every process of a server this run started (API, services, database, Redis)."""
        from prefect_imbrace.testing_stack import process_tree

        pids = getattr(self.server, "pids", None)
        if pids is None:
            return []
        return sorted({pid for leader in pids().values() for pid in process_tree(leader)})


HARNESS = PrefectTarget()

"""Ways to start Imbrace Local: the `ImbraceLocal` context manager and the `imbrace-local` CLI."""

from __future__ import annotations

import argparse
import secrets
import signal
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

from .backend.tenancy import check_org_id
from .control import LocalControl

DEFAULT_ORG = "org_local"
START_TIMEOUT_S = 10.0


def _generated_key() -> str:
    return "api_local_" + secrets.token_hex(12)


def _uvicorn_config(app: Any, host: str, port: int) -> Any:
    """One uvicorn worker, quiet, without proxy-header rewriting (loopback only)."""
    import uvicorn

    return uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False, proxy_headers=False,
                          server_header=False, lifespan="on", timeout_graceful_shutdown=2)


def _key_map(api_keys: Mapping[str, str] | Sequence[str] | None) -> dict[str, str]:
    if api_keys is None:
        return {_generated_key(): DEFAULT_ORG}
    if isinstance(api_keys, Mapping):
        return dict(api_keys)
    return dict.fromkeys(api_keys, DEFAULT_ORG)


class ImbraceLocal:
    """Imbrace Local in a background thread, on 127.0.0.1 and a free port by default.

    ```python
    with ImbraceLocal() as engine:
        client = ImbraceClient(gateway=engine.url, api_key=engine.api_key)
    ```
    """

    def __init__(
        self,
        *,
        api_keys: Mapping[str, str] | Sequence[str] | None = None,
        access_tokens: Mapping[str, str] | None = None,
        bearer_tokens: Mapping[str, Sequence[str]] | None = None,
        db: str | None = None,
        sync_timeout: float = 30.0,
        run_timeout: float = 600.0,
        control_token: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        allow_http_hosts: Sequence[str] = (),
        queue_delay: float | None = None,
        finish_delay: float | None = None,
    ):
        from .backend import LocalConfig
        from .backend.runner import FINISH_DELAY_S, QUEUE_DELAY_S

        keys = _key_map(api_keys)
        for org in [*keys.values(), *(access_tokens or {}).values()]:
            check_org_id(org)
        self.config = LocalConfig(
            api_keys=keys, access_tokens=dict(access_tokens or {}),
            bearer_tokens={k: list(v) for k, v in (bearer_tokens or {}).items()}, db=db,
            sync_timeout=sync_timeout, run_timeout=run_timeout,
            control_token=control_token or secrets.token_hex(16), allow_http_hosts=frozenset(allow_http_hosts),
            queue_delay=QUEUE_DELAY_S if queue_delay is None else queue_delay,
            finish_delay=FINISH_DELAY_S if finish_delay is None else finish_delay,
        )
        self.host = host
        self.port = port
        self.api_key = next(iter(keys))
        self.organization_id = keys[self.api_key]
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._backend: Any = None

    def __repr__(self) -> str:
        return f"ImbraceLocal(url={self.url if self._server else None!r}, organization_id={self.organization_id!r})"

    # -- lifecycle ---------------------------------------------------------------------------------
    def start(self) -> ImbraceLocal:
        import uvicorn

        from .app import build_app
        from .backend import Backend

        self._backend = Backend(self.config)
        app = build_app(self.config, self._backend)
        config = _uvicorn_config(app, self.host, self.port)
        self._server = uvicorn.Server(config)
        self._server.install_signal_handlers = lambda: None  # the thread is not the main thread
        self._thread = threading.Thread(target=self._server.run, name="imbrace-local", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"Imbrace Local did not start on {self.host}:{self.port}")
            time.sleep(0.005)
        self.port = self._server.servers[0].sockets[0].getsockname()[1]
        self._backend.runner.public_url = self.engine_url + "/"
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        if self._backend is not None:
            self._backend.store.close()  # the in-memory view stays readable (project_id, ...)

    def __enter__(self) -> ImbraceLocal:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- what callers use ---------------------------------------------------------------------------
    @property
    def url(self) -> str:
        """The gateway URL; engine routes are under `url + "/activepieces/v1/..."`."""
        return f"http://{self.host}:{self.port}"

    @property
    def engine_url(self) -> str:
        return self.url + "/activepieces"

    def _started_backend(self) -> Any:
        if self._backend is None:
            raise RuntimeError("ImbraceLocal is not started: use `with ImbraceLocal() as engine:` or call start()")
        return self._backend

    @property
    def project_id(self) -> str:
        return self._started_backend().tenancy.project_for_org(self.organization_id)["id"]

    @property
    def control(self) -> LocalControl:
        return LocalControl(self.url, self.config.control_token or "")

    def add_organization(self, org_id: str) -> tuple[str, str]:
        """A new tenant at run time: returns `(api_key, project_id)`."""
        key = _generated_key()
        return key, self._started_backend().tenancy.add_api_key(key, org_id)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="imbrace-local", description="An offline stand-in of the Imbrace workflow engine.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    parser.add_argument("--api-key", action="append", default=[], help="repeatable; generated when absent")
    parser.add_argument("--org", default=DEFAULT_ORG, help="organisation the API keys belong to")
    parser.add_argument("--db", default=None, help="SQLite file for persistent state (default: in memory)")
    parser.add_argument("--sync-timeout", type=float, default=30.0)
    parser.add_argument("--run-timeout", type=float, default=600.0)
    parser.add_argument("--queue-delay", type=float, default=None,
                        help="seconds an async run stays QUEUED (default 0.1)")
    parser.add_argument("--finish-delay", type=float, default=None,
                        help="seconds a run stays RUNNING after its sync reply (default 0.1)")
    parser.add_argument("--clock-offset", type=float, default=0.0,
                        help="seconds the engine's clock runs ahead of this machine's (negative: "
                             "behind), as a remote engine's may")
    parser.add_argument("--control-token", default=None, help="enables the /_local control plane")
    args = parser.parse_args(argv)
    if args.clock_offset:
        from .clock import set_clock_offset

        set_clock_offset(args.clock_offset)

    import uvicorn

    from .app import build_app
    from .backend import Backend, LocalConfig
    from .backend.runner import FINISH_DELAY_S, QUEUE_DELAY_S

    keys = dict.fromkeys(args.api_key or [_generated_key()], args.org)
    check_org_id(args.org)
    config = LocalConfig(api_keys=keys, db=args.db, sync_timeout=args.sync_timeout, run_timeout=args.run_timeout,
                         control_token=args.control_token,
                         queue_delay=QUEUE_DELAY_S if args.queue_delay is None else args.queue_delay,
                         finish_delay=FINISH_DELAY_S if args.finish_delay is None else args.finish_delay)
    backend = Backend(config)
    server = uvicorn.Server(_uvicorn_config(build_app(config, backend), args.host, args.port))

    async def serve() -> None:
        import asyncio

        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, lambda: setattr(server, "should_exit", True))
        server.install_signal_handlers = lambda: None  # type: ignore[attr-defined]  # older uvicorn
        task = asyncio.create_task(server.serve())
        while not server.started:
            if task.done():
                await task
                return
            await asyncio.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        backend.runner.public_url = f"http://{args.host}:{port}/activepieces/"
        project = backend.tenancy.project_for_org(args.org)["id"]
        print(f"Imbrace Local ready: gateway=http://{args.host}:{port} project={project} api_key={next(iter(keys))}",
              flush=True)
        await task

    import asyncio

    try:
        asyncio.run(serve())
    finally:
        backend.store.close()
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

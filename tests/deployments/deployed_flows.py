"""Prefect flows that the deployment tests deploy to a real server (run by process workers)."""

from __future__ import annotations

import os

from prefect import flow


@flow(log_prints=True)
def hello(name: str = "world") -> dict:
    """The smallest deployed flow: proves server, pool, worker and deployment work together."""
    return {"greeting": f"hello {name}", "pid": os.getpid()}

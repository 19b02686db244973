"""Internals of trigger-and-wait (public entry points live in `prefect_imbrace.runs`).

- `keys`: idempotency keys stable across retries and re-runs;
- `poller`: the process-wide poller (one list call per flow per tick);
- `inbox`: the thread-safe mailbox between the poller and a waiting coroutine;
- `outcome`: typed results and the status -> error mapping;
- `limits`: in-process and Prefect global concurrency limits.
"""

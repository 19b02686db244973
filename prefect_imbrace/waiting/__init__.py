"""Internals of trigger-and-wait (public entry points live in `prefect_imbrace.runs`).

- `record`: the durable record of one logical trigger and its states (a Prefect Variable);
- `keys`: idempotency keys stable across retries and re-runs;
- `poller`: the process-wide poller (one list call per flow per tick);
- `inbox`: the thread-safe mailbox between the poller and a waiting coroutine;
- `outcome`: typed results and the status -> error mapping (terminality from the model);
- `active`: the runs each Prefect flow run waits for, cancelled on interrupts;
- `clients`: settings, client kwargs and one shared client per event loop;
- `limits`: the in-process limit and Prefect global concurrency limits;
- `options`: `WaitOptions`, the limits of one wait (re-exported by `prefect_imbrace.runs`).
"""

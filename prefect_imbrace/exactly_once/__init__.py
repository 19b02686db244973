"""Trigger an Imbrace flow exactly once and wait for its run: the whole machinery, one package.

Public entry points are re-exported where users import them: `prefect_imbrace` (the package),
`prefect_imbrace.runs`, `prefect_imbrace.deferral` and `prefect_imbrace.resumer`. Inside:

- `handle`: `ImbraceRunHandle`, one logical trigger driven through its record;
- `waits`: `atrigger_and_wait` / `trigger_and_wait`, the entry points (slots, clients, store);
- `record`: the record of one logical trigger and its states, kept in the process;
- `durable`: where records also go to the Prefect API (claims, the journal) and when;
- `pruning`: records removed once their flow run has been final for `record_retention`;
- `keys`: idempotency keys stable across retries and re-runs;
- `poller`: the process-wide poller (one list call per Imbrace flow per tick);
- `inbox`: the thread-safe mailbox between the poller and a waiting coroutine;
- `outcome`: typed results and the status -> error mapping (terminality from the model);
- `active`: the runs each Prefect flow run waits for, cancelled on interrupts;
- `clients`: settings, client kwargs and one shared client per event loop;
- `options`: `WaitOptions`, the limits of one wait;
- `limits`: the in-process limit and Prefect global concurrency limits per wait;
- `rate_limit`: `PrefectRateLimit`, the engine-request gate shared by every process;
- `deferral`: waits that suspend their Prefect flow run (`defer_after=`);
- `resumer`: the deployment that resumes suspended flow runs when their Imbrace runs end.
"""

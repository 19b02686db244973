"""The retry policy as a table: which outcome, which method, which headers -> retry or not, how long."""

from __future__ import annotations

import email.utils

import httpx
import pytest

from prefect_imbrace.client._base import (
    MAX_RETRY_AFTER,
    _outcome_unknown,
    _retry_wait,
    _should_retry,
    parse_retry_after,
)

REQ = httpx.Request("POST", "http://127.0.0.1/x")
NOW = 1_800_000_000.0


@pytest.mark.parametrize(
    ("method", "outcome", "headers", "expected"),
    [
        # idempotent methods: 429, every 5xx, every transport failure
        ("GET", 429, {}, True),
        ("GET", 500, {}, True),
        ("GET", 502, {}, True),
        ("GET", 503, {}, True),
        ("GET", 504, {}, True),
        ("HEAD", 500, {}, True),
        ("PUT", 500, {}, True),
        ("DELETE", 503, {}, True),
        ("GET", 400, {}, False),
        ("GET", 401, {}, False),
        ("GET", 403, {}, False),
        ("GET", 404, {}, False),
        ("GET", 409, {}, False),
        ("DELETE", 404, {}, False),
        ("GET", httpx.ConnectError("refused", request=REQ), {}, True),
        ("GET", httpx.ConnectTimeout("t", request=REQ), {}, True),
        ("GET", httpx.ReadTimeout("t", request=REQ), {}, True),
        ("GET", httpx.PoolTimeout("t", request=REQ), {}, True),
        ("GET", httpx.RemoteProtocolError("dropped", request=REQ), {}, True),
        ("GET", httpx.ReadError("reset", request=REQ), {}, True),
        ("DELETE", httpx.ReadTimeout("t", request=REQ), {}, True),
        # POST: only when the server provably did not process it
        ("POST", 429, {}, True),
        ("POST", 503, {}, True),
        ("POST", 500, {}, False),
        ("POST", 502, {}, False),
        ("POST", 504, {}, False),
        ("POST", 400, {}, False),
        ("POST", 409, {}, False),
        ("POST", httpx.ConnectError("refused", request=REQ), {}, True),
        ("POST", httpx.ConnectTimeout("t", request=REQ), {}, True),
        ("POST", httpx.PoolTimeout("t", request=REQ), {}, True),
        ("POST", httpx.ReadTimeout("t", request=REQ), {}, False),
        ("POST", httpx.WriteTimeout("t", request=REQ), {}, False),
        ("POST", httpx.RemoteProtocolError("dropped", request=REQ), {}, False),
        ("POST", httpx.ReadError("reset", request=REQ), {}, False),
        ("post", 429, {}, True),
        # an answer carrying x-webhook-id came from the engine's webhook handler: never again
        ("POST", 503, {"x-webhook-id": "AkUzrKESZYHcELdDiZMqz"}, False),
        ("POST", 429, {"X-Webhook-Id": "AkUzrKESZYHcELdDiZMqz"}, False),
        # the server may forbid a retry explicitly
        ("GET", 503, {"x-should-retry": "false"}, False),
        # not a transport failure (a bug, a decode error): never retried
        ("GET", ValueError("x"), {}, False),
    ],
)
def test_should_retry(method, outcome, headers, expected):
    assert _should_retry(method, outcome, headers) is expected


@pytest.mark.parametrize(
    ("method", "exc", "unknown"),
    [
        ("POST", httpx.ReadTimeout("t", request=REQ), True),
        ("POST", httpx.RemoteProtocolError("Server disconnected", request=REQ), True),
        ("POST", httpx.ConnectError("refused", request=REQ), False),
        ("POST", httpx.PoolTimeout("t", request=REQ), False),
        ("GET", httpx.ReadTimeout("t", request=REQ), False),
    ],
)
def test_outcome_unknown(method, exc, unknown):
    assert _outcome_unknown(method, exc) is unknown


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, None),
        ({"retry-after": "1"}, 1.0),
        ({"Retry-After": "2.5"}, 2.5),
        ({"retry-after-ms": "1500"}, 1.5),
        ({"retry-after-ms": "250", "retry-after": "9"}, 0.25),  # ms wins
        ({"retry-after-ms": "soon", "retry-after": "3"}, 3.0),  # bad ms falls through
        ({"retry-after": email.utils.formatdate(NOW + 7, usegmt=True)}, 7.0),
        ({"retry-after": "not a date"}, None),
    ],
)
def test_parse_retry_after(headers, expected):
    assert parse_retry_after(headers, now=NOW) == expected


@pytest.mark.parametrize(
    ("attempt", "headers", "jitter", "expected"),
    [
        # the server's hint wins, capped at 60 s
        (1, {"retry-after": "1"}, 0.0, 1.0),
        (3, {"retry-after": "1"}, 0.9, 1.0),
        (1, {"retry-after": "0"}, 0.0, 0.0),
        (1, {"retry-after-ms": "200"}, 0.0, 0.2),
        (1, {"retry-after": "120"}, 0.0, MAX_RETRY_AFTER),
        (1, {"retry-after": email.utils.formatdate(NOW + 30, usegmt=True)}, 0.0, 30.0),
        # a date in the past is not a usable hint: backoff
        (1, {"retry-after": email.utils.formatdate(NOW - 30, usegmt=True)}, 0.0, 0.5),
        # exponential backoff 0.5, 1, 2, 4, 8 (cap), minus up to 25 % jitter
        (1, {}, 0.0, 0.5),
        (2, {}, 0.0, 1.0),
        (3, {}, 0.0, 2.0),
        (4, {}, 0.0, 4.0),
        (5, {}, 0.0, 8.0),
        (9, {}, 0.0, 8.0),
        (1, {}, 1.0, 0.375),
        (3, {}, 0.5, 1.75),
        (2, {"retry-after": "garbage"}, 0.0, 1.0),
    ],
)
def test_retry_wait(attempt, headers, jitter, expected):
    assert _retry_wait(attempt, headers, now=NOW, jitter=jitter) == pytest.approx(expected)


def test_retry_wait_custom_backoff():
    assert _retry_wait(1, None, initial=0.01, maximum=1.0, jitter=0.0) == pytest.approx(0.01)
    assert _retry_wait(20, None, initial=0.01, maximum=1.0, jitter=0.0) == pytest.approx(1.0)


def test_jitter_stays_within_a_quarter():
    waits = {_retry_wait(2, None) for _ in range(200)}
    assert all(0.75 <= w <= 1.0 for w in waits)
    assert len(waits) > 1

"""`_make_status_error`: every status/body shape -> the most specific class with a useful message."""

from __future__ import annotations

import pytest

from prefect_imbrace import exceptions as exc
from prefect_imbrace.exceptions import _make_status_error

FLOW = "ZurYxBCHMoYIzudlATavb"


@pytest.mark.parametrize(
    ("status", "body", "kwargs", "cls", "fragment"),
    [
        (
            401,
            {"error": "Unauthorized", "message": "Invalid API key", "request_id": "r1"},
            {},
            exc.AuthenticationError,
            "IMBRACE_API_KEY",
        ),
        (
            401,
            {"message": "Unauthorized - API key or Access Token required"},
            {},
            exc.AuthenticationError,
            "api_key=",
        ),
        (
            403,
            {"code": "AUTHORIZATION", "params": {"message": "invalid project id"}},
            {},
            exc.PermissionDeniedError,
            "invalid project id",
        ),
        (404, {"code": "ENTITY_NOT_FOUND", "params": {}}, {}, exc.NotFoundError, "does not exist"),
        (
            404,
            {"statusCode": 404, "error": "Not Found", "message": "Route not found"},
            {},
            exc.NotFoundError,
            "engine_url",
        ),
        (
            400,
            {"code": "FLOW_RUN_NOT_FOUND", "params": {"id": "AAAAAAAAAAAAAAAAAAAAA"}},
            {},
            exc.NotFoundError,
            "AAAAAAAAAAAAAAAAAAAAA",
        ),
        (404, {}, {"webhook_flow_id": FLOW}, exc.FlowDisabledError, "disabled"),
        (410, {}, {"webhook_flow_id": FLOW}, exc.FlowGoneError, "deleted"),
        (
            409,
            {"code": "VALIDATION", "params": {"message": "Folder displayName is used"}},
            {},
            exc.ConflictError,
            "Folder displayName is used",
        ),
        (
            409,
            {"code": "FLOW_IN_USE", "params": {"message": "Flow is being used"}},
            {},
            exc.ConflictError,
            "FLOW_IN_USE",
        ),
        (
            400,
            {
                "statusCode": 400,
                "code": "FST_ERR_VALIDATION",
                "error": "Bad Request",
                "message": "body must have required property 'displayName'",
            },
            {},
            exc.InvalidRequestError,
            "required property 'displayName'",
        ),
        (
            400,
            {"code": "STEP_NOT_FOUND", "params": {"stepName": "x"}},
            {},
            exc.InvalidRequestError,
            "STEP_NOT_FOUND",
        ),
        (
            429,
            {
                "statusCode": 429,
                "error": "Too Many Requests",
                "message": "Rate limit exceeded, retry in 1 minute",
            },
            {"retries": 3},
            exc.RateLimitError,
            "after 3 retries",
        ),
        (
            500,
            {"statusCode": 500, "error": "Internal Server Error", "message": "boom"},
            {},
            exc.ServerError,
            "boom",
        ),
        (503, "upstream down", {}, exc.ServerError, "upstream down"),
        (
            402,
            {"code": "QUOTA_EXCEEDED", "params": {"metric": "ACTIVE_FLOWS"}},
            {},
            exc.APIStatusError,
            "ACTIVE_FLOWS",
        ),
        (422, None, {}, exc.APIStatusError, "422"),
    ],
)
def test_status_mapping(status, body, kwargs, cls, fragment):
    error = _make_status_error(
        status,
        body,
        headers={"X-Request-Id": "req_abc"},
        method="GET",
        url="http://e/v1/x",
        **kwargs,
    )
    assert type(error) is cls
    assert fragment in str(error)
    assert error.status_code == status
    assert error.request_id == "req_abc"
    assert error.body == body


def test_code_and_params_are_kept():
    error = _make_status_error(
        404, {"code": "ENTITY_NOT_FOUND", "params": {"entityType": "MCP", "entityId": "x"}}
    )
    assert error.code == "ENTITY_NOT_FOUND"
    assert error.params == {"entityType": "MCP", "entityId": "x"}
    fastify = _make_status_error(
        400, {"statusCode": 400, "code": "FST_ERR_VALIDATION", "message": "m"}
    )
    assert fastify.code == "FST_ERR_VALIDATION"


def test_webhook_404_and_410_are_not_found_errors():
    disabled = _make_status_error(404, {}, webhook_flow_id=FLOW)
    gone = _make_status_error(410, {}, webhook_flow_id=FLOW)
    assert isinstance(disabled, exc.NotFoundError) and disabled.flow_id == FLOW
    assert isinstance(gone, exc.NotFoundError) and gone.flow_id == FLOW


def test_rate_limit_keeps_the_hint():
    error = _make_status_error(429, None, headers={"retry-after": "7"}, retry_after=7.0)
    assert error.retry_after == 7.0


def test_tree_shape():
    assert issubclass(exc.ImbraceConfigurationError, ValueError)
    assert issubclass(exc.RequestOutcomeUnknownError, exc.APIConnectionError)
    assert issubclass(exc.APITimeoutError, exc.APIConnectionError)
    assert issubclass(exc.APIConnectionError, exc.APIError)
    for cls in (
        exc.InvalidRequestError,
        exc.AuthenticationError,
        exc.PermissionDeniedError,
        exc.NotFoundError,
        exc.ConflictError,
        exc.RateLimitError,
        exc.ServerError,
    ):
        assert issubclass(cls, exc.APIStatusError)
    for cls in (exc.ImbraceRunFailed, exc.ImbraceRunCancelled, exc.ImbraceRunWaitTimeout):
        assert issubclass(cls, exc.ImbraceRunError)
    assert all(issubclass(getattr(exc, n), exc.ImbraceError) for n in exc.__all__)
    for name in exc.__all__:
        assert name in exc.__doc__


def test_run_error_from_run():
    from prefect_imbrace.client.models import FlowRun

    run = FlowRun.model_validate(
        {
            "id": "RuN0000000000000000a1",
            "flowId": FLOW,
            "status": "FAILED",
            "failedStep": {"name": "step_2", "displayName": "Compute"},
            "steps": {"step_2": {"status": "FAILED", "errorMessage": {"message": "boom"}}},
        }
    )
    error = exc.ImbraceRunFailed.from_run(run)
    assert (error.run_id, error.flow_id, error.status, error.failed_step, error.error_message) == (
        "RuN0000000000000000a1",
        FLOW,
        "FAILED",
        "step_2",
        "boom",
    )
    assert error.run is run
    assert "step_2" in str(error) and "boom" in str(error)

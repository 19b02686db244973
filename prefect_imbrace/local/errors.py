"""Errors Imbrace Local raises, carrying the engine's wire shape.

The backends and the engine raise these; only the FastAPI app turns them into responses, so
state code never builds HTTP bodies. Two shapes exist on the real engine (imbrace-api.md §2.4):

    LocalError
     ├── EngineError        {"code": CODE, "params": {...}}; status from the engine's code table
     └── FrameworkError     {"statusCode", "code", "error", "message"} (Fastify/AJV style)
          └── RequestValidationError   400 FST_ERR_VALIDATION
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

# Engine code -> HTTP status (anything not listed answers 400), imbrace-api.md §2.4.
_CODE_STATUS: dict[str, int] = {
    **dict.fromkeys(
        ["AUTHENTICATION", "INVALID_API_KEY", "INVALID_BEARER_TOKEN", "INVALID_CREDENTIALS"], 401
    ),
    **dict.fromkeys(["QUOTA_EXCEEDED", "FEATURE_DISABLED", "AI_CREDIT_LIMIT_EXCEEDED"], 402),
    **dict.fromkeys(
        [
            "AUTHORIZATION",
            "PERMISSION_DENIED",
            "SESSION_EXPIRED",
            "SIGN_UP_DISABLED",
            "EMAIL_IS_NOT_VERIFIED",
            "USER_IS_INACTIVE",
            "DOMAIN_NOT_ALLOWED",
            "EMAIL_AUTH_DISABLED",
            "INVITATION_ONLY_SIGN_UP",
        ],
        403,
    ),
    **dict.fromkeys(["ENTITY_NOT_FOUND", "FILE_NOT_FOUND"], 404),
    **dict.fromkeys(
        [
            "VALIDATION",
            "FLOW_IN_USE",
            "EXISTING_USER",
            "EXISTING_ALERT_CHANNEL",
            "PROJECT_EXTERNAL_ID_ALREADY_EXISTS",
            "EMAIL_ALREADY_HAS_ACTIVATION_KEY",
        ],
        409,
    ),
    "INVALID_OTP": 410,
    "DOES_NOT_MEET_BUSINESS_REQUIREMENTS": 422,
    "PROVIDER_PROXY_CONFIG_NOT_FOUND_FOR_PROVIDER": 501,
}


def status_for_code(code: str) -> int:
    """The HTTP status the engine answers for an error code (400 when the code is not listed)."""
    return _CODE_STATUS.get(code, 400)


class LocalError(Exception):
    """Base of every error Imbrace Local turns into an HTTP answer."""

    status_code: int = 500

    def body(self) -> dict[str, Any]:  # pragma: no cover - overridden
        raise NotImplementedError


class EngineError(LocalError):
    """A business error of the engine (`ActivepiecesError`): body `{"code", "params"}`."""

    def __init__(self, code: str, params: dict[str, Any] | None = None, status_code: int | None = None):
        super().__init__(f"{code}: {params or {}}")
        self.code = code
        self.params = params or {}
        self.status_code = status_code or status_for_code(code)

    def body(self) -> dict[str, Any]:
        return {"code": self.code, "params": self.params}


class FrameworkError(LocalError):
    """An error in Fastify's own shape: `{"statusCode", "code", "error", "message"}`."""

    def __init__(self, status_code: int, message: str, code: str | None = None):
        super().__init__(message)
        self.status_code = status_code
        self.message = message
        self.code = code

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"statusCode": self.status_code}
        if self.code:
            body["code"] = self.code
        body["error"] = HTTPStatus(self.status_code).phrase
        body["message"] = self.message
        return body


class RequestValidationError(FrameworkError):
    """Schema validation failed before the handler ran: 400 `FST_ERR_VALIDATION`."""

    def __init__(self, message: str):
        super().__init__(400, message, code="FST_ERR_VALIDATION")


def entity_not_found(entity_type: str | None = None, entity_id: str | None = None, message: str | None = None) -> EngineError:
    """404 `ENTITY_NOT_FOUND` with the params the engine sends for that entity."""
    params: dict[str, Any] = {}
    if message is not None:
        params["message"] = message
    if entity_type is not None:
        params["entityType"] = entity_type
    if entity_id is not None:
        params["entityId"] = entity_id
    return EngineError("ENTITY_NOT_FOUND", params)


class GatewayError(LocalError):
    """An answer of the Imbrace gateway in front of the engine (its own ad-hoc bodies, §1.2)."""

    def __init__(self, status_code: int, body: dict[str, Any]):
        super().__init__(f"{status_code}: {body}")
        self.status_code = status_code
        self._body = body

    def body(self) -> dict[str, Any]:
        return self._body

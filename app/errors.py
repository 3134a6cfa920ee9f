"""One JSON error shape for the whole API: {"detail": str, "type": str, "errors"?: [...]}."""

import math
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from core.errors import (
    ConflictError,
    DatasetUnavailableError,
    InvalidInputError,
    ModelUnavailableError,
    NotFoundError,
    ServiceError,
    TooManyRequestsError,
    UnsupportedMediaError,
)

# Each kind of domain error has one status code, decided here.
STATUS_BY_ERROR: dict[type[ServiceError], int] = {
    NotFoundError: 404,
    ConflictError: 409,
    InvalidInputError: 422,
    UnsupportedMediaError: 415,
    TooManyRequestsError: 429,
    DatasetUnavailableError: 503,
    ModelUnavailableError: 503,
}

TYPE_BY_STATUS = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "too_many_requests",
    500: "internal_server_error",
    503: "unavailable",
}


def error_response(status: int, detail: str, errors: list[Any] | None = None) -> JSONResponse:
    body: dict[str, Any] = {
        "detail": detail,
        "type": TYPE_BY_STATUS.get(status, HTTPStatus(status).phrase.lower().replace(" ", "_")),
    }
    if errors:
        body["errors"] = [_encodable(error) for error in errors]
    return JSONResponse(body, status_code=status)


async def handle_service_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, ServiceError)
    status = next(code for kind, code in STATUS_BY_ERROR.items() if isinstance(error, kind))
    problems = error.problems if isinstance(error, InvalidInputError) else None
    response = error_response(status, error.message, problems)
    if isinstance(error, TooManyRequestsError):
        response.headers["Retry-After"] = str(error.retry_after_seconds)
    return response


async def handle_validation_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    errors = [_describe(problem) for problem in error.errors()]
    summary = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
    return error_response(422, f"Invalid request. {summary}", errors)


async def handle_http_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StarletteHTTPException)
    response = error_response(error.status_code, str(error.detail))
    if error.headers:
        response.headers.update(error.headers)
    return response


async def handle_unexpected_error(request: Request, error: Exception) -> JSONResponse:
    # The server logs the exception itself; its message may hold what a client must not see.
    return error_response(500, "The server met an unexpected error; it has been logged.")


def _encodable(value: Any) -> Any:
    """`value` as JSON can carry it, so that an error response never fails to encode: numbers
    that are not finite (NaN, infinities) and objects JSON has no type for become text."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, str | int | float | bool | None):
        return value
    if isinstance(value, dict):
        return {str(key): _encodable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_encodable(item) for item in value]
    return str(value)


def _describe(problem: dict[str, Any]) -> dict[str, Any]:
    location = [str(part) for part in problem.get("loc", ()) if part not in ("body", "query")]
    described = {"field": ".".join(location) or "body", "message": problem.get("msg", "invalid")}
    if "input" in problem and isinstance(problem["input"], str | int | float | bool | None):
        described["received"] = problem["input"]
    return described


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ServiceError, handle_service_error)
    app.add_exception_handler(RequestValidationError, handle_validation_error)
    app.add_exception_handler(StarletteHTTPException, handle_http_error)
    # The last resort: Starlette's outermost middleware answers with it, then re-raises.
    app.add_exception_handler(Exception, handle_unexpected_error)

"""A service out of reach (Redis, the broker, the database): answer 503 with a sentence.

Without this a lost connection is an unhandled exception: a 500 with a traceback for every
request that touches it, for a fault outside Unmask that passes by itself. The API answers
`{"detail": OUTAGE_SENTENCE}` (DRF exception handler); site pages a plain 503 page
(middleware: it sees what views raise, and the session and user are loaded lazily inside
the view). Both log one warning line and send Retry-After.
"""

import logging
from collections.abc import Callable
from typing import Any

import kombu.exceptions
import redis.exceptions
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse

logger = logging.getLogger(__name__)

# What redis-py and kombu raise when the server cannot be reached or stops answering.
REDIS_ERRORS: tuple[type[Exception], ...] = (
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    kombu.exceptions.OperationalError,
)
# What Django raises when the database cannot be reached, drops the connection or, on SQLite,
# stays locked past its timeout. Kept apart: the throttles and the queue catch REDIS_ERRORS
# only, because their own fallbacks (fail open, withdraw the job) are about Redis.
DATABASE_ERRORS: tuple[type[Exception], ...] = (OperationalError, InterfaceError)
UNAVAILABLE_ERRORS = REDIS_ERRORS + DATABASE_ERRORS
OUTAGE_SENTENCE = "Unmask cannot reach one of its services right now. Please try again in a minute."
RETRY_AFTER_S = 30


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Any:
    """DRF's handler, plus 503 with a sentence for an unreachable Redis, broker or database."""
    # Imported here: rest_framework.views reads the throttle settings, which import this module.
    from rest_framework.response import Response
    from rest_framework.views import exception_handler

    if isinstance(exc, UNAVAILABLE_ERRORS):
        logger.warning("service unavailable during %s: %r", _where(context), exc)
        return Response(
            {"detail": OUTAGE_SENTENCE}, status=503, headers={"Retry-After": str(RETRY_AFTER_S)}
        )
    return exception_handler(exc, context)


class OutageMiddleware:
    """Site pages: the same outage becomes a short 503 page instead of a server error."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exc: Exception) -> HttpResponse | None:
        if not isinstance(exc, UNAVAILABLE_ERRORS):
            return None
        logger.warning("service unavailable during %s %s: %r", request.method, request.path, exc)
        page = (
            "<!doctype html><title>Unmask is briefly unavailable</title>"
            f"<h1>Unmask is briefly unavailable</h1><p>{OUTAGE_SENTENCE}</p>"
        )
        response = HttpResponse(page, status=503)
        response["Retry-After"] = str(RETRY_AFTER_S)
        return response


def _where(context: dict[str, Any]) -> str:
    request = context.get("request")
    return f"{request.method} {request.path}" if request is not None else "an API call"

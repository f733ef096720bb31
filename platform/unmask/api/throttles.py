"""Throttles for the API: every user has a budget, submitting analyses a stricter one.

The counters live in the cache (Redis in production). When Redis cannot be reached these
throttles fail open: the request is let through and a warning is logged, so reading results
keeps working during an outage, while the per-user cap on active jobs (kept in the database)
still bounds the work anyone can start. The sign-in throttle (accounts.api) is not one of
them: it fails closed (503), so passwords cannot be guessed unthrottled while Redis is away.
"""

import logging
from typing import Any

from rest_framework.throttling import AnonRateThrottle, UserRateThrottle

from unmask.outage import REDIS_ERRORS

logger = logging.getLogger(__name__)


class FailOpen:
    """Mixin for a cache-backed throttle: an unreachable cache lets the request through."""

    scope: str

    def allow_request(self, request: Any, view: Any) -> bool:
        try:
            return super().allow_request(request, view)  # type: ignore[misc]
        except REDIS_ERRORS as exc:
            logger.warning("throttle %s skipped, its cache is unreachable: %r", self.scope, exc)
            return True


class UserThrottle(FailOpen, UserRateThrottle):
    """Requests per signed-in user (rate: DEFAULT_THROTTLE_RATES["user"])."""


class AnonThrottle(FailOpen, AnonRateThrottle):
    """Requests per anonymous client address (rate: DEFAULT_THROTTLE_RATES["anon"])."""


class SubmitThrottle(FailOpen, UserRateThrottle):
    """New analyses per user (rate: DEFAULT_THROTTLE_RATES["submit"])."""

    scope = "submit"

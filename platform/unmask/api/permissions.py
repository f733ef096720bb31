"""Throttles for the API: every user has a budget, submitting analyses a stricter one."""

from rest_framework.throttling import UserRateThrottle


class SubmitThrottle(UserRateThrottle):
    """New analyses per user (rate: DEFAULT_THROTTLE_RATES["submit"])."""

    scope = "submit"

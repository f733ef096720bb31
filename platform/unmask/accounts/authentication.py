"""API authentication with per-device knox tokens: `Authorization: Token <key>`."""

from knox.auth import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed

from unmask.accounts.models import DeviceToken

KEYWORD = "Token"


class DeviceTokenAuthentication(TokenAuthentication):
    """knox token authentication (hashed, expiring tokens) that records each device's last use.

    Only tokens issued with a device (through `services.issue_token`) are accepted, so every
    working token is listed on its owner's profile and can be revoked there.
    """

    def authenticate_header(self, request) -> str:
        return KEYWORD

    def validate_user(self, auth_token):
        user, auth_token = super().validate_user(auth_token)
        try:
            device_token = auth_token.device_token
        except DeviceToken.DoesNotExist:
            raise AuthenticationFailed("Invalid token.") from None
        device_token.touch()
        return user, auth_token


def authenticate_key(key: str) -> DeviceToken | None:
    """The live device token for a raw key, or None (for callers outside DRF: websockets)."""
    try:
        _, auth_token = DeviceTokenAuthentication().authenticate_credentials(key.encode())
    except AuthenticationFailed:
        return None
    return auth_token.device_token

"""Issuing and revoking API tokens; the only code that creates or deletes them."""

from dataclasses import dataclass

from django.db import transaction
from knox.models import AuthToken
from knox.settings import knox_settings

from unmask.accounts.models import DeviceToken

DEVICE_MAX_LENGTH = DeviceToken._meta.get_field("device").max_length
UNNAMED_DEVICE = "Unnamed device"


@dataclass(frozen=True)
class IssuedToken:
    """A new token: `key` is shown to the caller once and stored only as a hash."""

    key: str
    token: DeviceToken


def device_name(raw: str) -> str:
    """A tidy, bounded device label from whatever the client sent."""
    name = " ".join(raw.split())[:DEVICE_MAX_LENGTH]
    return name or UNNAMED_DEVICE


@transaction.atomic
def issue_token(user, device: str) -> IssuedToken:
    """Create a hashed knox token (expiry from REST_KNOX TOKEN_TTL) labelled with its device."""
    auth_token, key = AuthToken.objects.create(user=user, expiry=knox_settings.TOKEN_TTL)
    token = DeviceToken.objects.create(auth_token=auth_token, device=device_name(device))
    return IssuedToken(key=key, token=token)


def revoke_token(token: DeviceToken) -> None:
    """Delete the knox token; the device row goes with it, and the key stops working at once."""
    token.auth_token.delete()

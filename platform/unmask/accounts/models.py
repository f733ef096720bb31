"""Per-device API tokens: knox keeps the hashed token and its expiry, we add the device."""

from django.conf import settings
from django.db import models
from django.utils import timezone

# How stale `last_used` may get before a request writes it again: one write per minute, not
# one per API call.
LAST_USED_RESOLUTION_S = 60


class DeviceTokenQuerySet(models.QuerySet):
    def owned_by(self, user) -> "DeviceTokenQuerySet":
        """The user's tokens that still work (expired ones are refused and hidden)."""
        now = timezone.now()
        return self.filter(auth_token__user=user).exclude(auth_token__expiry__lt=now)


class DeviceToken(models.Model):
    """One API token of one device (the extension in a browser, a script, a phone)."""

    auth_token = models.OneToOneField(
        settings.KNOX_TOKEN_MODEL, on_delete=models.CASCADE, related_name="device_token"
    )
    device = models.CharField(max_length=100)
    last_used = models.DateTimeField(null=True, blank=True)

    objects = DeviceTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-auth_token__created"]

    def __str__(self) -> str:
        return f"{self.device} ({self.auth_token.user})"

    @property
    def user(self):
        return self.auth_token.user

    @property
    def created(self):
        return self.auth_token.created

    @property
    def expiry(self):
        return self.auth_token.expiry

    def touch(self) -> None:
        """Record a use, at most once per LAST_USED_RESOLUTION_S."""
        now = timezone.now()
        if self.last_used and (now - self.last_used).total_seconds() < LAST_USED_RESOLUTION_S:
            return
        DeviceToken.objects.filter(pk=self.pk).update(last_used=now)
        self.last_used = now

from django.contrib import admin

from unmask.accounts.models import DeviceToken


@admin.register(DeviceToken)
class DeviceTokenAdmin(admin.ModelAdmin):
    """Tokens are issued by signing in through the API; staff can only inspect and revoke."""

    list_display = ["device", "user", "created", "expiry", "last_used"]
    list_select_related = ["auth_token__user"]
    search_fields = ["device", "auth_token__user__username"]
    readonly_fields = ["auth_token", "device", "last_used"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def delete_model(self, request, obj: DeviceToken) -> None:
        obj.auth_token.delete()

    def delete_queryset(self, request, queryset) -> None:
        for token in queryset.select_related("auth_token"):
            token.auth_token.delete()

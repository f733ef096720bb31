from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "unmask.accounts"
    label = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        # Registers the OpenAPI description of our token authentication with drf-spectacular.
        from unmask.accounts import schema  # noqa: F401

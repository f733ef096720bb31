from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "unmask.api"
    label = "api"
    verbose_name = "API"

from django.apps import AppConfig


class DetectionConfig(AppConfig):
    name = "detection"
    verbose_name = "Detection"
    default_auto_field = "django.db.models.BigAutoField"

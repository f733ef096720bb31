from django.apps import AppConfig


class ReviewConfig(AppConfig):
    name = "unmask.review"
    label = "review"
    verbose_name = "Review"

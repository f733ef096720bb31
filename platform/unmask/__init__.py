"""The Unmask web platform (Django project package)."""

from unmask.celery import app as celery_app

__all__ = ["celery_app"]

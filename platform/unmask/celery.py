"""Celery app: reads CELERY_* from Django settings and finds tasks in installed apps."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "unmask.settings")

app = Celery("unmask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

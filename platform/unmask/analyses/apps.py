from django.apps import AppConfig


class AnalysesConfig(AppConfig):
    name = "unmask.analyses"
    label = "analyses"
    verbose_name = "Analyses"

    def ready(self) -> None:
        from django.core.signals import request_started

        from unmask.analyses import tasks

        # The embedded runner starts with the server's first request, not at import time,
        # so `manage.py migrate` or a test run never spawns worker threads by accident.
        request_started.connect(tasks.start_runner_on_request, dispatch_uid="unmask-job-runner")

"""The Celery path: task name, queue routing, late acks, JSON ids only."""

from unmask.celery import app


def test_the_task_is_registered_late_acked_and_routed_to_detection():
    from unmask.analyses.tasks import run_analysis_task

    assert "detection.run_analysis" in app.tasks
    assert run_analysis_task.acks_late and run_analysis_task.reject_on_worker_lost
    route = app.amqp.router.route({}, "detection.run_analysis", args=("some-id",))
    assert route["queue"].name == "detection"
    assert app.conf.task_serializer == "json" and app.conf.accept_content == ["json"]
    assert app.conf.worker_prefetch_multiplier == 1

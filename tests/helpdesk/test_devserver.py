"""The in-process beat used by ``make run`` without Redis runs the beat schedule."""

import time

import pytest
from celery.schedules import schedule

from helpdesk.celery import app
from helpdesk.devserver import start_in_process_beat

pytestmark = pytest.mark.django_db(transaction=True)

calls: list[float] = []


@app.task(name="tests.record_beat")
def record_beat() -> None:
    calls.append(time.monotonic())


def test_in_process_beat_runs_due_tasks(settings) -> None:  # type: ignore[no-untyped-def]
    assert app.conf.task_always_eager
    original = app.conf.beat_schedule
    app.conf.beat_schedule = {"record": {"task": "tests.record_beat", "schedule": schedule(0.2)}}
    service = start_in_process_beat()
    try:
        deadline = time.monotonic() + 10
        while len(calls) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        service.stop()
        app.conf.beat_schedule = original
    assert len(calls) >= 2

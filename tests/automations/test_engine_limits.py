"""Nothing waits in the broker longer than its visibility timeout.

Redis hands a message that is not acknowledged within ``visibility_timeout`` to another worker;
a task held back by a longer countdown or ETA would run twice. Long waits are database scans
(beat), so every countdown in the code, and every automatic retry policy, must stay below it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
VISIBILITY_TIMEOUT = settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
# A margin for the worker's own delay between taking a message and acknowledging it.
LONGEST_WAIT = VISIBILITY_TIMEOUT / 2


def _bounded_delay_functions() -> dict[str, Callable[[int], float]]:
    """The functions every ``countdown=`` of a file takes its value from, by file."""
    from automations.webhooks import webhook_retry_delay
    from tickets.delivery import retry_delay

    return {
        "tickets/tasks.py": retry_delay,
        "automations/tasks_webhooks.py": lambda attempt: webhook_retry_delay(
            attempt, retry_after=10.0**9
        ),
    }


def _source_files() -> list[Path]:
    skip = {".venv", "tests", "node_modules", "migrations", "bench", "static"}
    return [
        path
        for path in ROOT.rglob("*.py")
        if not skip & set(path.relative_to(ROOT).parts) and not path.name.startswith(".")
    ]


def test_every_countdown_and_eta_in_the_code_has_a_known_bound() -> None:
    uses: dict[str, list[str]] = {}
    for path in _source_files():
        text = path.read_text()
        found = re.findall(r"\b(countdown|eta)\s*=\s*([^,)\n]+)", text)
        if found:
            uses[str(path.relative_to(ROOT))] = [f"{name}={value.strip()}" for name, value in found]
    bounded = _bounded_delay_functions()
    unknown = {path: found for path, found in uses.items() if path not in bounded}
    assert not unknown, (
        "a countdown/ETA this test does not know: bound it below the broker's visibility "
        f"timeout and add the function computing it to _bounded_delay_functions: {unknown}"
    )
    for path, delay in bounded.items():
        worst = max(delay(attempt) for attempt in range(1, 200) for _ in range(20))
        assert 0 <= worst < LONGEST_WAIT, (path, worst)


def test_every_automatic_retry_policy_stays_below_the_visibility_timeout() -> None:
    from helpdesk.celery import app

    app.loader.import_default_modules()
    checked = []
    for name, task in app.tasks.items():
        if name.startswith("celery."):
            continue
        if getattr(task, "autoretry_for", ()):
            backoff = getattr(task, "retry_backoff", False)
            longest = task.retry_backoff_max if backoff else task.default_retry_delay
            assert longest < LONGEST_WAIT, (name, longest)
            checked.append(name)
        # self.retry() without a countdown waits default_retry_delay.
        assert task.default_retry_delay < LONGEST_WAIT, name
    assert "automations.tasks.evaluate_event_task" in checked
    assert "automations.tasks.drain_events_task" in checked


def test_the_evaluator_retries_database_errors_only() -> None:
    from django.db import IntegrityError, InterfaceError, OperationalError, ProgrammingError

    from automations.tasks import drain_events_task, evaluate_event_task

    for task in (drain_events_task, evaluate_event_task):
        retried = task.autoretry_for
        assert issubclass(OperationalError, retried) and issubclass(InterfaceError, retried)
        for bug in (IntegrityError, ProgrammingError, ValueError, KeyError, ZeroDivisionError):
            assert not issubclass(bug, retried), (task.name, bug)
        assert task.acks_late and task.reject_on_worker_lost, task.name


def test_a_drain_is_a_short_task() -> None:
    """A drain gives the worker back after its time budget (and enqueues its continuation):
    far below the visibility timeout, and short enough for other organizations' drains."""
    from automations.engine.batch import TIME_BUDGET_SECONDS

    assert 0 < TIME_BUDGET_SECONDS <= 10

"""Thin tasks: ids in, engine call. Events are evaluated by ``drain_events_task`` (one per
organization, enqueued by the outbox when none is pending); ``evaluate_event_task`` processes
one event alone (kept for messages already in a broker and for tests of duplicate delivery).

Every countdown here stays far below the broker's visibility timeout
(``CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]``, an hour): a retry that waited
longer would be delivered a second time by Redis meanwhile. Longer waits are database scans
(the beat tasks below).
"""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.db import connection

from automations.engine.batch import events_drain
from automations.engine.evaluate import (
    RETRYABLE_ERRORS,
    event_failed,
    event_process,
    events_requeue_stale,
)

# Backoff of a retried evaluation: 2, 4, 8, … seconds (with jitter), never above 5 minutes;
# after the last retry the beat scan takes over (``events_requeue_stale``).
EVALUATE_RETRY_BACKOFF = 2
EVALUATE_RETRY_BACKOFF_MAX = 300
EVALUATE_MAX_RETRIES = 8

# The evaluating tasks' delivery: acknowledged once done, redelivered when the worker dies,
# retried (with backoff) only for database errors.
EVALUATE_TASK_OPTIONS: dict[str, Any] = {
    "bind": True,
    "acks_late": True,
    "reject_on_worker_lost": True,
    "autoretry_for": RETRYABLE_ERRORS,
    "retry_backoff": EVALUATE_RETRY_BACKOFF,
    "retry_backoff_max": EVALUATE_RETRY_BACKOFF_MAX,
    "retry_jitter": True,
    "max_retries": EVALUATE_MAX_RETRIES,
}


@shared_task(**EVALUATE_TASK_OPTIONS)
def evaluate_event_task(self: Any, organization_id: int, event_id: int) -> str:
    try:
        return event_process(organization_id=organization_id, event_id=event_id)
    except RETRYABLE_ERRORS as exc:
        # The connection may be what broke: the retry starts on a new one (also when the worker
        # keeps connections across tasks).
        connection.close()
        event_failed(organization_id=organization_id, event_id=event_id, error=exc)
        raise
    except Exception as exc:
        event_failed(organization_id=organization_id, event_id=event_id, error=exc)
        raise


@shared_task(**EVALUATE_TASK_OPTIONS)
def drain_events_task(self: Any, organization_id: int) -> int:
    """All of the organization's waiting events, in batches (``events_drain``). The outbox
    enqueues one when none is pending; the engine's errors are recorded on the events."""
    try:
        return events_drain(organization_id=organization_id)
    except RETRYABLE_ERRORS:
        # The retry starts on a new connection (also when the worker keeps connections).
        connection.close()
        raise


@shared_task(acks_late=True)
def requeue_stale_events_task() -> int:
    return events_requeue_stale()


@shared_task(acks_late=True)
def scan_time_workflows_task() -> int:
    from automations.engine.timer import timer_scan

    return timer_scan()


@shared_task(acks_late=True)
def prune_workflow_runs_task() -> int:
    """Beat: deletes not-matched runs past their retention, in capped batches."""
    from automations.engine.retention import runs_prune

    return runs_prune()

"""Thin tasks: ids in, engine call."""

from __future__ import annotations

from celery import shared_task
from django.db import InterfaceError, OperationalError

from automations.engine.evaluate import event_process, events_requeue_stale


@shared_task(
    bind=True,
    acks_late=True,
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=2,
    retry_backoff_max=300,
    max_retries=8,
)
def evaluate_event_task(self, organization_id: int, event_id: int) -> str:  # type: ignore[no-untyped-def]
    return event_process(organization_id=organization_id, event_id=event_id)


@shared_task(acks_late=True)
def requeue_stale_events_task() -> int:
    return events_requeue_stale()


@shared_task(acks_late=True)
def scan_time_workflows_task() -> int:
    from automations.engine.timer import timer_scan

    return timer_scan()

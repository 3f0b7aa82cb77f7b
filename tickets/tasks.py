"""Delivery tasks: thin (ids in, service call)."""

from typing import Any

from celery import shared_task

from tickets.delivery import deliveries_requeue_stuck, message_deliver

# Well above the SMTP timeout of one attempt and below the "stale sending" threshold, so that
# a hung attempt is killed before the requeue scan calls it interrupted. No soft limit: an
# exception in the middle of a send would read as a failure worth retrying, and it is not (the
# outcome is unknown).
DELIVERY_TIME_LIMIT = 300


@shared_task(bind=True, acks_late=True, max_retries=None, time_limit=DELIVERY_TIME_LIMIT)
def deliver_message_task(self: Any, organization_id: int, message_id: int) -> str:
    outcome = message_deliver(organization_id=organization_id, message_id=message_id)
    if outcome.retry_in is not None:
        raise self.retry(countdown=outcome.retry_in)
    return outcome.status


@shared_task
def requeue_stuck_deliveries_task() -> int:
    return deliveries_requeue_stuck()

"""Tasks for the outside effects of workflow actions: webhook calls and notification mail.
Thin: ids in, service call."""

from __future__ import annotations

import smtplib
from typing import Any

from celery import shared_task
from django.conf import settings

from automations.webhooks import webhook_deliver, webhooks_requeue_stuck

# Well above one attempt's 5 s timeout.
WEBHOOK_TIME_LIMIT = 60


@shared_task(bind=True, acks_late=True, max_retries=None, time_limit=WEBHOOK_TIME_LIMIT)
def deliver_webhook_task(self: Any, organization_id: int, delivery_pk: int) -> str:
    outcome = webhook_deliver(organization_id=organization_id, delivery_pk=delivery_pk)
    if outcome.retry_in is not None:
        raise self.retry(countdown=outcome.retry_in)
    return outcome.status


@shared_task(acks_late=True)
def requeue_stuck_webhooks_task() -> int:
    return webhooks_requeue_stuck()


@shared_task(
    acks_late=True,
    autoretry_for=(smtplib.SMTPException, OSError),
    retry_backoff=int(settings.DELIVERY_RETRY_BASE_SECONDS) or 1,
    retry_backoff_max=int(settings.DELIVERY_RETRY_MAX_SECONDS),
    retry_jitter=True,
    max_retries=6,
)
def send_workflow_email_task(
    organization_id: int, to: str, subject: str, body: str, message_id: str
) -> None:
    from automations.actions.mail import workflow_email_send

    workflow_email_send(
        organization_id=organization_id, to=to, subject=subject, body=body, message_id=message_id
    )

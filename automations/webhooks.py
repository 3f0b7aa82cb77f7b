"""Webhook calls of workflows: stored as ``WebhookDelivery`` rows, sent after commit by
``deliver_webhook_task``.

- The body and its signature are fixed when the action runs: every attempt sends the same
  bytes with the same ``X-Helpdesk-Delivery`` id, which receivers use to drop repeats.
- ``X-Helpdesk-Signature: sha256=<hex HMAC-SHA256 of the body keyed with the secret>``.
- A 5 s timeout per attempt; network errors, timeouts, 5xx and 429 are retried with
  exponential backoff (never a countdown above ``DELIVERY_RETRY_MAX_SECONDS``, far below the
  broker's visibility timeout) up to ``WEBHOOK_MAX_ATTEMPTS``; any other answer (4xx, a
  redirect) fails at once. Delivery is at least once: a worker that dies mid-attempt leaves
  the row ``sending``, and the requeue scan sends it again once that attempt is stale.
- Private and loopback addresses are refused (``automations.backends.http``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import random
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any

from celery.exceptions import Retry
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from automations.backends.http import HttpError, UnsafeUrlError, post_json
from automations.engine.context import EvalContext
from automations.models import WebhookDelivery, WebhookStatus, Workflow, WorkflowRun
from helpdesk.models import Organization

logger = logging.getLogger(__name__)

WEBHOOK_TIMEOUT_SECONDS = 5.0
SIGNATURE_HEADER = "X-Helpdesk-Signature"
DELIVERY_HEADER = "X-Helpdesk-Delivery"
EVENT_HEADER = "X-Helpdesk-Event"


def max_attempts() -> int:
    return int(getattr(settings, "WEBHOOK_MAX_ATTEMPTS", 6))


def webhook_sign(*, secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def webhook_signature_valid(*, secret: str, body: bytes, signature: str) -> bool:
    """For receivers (and tests): constant-time comparison."""
    return hmac.compare_digest(webhook_sign(secret=secret, body=body), signature)


def webhook_payload(
    ctx: EvalContext, *, workflow_id: int, workflow_name: str, delivery_id: str
) -> dict[str, Any]:
    """What the receiver learns: the event, the ticket and the workflow."""
    ticket = ctx.ticket
    customer = ticket.customer
    email = ""
    if customer is not None:
        email = customer.emails.order_by("id").values_list("email", flat=True).first() or ""
    tags = sorted(ticket.ticket_tags.values_list("tag__name", flat=True))
    custom_status = ticket.custom_status.name if ticket.custom_status is not None else None
    return {
        "delivery": delivery_id,
        "event": ctx.event_name,
        "occurred_at": ctx.at.isoformat(),
        "organization": ctx.organization.slug,
        "workflow": {"id": workflow_id, "name": workflow_name},
        "ticket": {
            "id": ticket.pk,
            "number": ticket.number,
            "subject": ticket.subject,
            "status": ticket.status,
            "custom_status": custom_status,
            "priority": ticket.priority,
            "type": ticket.ticket_type,
            "source": ticket.source,
            "team": ticket.team.name if ticket.team is not None else None,
            "assignee": ticket.assignee.email if ticket.assignee is not None else None,
            "customer": {
                "name": customer.name if customer is not None else "",
                "email": email,
            },
            "tags": tags,
            "created_at": ticket.created_at.isoformat(),
        },
    }


def webhook_create(
    *,
    ctx: EvalContext,
    url: str,
    secret: str,
    workflow_id: int,
    workflow_name: str,
    run_id: int | None = None,
) -> WebhookDelivery:
    """Stores the call and schedules its delivery for after the caller's commit."""
    delivery = WebhookDelivery(
        organization_id=ctx.organization.pk,
        workflow_id=workflow_id or None,
        run_id=run_id,
        ticket=ctx.ticket,
        url=url,
        status=WebhookStatus.QUEUED,
        due_at=timezone.now(),
    )
    payload = webhook_payload(
        ctx,
        workflow_id=workflow_id,
        workflow_name=workflow_name,
        delivery_id=str(delivery.delivery_id),
    )
    delivery.body = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    delivery.signature = webhook_sign(secret=secret, body=delivery.body.encode("utf-8"))
    delivery.save()
    transaction.on_commit(partial(webhook_enqueue, delivery.organization_id, delivery.pk))
    return delivery


def webhook_enqueue(organization_id: int, delivery_pk: int) -> bool:
    """A broker that is down only delays the call: the requeue scan picks the row up."""
    from automations.tasks_webhooks import deliver_webhook_task

    try:
        deliver_webhook_task.delay(organization_id, delivery_pk)
    except Retry:
        # Eager mode (no broker) cannot wait out a backoff: the row stays queued with its due
        # time, and the requeue scan sends it again.
        return True
    except Exception:
        logger.warning("could not enqueue webhook delivery %s", delivery_pk, exc_info=True)
        return False
    return True


def webhook_retry_delay(attempt: int, retry_after: float | None = None) -> float:
    """Exponential backoff with jitter (and the server's Retry-After when longer), never above
    ``DELIVERY_RETRY_MAX_SECONDS``."""
    base = float(
        getattr(settings, "WEBHOOK_RETRY_BASE_SECONDS", settings.DELIVERY_RETRY_BASE_SECONDS)
    )
    delay = base * (2 ** max(attempt - 1, 0)) * random.uniform(0.8, 1.2)
    if retry_after is not None:
        delay = max(delay, retry_after)
    return max(0.0, min(delay, float(settings.DELIVERY_RETRY_MAX_SECONDS)))


def _retry_after(headers: dict[str, str]) -> float | None:
    try:
        return float(headers.get("retry-after", ""))
    except ValueError:
        return None


@dataclass(frozen=True)
class WebhookOutcome:
    status: str
    retry_in: float | None = None


def _stale_after() -> timedelta:
    # Far longer than one attempt (timeout 5 s); a "sending" row older than this lost its
    # worker.
    return timedelta(seconds=getattr(settings, "WEBHOOK_SENDING_STALE_SECONDS", 120))


def webhook_deliver(*, organization_id: int, delivery_pk: int) -> WebhookOutcome:
    """One attempt (the task's body)."""
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.for_organization(organization_id)
            .select_for_update()
            .filter(pk=delivery_pk)
            .first()
        )
        if delivery is None:
            return WebhookOutcome("missing")
        if delivery.status in (WebhookStatus.DELIVERED, WebhookStatus.FAILED):
            return WebhookOutcome(delivery.status)
        now = timezone.now()
        if (
            delivery.status == WebhookStatus.SENDING
            and delivery.due_at is not None
            and delivery.due_at > now - _stale_after()
        ):
            return WebhookOutcome(WebhookStatus.SENDING)  # another task is on it
        delivery.status = WebhookStatus.SENDING
        delivery.attempts += 1
        delivery.due_at = now
        delivery.save(update_fields=["status", "attempts", "due_at"])
    event = json.loads(delivery.body).get("event", "")
    headers = {
        SIGNATURE_HEADER: delivery.signature,
        DELIVERY_HEADER: str(delivery.delivery_id),
        EVENT_HEADER: str(event),
    }
    retry_after = None
    try:
        response = post_json(
            delivery.url,
            delivery.body.encode("utf-8"),
            timeout=float(getattr(settings, "WEBHOOK_TIMEOUT_SECONDS", WEBHOOK_TIMEOUT_SECONDS)),
            headers=headers,
        )
    except UnsafeUrlError as exc:
        error, retryable, status_code = str(exc), False, None
    except HttpError as exc:
        error, retryable, status_code = str(exc), exc.retryable, None
    else:
        status_code = response.status
        if response.ok:
            _finish(delivery, WebhookStatus.DELIVERED, status_code=status_code)
            return WebhookOutcome(WebhookStatus.DELIVERED)
        retryable = response.retryable
        retry_after = _retry_after(response.headers) if status_code == 429 else None
        error = _("The receiver answered %(status)s.") % {"status": status_code}
    if retryable and delivery.attempts < max_attempts():
        delay = webhook_retry_delay(delivery.attempts, retry_after)
        with transaction.atomic():
            delivery.status = WebhookStatus.QUEUED
            delivery.error = error[:2000]
            delivery.response_status = status_code
            delivery.due_at = timezone.now() + timedelta(seconds=delay)
            delivery.save(update_fields=["status", "error", "response_status", "due_at"])
        return WebhookOutcome(WebhookStatus.QUEUED, retry_in=delay)
    _finish(delivery, WebhookStatus.FAILED, status_code=status_code, error=error)
    return WebhookOutcome(WebhookStatus.FAILED)


def _finish(
    delivery: WebhookDelivery, status: str, *, status_code: int | None, error: str = ""
) -> None:
    delivery.status = status
    delivery.response_status = status_code
    delivery.error = error[:2000]
    delivery.finished_at = timezone.now()
    delivery.save(update_fields=["status", "response_status", "error", "finished_at"])


def webhooks_requeue_stuck(*, limit: int = 500) -> int:
    """Beat: deliveries no task will pick up (the broker was down at commit, a worker died
    mid-attempt) are enqueued again. Platform code: spans every organization."""
    now = timezone.now()
    overdue = Q(status=WebhookStatus.QUEUED, due_at__lt=now - timedelta(seconds=60))
    stale = Q(status=WebhookStatus.SENDING, due_at__lt=now - _stale_after())
    rows = list(
        WebhookDelivery.all_objects.filter(overdue | stale)
        .order_by("due_at")
        .values_list("pk", "organization_id")[:limit]
    )
    for pk, organization_id in rows:
        webhook_enqueue(organization_id, pk)
    return len(rows)


# --- reads (for the run log) ---------------------------------------------------------------


def webhook_deliveries_for_run(*, run: WorkflowRun) -> list[WebhookDelivery]:
    return list(
        WebhookDelivery.objects.for_organization(run.organization_id)
        .filter(run=run)
        .order_by("created_at", "id")
    )


def webhook_delivery_list(
    *, organization: Organization, workflow: Workflow | None = None, limit: int = 50
) -> list[WebhookDelivery]:
    """The latest deliveries of the organization (of one workflow), newest first."""
    queryset = WebhookDelivery.objects.for_organization(organization).select_related("ticket")
    if workflow is not None:
        queryset = queryset.filter(workflow=workflow)
    return list(queryset.order_by("-created_at", "-id")[:limit])

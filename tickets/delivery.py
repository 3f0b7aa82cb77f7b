"""Outbound delivery: one Celery task per stored outbound message, through the adapter
registered for its channel.

Guarantees:
- a message is stored before anything is sent (``message_send``), and the task is enqueued
  only after that commit;
- transient failures retry with exponential backoff, up to ``DELIVERY_MAX_ATTEMPTS``; then the
  message is ``failed`` with the reason, shown to the agent;
- never twice: the row is locked and moved to ``sending`` before the adapter is called; a task
  that finds a message already ``sending`` never sends it. If that attempt started longer ago
  than any attempt can take (``DELIVERY_SENDING_STALE_SECONDS``), its worker died mid-send and
  the outcome is unknown, so the message is marked failed with that reason; a younger attempt
  may still be running (a duplicate task), so it is left alone. The adapter gets the message's
  idempotency key to hand to providers that deduplicate (email uses it as the Message-ID);
- nothing stays stuck: a broker that is down when the message is stored only delays it (the
  enqueue error is logged, the message stays ``queued``); the beat task
  ``requeue_stuck_deliveries_task`` re-enqueues messages overdue in ``queued`` (and stale in
  ``sending``) every minute.

Higher apps (telephony's SMS/WhatsApp, chat) register their adapters in ``AppConfig.ready``.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Protocol

from celery.exceptions import Retry
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_noop

from tickets import signals
from tickets.models import DeliveryStatus, Message, Ticket

logger = logging.getLogger(__name__)


class DeliveryError(Exception):
    """A delivery attempt failed; ``str(error)`` is the reason shown to the agent."""

    retryable = False


class TransientDeliveryError(DeliveryError):
    """Worth trying again later (connection refused, rate limited, 5xx)."""

    retryable = True


class PermanentDeliveryError(DeliveryError):
    """Will never work as it is (invalid address, rejected content, no channel set up)."""


class ChannelAdapter(Protocol):
    def send(self, message: Message) -> str:
        """Sends ``message``; returns the provider's id for it. Raises DeliveryError."""
        ...


_adapters: dict[str, ChannelAdapter] = {}


def adapter_register(channel: str, adapter: ChannelAdapter) -> None:
    _adapters[channel] = adapter


def adapter_for(channel: str) -> ChannelAdapter | None:
    return _adapters.get(channel)


def delivery_schedule(*, message: Message) -> None:
    """Enqueue the delivery task once the transaction that stored ``message`` commits."""
    organization_id, message_id = message.organization_id, message.pk
    transaction.on_commit(lambda: delivery_enqueue(organization_id, message_id))


def delivery_enqueue(organization_id: int, message_id: int) -> bool:
    """Sends the delivery task to the broker. A broker that is down must not turn a stored
    reply into an error for the agent: the message stays queued and the beat scan enqueues it
    again (``deliveries_requeue_stuck``)."""
    from tickets.tasks import deliver_message_task

    try:
        deliver_message_task.delay(organization_id, message_id)
    except Retry:
        # Eager mode (development without a broker) runs the task here and cannot wait out a
        # backoff; the message is queued with its due time and the requeue scan takes it.
        return True
    except Exception:  # any broker error; the message is safe in the database
        logger.warning(
            "could not enqueue the delivery of message %s; it stays queued for the requeue scan",
            message_id,
            exc_info=True,
        )
        return False
    return True


def requeue_after() -> timedelta:
    return timedelta(seconds=getattr(settings, "DELIVERY_REQUEUE_AFTER_SECONDS", 60))


def sending_stale_after() -> timedelta:
    return timedelta(seconds=getattr(settings, "DELIVERY_SENDING_STALE_SECONDS", 900))


def deliveries_requeue_stuck(*, limit: int = 500) -> int:
    """Re-enqueues deliveries that no task is going to pick up: ``queued`` for longer than a
    minute past their due time (the broker was down, or the task was lost), and ``sending``
    for longer than any attempt can take (the task then marks them failed). Platform code:
    spans every organization. Returns how many were enqueued."""
    now = timezone.now()
    queued_before, sending_before = now - requeue_after(), now - sending_stale_after()
    overdue = Q(delivery_status=DeliveryStatus.QUEUED) & (
        Q(delivery_due_at__lt=queued_before)
        | Q(delivery_due_at__isnull=True, created_at__lt=queued_before)
    )
    stale = Q(delivery_status=DeliveryStatus.SENDING) & (
        Q(delivery_due_at__lt=sending_before)
        | Q(delivery_due_at__isnull=True, created_at__lt=sending_before)
    )
    with transaction.atomic():
        rows = list(
            Message.all_objects.filter(overdue | stale)
            .order_by("delivery_due_at", "id")
            .values_list("pk", "organization_id", "delivery_status")[:limit]
        )
        # A queued message is due again a minute from now, so a backlog in the broker is not
        # flooded with the same message every minute.
        Message.all_objects.filter(
            pk__in=[pk for pk, _org, status in rows if status == DeliveryStatus.QUEUED],
            delivery_status=DeliveryStatus.QUEUED,
        ).update(delivery_due_at=now)
        for pk, organization_id, _status in rows:
            transaction.on_commit(partial(delivery_enqueue, organization_id, pk))
    if rows:
        logger.info("re-enqueued %d stuck deliveries", len(rows))
    return len(rows)


@dataclass(frozen=True)
class DeliveryOutcome:
    status: str
    retry_in: float | None = None


def retry_delay(attempt: int) -> float:
    """Exponential backoff with jitter, capped well below the broker's visibility timeout."""
    base = settings.DELIVERY_RETRY_BASE_SECONDS * (2 ** max(attempt - 1, 0))
    return min(base, settings.DELIVERY_RETRY_MAX_SECONDS) * random.uniform(0.8, 1.2)


def _notify(message: Message) -> None:
    ticket = Ticket.objects.get(pk=message.ticket_id, organization_id=message.organization_id)
    signals.delivery_updated.send(sender=Ticket, ticket=ticket, message=message)


def _finish(message: Message, status: str, *, error: str = "", provider_id: str = "") -> None:
    message.delivery_status = status
    message.delivery_error = error[:2000]
    fields = ["delivery_status", "delivery_error"]
    if provider_id:
        message.provider_message_id = provider_id[:255]
        fields.append("provider_message_id")
    if status == DeliveryStatus.SENT:
        message.sent_at = timezone.now()
        fields.append("sent_at")
    message.save(update_fields=fields)
    _notify(message)


def message_deliver(*, organization_id: int, message_id: int) -> DeliveryOutcome:
    """One delivery attempt (the task's body)."""
    with transaction.atomic():
        message = (
            Message.objects.for_organization(organization_id)
            # The message row only: replies and notes on its ticket go on meanwhile.
            .select_for_update(of=("self",), no_key=True)
            .select_related("ticket")
            .filter(pk=message_id)
            .first()
        )
        if message is None:
            return DeliveryOutcome("missing")
        if message.delivery_status == DeliveryStatus.SENDING:
            started = message.delivery_due_at or message.created_at
            if started > timezone.now() - sending_stale_after():
                # Another task may be sending it right now (a duplicate enqueue): never both.
                return DeliveryOutcome(DeliveryStatus.SENDING)
            _finish(
                message,
                DeliveryStatus.FAILED,
                error=gettext_noop(
                    "The delivery was interrupted; it may or may not have reached the "
                    "customer, so it was not sent again. Check, then send it again if needed."
                ),
            )
            return DeliveryOutcome(DeliveryStatus.FAILED)
        if message.delivery_status != DeliveryStatus.QUEUED:
            # Sent, failed, or never meant for delivery (notes, inbound messages).
            return DeliveryOutcome(message.delivery_status or "not_queued")
        adapter = adapter_for(message.channel)
        if adapter is None:
            _finish(
                message,
                DeliveryStatus.FAILED,
                error=gettext_noop("No delivery is set up for this channel."),
            )
            return DeliveryOutcome(DeliveryStatus.FAILED)
        message.delivery_status = DeliveryStatus.SENDING
        message.delivery_attempts += 1
        message.delivery_due_at = timezone.now()
        message.save(update_fields=["delivery_status", "delivery_attempts", "delivery_due_at"])
    attempt = message.delivery_attempts
    try:
        provider_id = adapter.send(message)
    except DeliveryError as exc:
        error = str(exc) or exc.__class__.__name__
        retry = exc.retryable and attempt < settings.DELIVERY_MAX_ATTEMPTS
    except Exception as exc:
        logger.exception("delivery adapter crashed for message %s", message_id)
        error, retry = f"{exc.__class__.__name__}: {exc}", attempt < settings.DELIVERY_MAX_ATTEMPTS
    else:
        with transaction.atomic():
            _finish(message, DeliveryStatus.SENT, provider_id=provider_id)
        return DeliveryOutcome(DeliveryStatus.SENT)
    with transaction.atomic():
        if retry:
            delay = retry_delay(attempt)
            message.delivery_status = DeliveryStatus.QUEUED
            message.delivery_error = error[:2000]
            message.delivery_due_at = timezone.now() + timedelta(seconds=delay)
            message.save(update_fields=["delivery_status", "delivery_error", "delivery_due_at"])
            _notify(message)
            return DeliveryOutcome(DeliveryStatus.QUEUED, retry_in=delay)
        _finish(message, DeliveryStatus.FAILED, error=error)
    return DeliveryOutcome(DeliveryStatus.FAILED)

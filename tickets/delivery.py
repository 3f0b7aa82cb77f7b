"""Outbound delivery: one Celery task per stored outbound message, through the adapter
registered for its channel.

Guarantees:
- a message is stored before anything is sent (``message_send``), and the task is enqueued
  only after that commit;
- transient failures retry with exponential backoff, up to ``DELIVERY_MAX_ATTEMPTS``; then the
  message is ``failed`` with the reason, shown to the agent;
- never twice: the row is locked and moved to ``sending`` before the adapter is called; a task
  that finds a message already ``sending`` (its previous run died mid-send, so the outcome is
  unknown) marks it failed instead of sending again, and the adapter gets the message's
  idempotency key to hand to providers that deduplicate.

Higher apps (telephony's SMS/WhatsApp, chat) register their adapters in ``AppConfig.ready``.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from typing import Protocol

from django.conf import settings
from django.db import transaction
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
    from tickets.tasks import deliver_message_task

    organization_id, message_id = message.organization_id, message.pk
    transaction.on_commit(lambda: deliver_message_task.delay(organization_id, message_id))


@dataclass(frozen=True)
class DeliveryOutcome:
    status: str
    retry_in: float | None = None


def retry_delay(attempt: int) -> float:
    """Exponential backoff with jitter, capped well below the broker's visibility timeout."""
    base = settings.DELIVERY_RETRY_BASE_SECONDS * (2 ** max(attempt - 1, 0))
    return min(base, settings.DELIVERY_RETRY_MAX_SECONDS) * random.uniform(0.8, 1.2)


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
    ticket = Ticket.objects.get(pk=message.ticket_id, organization_id=message.organization_id)
    signals.delivery_updated.send(sender=Ticket, ticket=ticket, message=message)


DONE = (DeliveryStatus.SENT, DeliveryStatus.DELIVERED, DeliveryStatus.FAILED)


def message_deliver(*, organization_id: int, message_id: int) -> DeliveryOutcome:
    """One delivery attempt (the task's body)."""
    with transaction.atomic():
        message = (
            Message.objects.for_organization(organization_id)
            .select_for_update()
            .select_related("ticket")
            .filter(pk=message_id)
            .first()
        )
        if message is None or message.delivery_status in DONE:
            return DeliveryOutcome(message.delivery_status if message else "missing")
        if message.delivery_status == DeliveryStatus.SENDING:
            _finish(
                message,
                DeliveryStatus.FAILED,
                error=gettext_noop(
                    "The delivery was interrupted; it may or may not have reached the "
                    "customer, so it was not sent again. Check, then send it again if needed."
                ),
            )
            return DeliveryOutcome(DeliveryStatus.FAILED)
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
        message.save(update_fields=["delivery_status", "delivery_attempts"])
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
            message.delivery_status = DeliveryStatus.QUEUED
            message.delivery_error = error[:2000]
            message.save(update_fields=["delivery_status", "delivery_error"])
            return DeliveryOutcome(DeliveryStatus.QUEUED, retry_in=retry_delay(attempt))
        _finish(message, DeliveryStatus.FAILED, error=error)
    return DeliveryOutcome(DeliveryStatus.FAILED)

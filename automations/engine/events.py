"""Outbox receivers: each domain signal writes an ``Event`` row inside the transaction that
made the change, and schedules the evaluator on commit. Receivers do nothing else.

The evaluator is one **drain** task per organization, not one task per event: on commit, a
drain is enqueued only when none is pending for the organization (a cache key, ``cache.add``).
The drain deletes that key before it claims anything, so an event committed after that
enqueues a new drain, and one committed before is seen by the drain's claim. A drain lost on
its way (broker down, worker killed) is covered by the beat's requeue scan."""

from __future__ import annotations

import enum
import logging
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.dispatch import receiver

from automations.models import Event
from tickets import signals
from tickets.models import MessageKind, Ticket
from tickets.provenance import acting

logger = logging.getLogger(__name__)


def event_record(*, ticket: Ticket, name: str, payload: dict[str, Any]) -> Event:
    current = acting()
    if current is not None:
        payload = {**payload, "by_workflow": current.workflow_id, "depth": current.depth}
    event = Event.objects.create(
        organization_id=ticket.organization_id, name=name, ticket=ticket, payload=payload
    )
    transaction.on_commit(lambda: event_enqueue(event))
    return event


def event_enqueue(event: Event) -> bool:
    """Hands the event to its organization's drain; False when the broker could not take it
    (the event stays in the outbox and the beat scan enqueues a drain again: delayed, never
    lost)."""
    return drain_enqueue(event.organization_id) != DrainEnqueued.FAILED


# How long a pending drain keeps others from being enqueued. A drain that waits longer in the
# broker (a backlog) gets company: harmless, the second finds nothing to do or waits its turn.
DRAIN_PENDING_SECONDS = 60


class DrainEnqueued(enum.Enum):
    SENT = "sent"
    PENDING = "pending"  # one is on its way already
    FAILED = "failed"  # the broker could not take it


def drain_pending_key(organization_id: int) -> str:
    return f"wf-drain-pending:{organization_id}"


def drain_enqueue(organization_id: int) -> DrainEnqueued:
    """Enqueues a drain of the organization's events unless one is pending."""
    from automations.tasks import drain_events_task

    key = drain_pending_key(organization_id)
    try:
        added = cache.add(key, 1, timeout=DRAIN_PENDING_SECONDS)
    except Exception:  # no cache: enqueue anyway, a second drain is only wasteful
        logger.warning("no cache to dedupe drains of %s", organization_id, exc_info=True)
        added = True
    if not added:
        return DrainEnqueued.PENDING
    try:
        drain_events_task.delay(organization_id)
    except Exception:  # any broker error; the events are safe in the database
        logger.warning(
            "could not enqueue a drain of %s; beat will retry", organization_id, exc_info=True
        )
        drain_pending_forget(organization_id)
        return DrainEnqueued.FAILED
    return DrainEnqueued.SENT


def drain_pending_forget(organization_id: int) -> None:
    """The drain starts (or could not be sent): the next event enqueues a new one."""
    try:
        cache.delete(drain_pending_key(organization_id))
    except Exception:
        logger.warning("could not forget the pending drain of %s", organization_id, exc_info=True)


def _user_id(actor: Any) -> int | None:
    return getattr(actor, "user_id", None)


@receiver(signals.ticket_created, dispatch_uid="automations.ticket_created")
def on_ticket_created(sender: Any, ticket: Ticket, actor: Any = None, **kwargs: Any) -> None:
    event_record(ticket=ticket, name="ticket.created", payload={"actor": _user_id(actor)})


@receiver(signals.message_received, dispatch_uid="automations.message_received")
def on_message_received(
    sender: Any, ticket: Ticket, message: Any, first_customer_message: bool, **kwargs: Any
) -> None:
    event_record(
        ticket=ticket,
        name="message.received",
        payload={"message": message.pk, "first_customer_message": first_customer_message},
    )


@receiver(signals.message_sent, dispatch_uid="automations.message_sent")
def on_message_sent(sender: Any, ticket: Ticket, message: Any, **kwargs: Any) -> None:
    event_record(
        ticket=ticket,
        name="message.sent",
        payload={"message": message.pk, "automated": message.kind == MessageKind.AUTOMATED},
    )


@receiver(signals.ticket_assigned, dispatch_uid="automations.ticket_assigned")
def on_ticket_assigned(
    sender: Any, ticket: Ticket, assignee: Any, previous: Any, actor: Any = None, **kwargs: Any
) -> None:
    event_record(
        ticket=ticket,
        name="ticket.assigned",
        payload={
            "assignee": getattr(assignee, "pk", None),
            "previous": getattr(previous, "pk", None),
            "actor": _user_id(actor),
        },
    )


@receiver(signals.tag_added, dispatch_uid="automations.tag_added")
def on_tag_added(sender: Any, ticket: Ticket, tag: Any, actor: Any = None, **kwargs: Any) -> None:
    event_record(ticket=ticket, name="tag.added", payload={"tag": tag.pk, "actor": _user_id(actor)})


@receiver(signals.status_changed, dispatch_uid="automations.status_changed")
def on_status_changed(
    sender: Any, ticket: Ticket, old: str, new: str, actor: Any = None, **kwargs: Any
) -> None:
    event_record(
        ticket=ticket,
        name="status.changed",
        payload={"old": old, "new": new, "actor": _user_id(actor)},
    )


@receiver(signals.type_changed, dispatch_uid="automations.type_changed")
def on_type_changed(
    sender: Any, ticket: Ticket, old: str, new: str, actor: Any = None, **kwargs: Any
) -> None:
    event_record(
        ticket=ticket,
        name="type.changed",
        payload={"old": old, "new": new, "actor": _user_id(actor)},
    )


@receiver(signals.return_created, dispatch_uid="automations.return_created")
def on_return_created(sender: Any, ticket: Ticket, actor: Any = None, **kwargs: Any) -> None:
    event_record(ticket=ticket, name="return.created", payload={"actor": _user_id(actor)})

"""Outbox receivers: each domain signal writes an ``Event`` row inside the transaction that
made the change, and schedules the evaluator on commit. Receivers do nothing else."""

from __future__ import annotations

import logging
from typing import Any

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
    """Hands the event to the evaluator; False when the broker could not take it (the event
    stays in the outbox and the beat scan enqueues it again: delayed, never lost)."""
    from automations.tasks import evaluate_event_task

    try:
        evaluate_event_task.delay(event.organization_id, event.pk)
    except Exception:  # any broker error; the event is safe in the database
        logger.warning("could not enqueue event %s; beat will retry", event.pk, exc_info=True)
        return False
    return True


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

"""What a workflow's conditions look at: the event, its ticket, message, customer and tag,
loaded in a fixed number of queries."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any, TypeVar

from django.utils import timezone

from automations.models import Event
from helpdesk.models import Customer, Organization
from tickets.models import Direction, Message, Tag, Ticket

TICKET_RELATED = ("organization", "team", "inbox", "inbox__group", "customer", "assignee")

T = TypeVar("T")


@dataclass
class EvalContext:
    organization: Organization
    event_name: str  # "ticket.created", "message.received", …; "time" for timer runs
    at: datetime  # when the event happened (or the timer's now), aware
    ticket: Ticket
    message: Message | None = None
    tag: Tag | None = None
    payload: dict[str, Any] = field(default_factory=dict)
    # Values conditions compute once per context (a team's schedule state, names, …).
    _memo: dict[Any, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def customer(self) -> Customer | None:
        return self.ticket.customer

    @property
    def by_workflow(self) -> int | None:
        value = self.payload.get("by_workflow")
        return int(value) if value is not None else None

    @property
    def depth(self) -> int:
        return int(self.payload.get("depth") or 0)

    @property
    def first_customer_message(self) -> bool:
        return bool(self.payload.get("first_customer_message"))

    @cached_property
    def sender_email(self) -> str:
        """The address the triggering message came from (email, or the address typed into a
        web form), else the customer's first."""
        if self.message is not None:
            metadata = self.message.metadata or {}
            for key in ("email", "form"):
                data = metadata.get(key)
                address = (
                    data.get("from" if key == "email" else "email")
                    if isinstance(data, dict)
                    else None
                )
                if address:
                    return str(address).strip().lower()
        if self.customer is not None:
            first = self.customer.emails.order_by("id").first()
            if first is not None:
                return first.email.lower()
        return ""

    @cached_property
    def tag_ids(self) -> set[int]:
        return set(self.ticket.ticket_tags.values_list("tag_id", flat=True))

    @property
    def is_timer(self) -> bool:
        """A timer scan's context: no event happened, the ticket is looked at as it is."""
        return self.event_name == "time"

    @property
    def channel(self) -> str:
        """The triggering message's channel, else (timer runs, events without a message) the
        ticket's source. Timer runs use the source so that the condition agrees with its SQL
        form over ``Ticket.source``."""
        if self.message is not None and not self.is_timer:
            return str(self.message.channel)
        return str(self.ticket.source)

    @cached_property
    def customer_message(self) -> Message | None:
        """The triggering message, else the ticket's latest inbound one (``ticket.created`` is
        processed after the transaction that also stored the first message)."""
        if self.message is not None:
            return self.message
        return (
            Message.objects.filter(ticket=self.ticket, direction=Direction.INBOUND)
            .order_by("-created_at", "-id")
            .first()
        )

    def memo(self, key: Any, compute: Callable[[], T]) -> T:
        """``compute()`` once per context and key (several workflows of one event asking the
        same question pay for it once)."""
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]  # type: ignore[no-any-return]


def context_for_event(event: Event) -> EvalContext | None:
    """None when the event's ticket is gone (nothing left to act on)."""
    if event.ticket_id is None:
        return None
    ticket = (
        Ticket.objects.for_organization(event.organization_id)
        .select_related(*TICKET_RELATED)
        .filter(pk=event.ticket_id)
        .first()
    )
    if ticket is None:
        return None
    payload = dict(event.payload or {})
    message = None
    if payload.get("message"):
        message = Message.objects.filter(ticket=ticket, pk=payload["message"]).first()
    tag = None
    if payload.get("tag"):
        tag = Tag.objects.for_organization(event.organization_id).filter(pk=payload["tag"]).first()
    return EvalContext(
        organization=ticket.organization,
        event_name=event.name,
        at=event.created_at,
        ticket=ticket,
        message=message,
        tag=tag,
        payload=payload,
    )


def context_for_ticket(
    ticket: Ticket,
    *,
    at: datetime | None = None,
    event_name: str = "time",
    memo: dict[Any, Any] | None = None,
) -> EvalContext:
    """For timer runs and the "test against recent tickets" screen: the ticket as it is now,
    with its latest customer message standing in for the triggering one.

    ``memo``: a dict shared by the contexts of one scan (same organization, same ``at``), so
    that what conditions compute about the moment (a team's working hours) is computed once
    for the whole batch rather than once per ticket."""
    message = (
        Message.objects.filter(ticket=ticket, direction=Direction.INBOUND)
        .order_by("-created_at", "-id")
        .first()
    )
    ctx = EvalContext(
        organization=ticket.organization,
        event_name=event_name,
        at=at or timezone.now(),
        ticket=ticket,
        message=message,
        payload={"message": message.pk} if message else {},
    )
    if memo is not None:
        ctx._memo = memo
    return ctx

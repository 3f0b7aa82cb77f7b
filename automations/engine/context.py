"""What a workflow's conditions look at: the event, its ticket, message, customer and tag,
loaded in a fixed number of queries — for one event (``context_for_event``) or for a whole
batch of events at once (``contexts_for_events``: the same number of queries for 1 or 200)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any, TypeVar

from django.db.models import OuterRef, Subquery
from django.utils import timezone

from automations.models import Event
from helpdesk.models import Customer, CustomerEmail, Organization
from tickets.models import Direction, Message, Tag, Ticket, TicketTag

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
    # The batch this context was loaded with: what conditions read lazily (tags, the latest
    # customer message, the customer's address) is then read for the whole batch at once.
    batch: ContextBatch | None = field(default=None, repr=False, compare=False)
    # Values conditions compute once per context (a team's schedule state, …). They may only
    # depend on the organization and the moment ``at``: the contexts of a timer scan, and those
    # of one batch of events in the same minute, share one memo.
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
            if self.batch is not None:
                return self.batch.first_email(self.customer.pk)
            first = self.customer.emails.order_by("id").first()
            if first is not None:
                return first.email.lower()
        return ""

    @cached_property
    def tag_ids(self) -> set[int]:
        if self.batch is not None:
            return self.batch.tag_ids(self.ticket.pk)
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
        if self.batch is not None:
            return self.batch.latest_inbound(self.ticket.pk)
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


class ContextBatch:
    """What the contexts of one batch of events read lazily, read for all of them at the first
    use: one query whichever context asks first, none when no condition asks."""

    def __init__(self, organization_id: int, tickets: Iterable[Ticket]) -> None:
        self.organization_id = organization_id
        self.tickets = {ticket.pk: ticket for ticket in tickets}
        self._tag_ids: dict[int, set[int]] | None = None
        self._latest_inbound: dict[int, Message] | None = None
        self._first_email: dict[int, str] | None = None

    def tag_ids(self, ticket_id: int) -> set[int]:
        if self._tag_ids is None:
            found: dict[int, set[int]] = {}
            rows = (
                TicketTag.objects.for_organization(self.organization_id)
                .filter(ticket_id__in=list(self.tickets))
                .values_list("ticket_id", "tag_id")
            )
            for ticket, tag in rows:
                found.setdefault(ticket, set()).add(tag)
            self._tag_ids = found
        return set(self._tag_ids.get(ticket_id, ()))

    def latest_inbound(self, ticket_id: int) -> Message | None:
        """The ticket's latest inbound message (as ``EvalContext.customer_message``)."""
        if self._latest_inbound is None:
            latest = (
                Message.objects.filter(ticket_id=OuterRef("pk"), direction=Direction.INBOUND)
                .order_by("-created_at", "-id")
                .values("pk")[:1]
            )
            ids = (
                Ticket.objects.for_organization(self.organization_id)
                .filter(pk__in=list(self.tickets))
                .annotate(latest=Subquery(latest))
                .values("latest")
            )
            self._latest_inbound = {
                message.ticket_id: message
                for message in Message.objects.for_organization(self.organization_id).filter(
                    pk__in=Subquery(ids)
                )
            }
        return self._latest_inbound.get(ticket_id)

    def first_email(self, customer_id: int) -> str:
        """The customer's first address, lower case ("" without one)."""
        if self._first_email is None:
            customers = {t.customer_id for t in self.tickets.values() if t.customer_id}
            found: dict[int, str] = {}
            rows = (
                CustomerEmail.objects.for_organization(self.organization_id)
                .filter(customer_id__in=list(customers))
                .order_by("customer_id", "id")
                .values_list("customer_id", "email")
            )
            for customer, email in rows:
                found.setdefault(customer, email.lower())
            self._first_email = found
        return self._first_email.get(customer_id, "")


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def minute_of(at: datetime) -> datetime:
    """The key of the memo shared by the contexts of one batch whose events happened in the
    same minute (working hours are set to the minute)."""
    return at.replace(second=0, microsecond=0)


def contexts_for_events(
    events: Sequence[Event],
    *,
    organization_id: int,
    memos: dict[datetime, dict[Any, Any]] | None = None,
) -> dict[int, EvalContext]:
    """The contexts of several events of one organization, by event id, in a fixed number of
    queries whatever their number: the tickets with their related rows, the triggering
    messages, the tags of ``tag.added`` events (the last two only when some event has one);
    the tickets' tags, latest customer messages and customers' addresses are read for the
    whole batch when a condition first asks (``ContextBatch``). Events whose ticket is gone
    have no context. Events of one ticket share its ``Ticket`` instance.

    ``memos``: by minute (``minute_of``), the memo shared by the contexts of events in that
    minute (a team's working hours are looked up once per team and minute)."""
    ticket_ids = {event.ticket_id for event in events if event.ticket_id is not None}
    tickets: dict[int, Ticket] = {}
    if ticket_ids:
        tickets = {
            ticket.pk: ticket
            for ticket in Ticket.objects.for_organization(organization_id)
            .select_related(*TICKET_RELATED)
            .filter(pk__in=ticket_ids)
        }
    wanted = [event for event in events if event.ticket_id in tickets]
    message_ids = {_int_or_none((e.payload or {}).get("message")) for e in wanted} - {None}
    messages: dict[int, Message] = {}
    if message_ids:
        messages = {
            message.pk: message
            for message in Message.objects.for_organization(organization_id).filter(
                pk__in=message_ids, ticket_id__in=list(tickets)
            )
        }
    tag_ids = {_int_or_none((e.payload or {}).get("tag")) for e in wanted} - {None}
    tags: dict[int, Tag] = {}
    if tag_ids:
        tags = {
            tag.pk: tag
            for tag in Tag.objects.for_organization(organization_id).filter(pk__in=tag_ids)
        }
    batch = ContextBatch(organization_id, tickets.values())
    contexts: dict[int, EvalContext] = {}
    for event in wanted:
        ticket = tickets[event.ticket_id]  # type: ignore[index]
        payload = dict(event.payload or {})
        message = messages.get(_int_or_none(payload.get("message")) or 0)
        if message is not None and message.ticket_id != ticket.pk:
            message = None
        ctx = EvalContext(
            organization=ticket.organization,
            event_name=event.name,
            at=event.created_at,
            ticket=ticket,
            message=message,
            tag=tags.get(_int_or_none(payload.get("tag")) or 0),
            payload=payload,
            batch=batch,
        )
        if memos is not None:
            ctx._memo = memos.setdefault(minute_of(event.created_at), {})
        contexts[event.pk] = ctx
    return contexts


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

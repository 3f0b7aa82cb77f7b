"""Shared pieces of the condition, ANY/ALL and timer tests (no tests here): a small world of
tickets made through the real services at chosen instants, contexts, and a stand-in action."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import time_machine

from automations.engine import registry
from automations.engine.context import (
    TICKET_RELATED,
    EvalContext,
    context_for_event,
    context_for_ticket,
)
from automations.engine.evaluate import condition_holds
from automations.models import Event, Workflow
from helpdesk.models import Customer, Membership, Organization, Role, Team
from tests.factories import (
    CustomerFactory,
    MembershipFactory,
    TeamFactory,
    UserFactory,
    add_customer_email,
)
from tests.tickets.factories import make_inbox, make_tag
from tickets.models import (
    Channel,
    Inbox,
    InboxGroup,
    IntegrationAccount,
    Status,
    SystemType,
    Tag,
    Ticket,
)
from tickets.services.messages import InboundMessage, message_receive, message_send
from tickets.services.tickets import ticket_add_tag, ticket_create, ticket_set_status

# The "now" of the world's timer contexts: a Friday, 12:00 in Warsaw.
NOW = datetime(2026, 6, 12, 10, 0, tzinfo=UTC)


def at(when: datetime) -> Any:
    """Freezes the clock at ``when`` (services stamp ``timezone.now()``)."""
    return time_machine.travel(when, tick=False)


def receive(
    ticket: Ticket,
    *,
    body: str = "Hello",
    channel: str | None = None,
    subject: str = "",
    sender: str = "",
    customer: Customer | None = None,
    metadata: dict[str, Any] | None = None,
) -> None:
    data = dict(metadata or {})
    if sender:
        data["email"] = {"from": sender, "from_name": ""}
    message_receive(
        ticket=ticket,
        customer=customer if customer is not None else ticket.customer,
        inbound=InboundMessage(
            channel=channel or ticket.source, body_text=body, subject=subject, metadata=data
        ),
    )


def fresh(ticket: Ticket) -> Ticket:
    return (
        Ticket.objects.for_organization(ticket.organization_id)
        .select_related(*TICKET_RELATED)
        .get(pk=ticket.pk)
    )


def timer_ctx(ticket: Ticket, when: datetime = NOW) -> EvalContext:
    return context_for_ticket(fresh(ticket), at=when)


def event_ctx(ticket: Ticket, name: str, index: int = -1) -> EvalContext:
    """The context of the ticket's ``index``-th event called ``name`` (as the worker sees it)."""
    events = list(Event.objects.for_organization(ticket.organization_id).filter(ticket=ticket))
    matching = [event for event in events if event.name == name]
    assert matching, f"no {name} event on ticket {ticket.pk}: {[e.name for e in events]}"
    ctx = context_for_event(matching[index])
    assert ctx is not None
    return ctx


def holds(ctx: EvalContext, field_key: str, op: str, value: Any = None) -> bool:
    return condition_holds(ctx, {"field": field_key, "op": op, "value": value})


def workflow(org: Organization, conditions: dict[str, Any], **extra: Any) -> Workflow:
    from automations.engine.registry import trigger_of

    extra.setdefault("actions", [{"type": "t_mark", "params": {}}])
    return Workflow.objects.create(
        organization=org,
        name=extra.pop("name", "Test workflow"),
        description="x",
        enabled=extra.pop("enabled", True),
        trigger=trigger_of(conditions),
        conditions=conditions,
        **extra,
    )


@contextmanager
def mark_action() -> Iterator[list[int]]:
    """A stand-in action ``t_mark`` that records the tickets it acted on."""
    calls: list[int] = []

    def mark(action: registry.ActionContext, params: dict[str, Any]) -> str:
        calls.append(action.ctx.ticket.pk)
        return "marked"

    kind = registry.action_register(registry.ActionType("t_mark", "Mark", (), mark))
    try:
        yield calls
    finally:
        registry.ACTIONS.pop(kind.key, None)


@dataclass
class World:
    org: Organization
    team: Team
    other_team: Team
    agent: Membership
    group: InboxGroup
    inbox_a: Inbox  # in ``group``, through ``integration``
    inbox_b: Inbox  # no group, no account
    integration: IntegrationAccount
    marketplace: IntegrationAccount
    tag_a: Tag
    tag_b: Tag
    zofia: Customer
    jan: Customer
    tickets: dict[str, Ticket] = field(default_factory=dict)


def make_world(org: Organization) -> World:
    """Five tickets of ``org`` with different sources, customers, inboxes, accounts, tags,
    statuses, types and ages (relative to ``NOW``)."""
    team = TeamFactory(organization=org, name="Support")
    other_team = TeamFactory(organization=org, name="Returns")
    agent = MembershipFactory(
        organization=org, role=Role.AGENT, user=UserFactory(email=f"alex@{org.slug}.example")
    )
    group = InboxGroup.objects.create(organization=org, name="Shops")
    integration = IntegrationAccount.objects.create(
        organization=org, name="Shopify main", kind=IntegrationAccount.Kind.INTEGRATION
    )
    marketplace = IntegrationAccount.objects.create(
        organization=org, name="Allegro PL", kind=IntegrationAccount.Kind.MARKETPLACE
    )
    inbox_a = make_inbox(org, team, name="Shop mail", group=group, integration_account=integration)
    inbox_b = make_inbox(org, other_team, name="Returns mail", address="returns@acme.example")
    tag_a, tag_b = make_tag(org, "VIP"), make_tag(org, "Wholesale")
    zofia = CustomerFactory(organization=org, name="Zofia Kowalska")
    add_customer_email(zofia, "Zofia.K@Example.com")
    jan = CustomerFactory(organization=org, name="Jan Nowak")
    add_customer_email(jan, "jan@shop.example")
    world = World(
        org, team, other_team, agent, group, inbox_a, inbox_b, integration, marketplace,
        tag_a, tag_b, zofia, jan,
    )  # fmt: skip
    t = world.tickets

    with at(NOW - timedelta(hours=30)):  # email from Zofia, VIP, unanswered for 30 h
        t["refund"] = ticket_create(
            organization=org,
            subject="Refund for order 12",
            source=Channel.EMAIL,
            customer=zofia,
            inbox=inbox_a,
        )
        receive(
            t["refund"], body="I want my money back", subject="Refund", sender="Zofia.K@Example.com"
        )
        ticket_add_tag(actor=None, ticket=t["refund"], tag=tag_a)
    with at(NOW - timedelta(hours=2)):  # an SMS without a customer or inbox, 2 h old
        t["sms"] = ticket_create(organization=org, subject="Broken mirror", source=Channel.SMS)
        receive(t["sms"], body="the mirror arrived broken", subject="Refund")
    with at(NOW - timedelta(hours=50)):  # a return by chat, answered after a day, tagged
        t["return"] = ticket_create(
            organization=org,
            subject="Return of a lamp",
            source=Channel.CHAT,
            customer=jan,
            inbox=inbox_b,
            ticket_type=SystemType.RETURN,
            integration_account=marketplace,
        )
        receive(t["return"], body="Where do I send the lamp?")
        ticket_add_tag(actor=None, ticket=t["return"], tag=tag_b)
    with at(NOW - timedelta(hours=26)):
        message_send(actor=agent, ticket=fresh(t["return"]), body_text="Send it to us.")
    with at(NOW - timedelta(hours=10)):  # a web form ticket nobody wrote on, solved
        t["quiet"] = ticket_create(
            organization=org, subject="Invoice copy", source=Channel.WEB_FORM, team=team
        )
        ticket_set_status(actor=None, ticket=t["quiet"], status=Status.SOLVED)
    with at(NOW - timedelta(hours=100)):  # an old email whose customer wrote again 1 h ago
        t["old"] = ticket_create(
            organization=org,
            subject="Warranty question",
            source=Channel.EMAIL,
            customer=jan,
            inbox=inbox_a,
        )
        receive(t["old"], body="Is it covered?", sender="jan@shop.example")
    with at(NOW - timedelta(hours=1)):
        receive(t["old"], body="Any news about the refund?", sender="jan@shop.example")
    for key, ticket in t.items():
        t[key] = fresh(ticket)
    return world

"""Every condition and every operator, on both sides, evaluated on contexts of real tickets and
real events (as the worker builds them); their SQL forms agree with them; their sentences."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from automations.engine.evaluate import condition_text
from automations.engine.registry import CONDITIONS, listens_to, trigger_of
from helpdesk.models import Organization
from tests.automations.test_conditions_support import (
    NOW,
    World,
    at,
    event_ctx,
    fresh,
    holds,
    make_world,
    receive,
    timer_ctx,
)
from tests.factories import CustomerFactory, add_customer_email
from tests.tickets.factories import make_tag, make_ticket
from tickets.models import Channel, CustomTicketType, Status, Ticket
from tickets.services.messages import InboundMessage, message_receive
from tickets.services.tickets import ticket_add_tag, ticket_create, ticket_set_status

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(org: Organization) -> World:
    return make_world(org)


EVERY_CONDITION = {
    "source",
    "new_ticket",
    "weekday",
    "email",
    "subject",
    "customer_name",
    "message_text",
    "hour",
    "integration",
    "new_message",
    "action",
    "tag_added",
    "status_set",
    "last_customer_reply",
    "ticket_created",
    "reply_status",
    "ticket_status",
    "marketplace",
    "inbox",
    "inbox_group",
    "ticket_type",
    "working_hours",
    "tag",
}


def test_every_condition_of_the_spec_is_registered() -> None:
    assert set(CONDITIONS) >= EVERY_CONDITION
    for key in EVERY_CONDITION:
        kind = CONDITIONS[key]
        assert kind.describe is not None and kind.clean is not None, key
        assert str(kind.label)


# --- source ---------------------------------------------------------------------------------


def test_source_is_the_triggering_messages_channel(world: World) -> None:
    ticket = world.tickets["refund"]  # an email ticket
    ctx = event_ctx(ticket, "message.received")
    assert holds(ctx, "source", "is", ["email"])
    assert holds(ctx, "source", "is", ["sms", "email"])
    assert not holds(ctx, "source", "is", ["sms", "chat"])
    assert holds(ctx, "source", "is_not", ["sms"])
    assert not holds(ctx, "source", "is_not", ["chat", "email"])
    # The customer answers this email ticket by WhatsApp: that message's channel counts.
    receive(ticket, body="also on WhatsApp", channel=Channel.WHATSAPP)
    ctx = event_ctx(ticket, "message.received")
    assert holds(ctx, "source", "is", ["whatsapp"])
    assert not holds(ctx, "source", "is", ["email"])
    # Without a message (ticket created) and in timer runs: the ticket's source.
    assert holds(event_ctx(ticket, "ticket.created"), "source", "is", ["email"])
    assert holds(timer_ctx(ticket), "source", "is", ["email"])
    assert not holds(timer_ctx(ticket), "source", "is_not", ["email"])


# --- trigger conditions --------------------------------------------------------------------


def test_new_ticket_holds_on_ticket_created_only(world: World) -> None:
    ticket = world.tickets["refund"]
    assert holds(event_ctx(ticket, "ticket.created"), "new_ticket", "is")
    assert not holds(event_ctx(ticket, "message.received"), "new_ticket", "is")
    assert not holds(timer_ctx(ticket), "new_ticket", "is")
    assert CONDITIONS["new_ticket"].triggers == {"ticket.created"}


def test_new_message_holds_on_a_customer_message_only(world: World) -> None:
    ticket = world.tickets["refund"]
    assert holds(event_ctx(ticket, "message.received"), "new_message", "is")
    assert not holds(event_ctx(ticket, "ticket.created"), "new_message", "is")
    assert not holds(event_ctx(world.tickets["return"], "message.sent"), "new_message", "is")
    assert CONDITIONS["new_message"].triggers == {"message.received"}


def test_action_first_and_every_customer_message_and_return(world: World) -> None:
    old = world.tickets["old"]  # two customer messages
    first, second = event_ctx(old, "message.received", 0), event_ctx(old, "message.received", 1)
    assert holds(first, "action", "is", "first_customer_message")
    assert not holds(second, "action", "is", "first_customer_message")
    assert holds(first, "action", "is", "every_customer_message")
    assert holds(second, "action", "is", "every_customer_message")
    assert not holds(event_ctx(old, "ticket.created"), "action", "is", "every_customer_message")
    returned = world.tickets["return"]  # created with the type "return"
    assert holds(event_ctx(returned, "return.created"), "action", "is", "return_created")
    assert not holds(second, "action", "is", "return_created")
    assert not holds(
        event_ctx(returned, "return.created"), "action", "is", "first_customer_message"
    )
    assert CONDITIONS["action"].triggers == {"message.received", "return.created"}


def test_tag_added_is_the_tag_just_added(world: World) -> None:
    ticket = world.tickets["refund"]
    ctx = event_ctx(ticket, "tag.added")  # VIP
    assert holds(ctx, "tag_added", "is", world.tag_a.pk)
    assert not holds(ctx, "tag_added", "is", world.tag_b.pk)
    assert holds(ctx, "tag_added", "is_not", world.tag_b.pk)
    assert not holds(ctx, "tag_added", "is_not", world.tag_a.pk)
    # The ticket has the tag, but no tag was just added: neither operator holds.
    other = event_ctx(ticket, "message.received")
    assert not holds(other, "tag_added", "is", world.tag_a.pk)
    assert not holds(other, "tag_added", "is_not", world.tag_b.pk)


def test_status_set_is_the_new_status(world: World) -> None:
    ticket = world.tickets["quiet"]  # set to solved
    ctx = event_ctx(ticket, "status.changed")
    assert holds(ctx, "status_set", "is", "solved")
    assert not holds(ctx, "status_set", "is", "closed")
    assert holds(ctx, "status_set", "is_not", "closed")
    assert not holds(ctx, "status_set", "is_not", "solved")
    assert not holds(event_ctx(ticket, "ticket.created"), "status_set", "is", "new")
    assert not holds(timer_ctx(ticket), "status_set", "is", "solved")


# --- sender and content ---------------------------------------------------------------------


def test_email_operators_case_insensitive(world: World) -> None:
    ctx = event_ctx(world.tickets["refund"], "message.received")  # From: Zofia.K@Example.com
    assert holds(ctx, "email", "is", ["zofia.k@example.com"])
    assert holds(ctx, "email", "is", ["someone@else.example", "ZOFIA.K@EXAMPLE.COM"])
    assert not holds(ctx, "email", "is", ["zofia@example.com"])
    assert holds(ctx, "email", "is_not", ["someone@else.example"])
    assert not holds(ctx, "email", "is_not", ["Zofia.K@example.com"])
    assert holds(ctx, "email", "contains", "EXAMPLE.com")
    assert not holds(ctx, "email", "contains", "shop.example")
    assert holds(ctx, "email", "not_contains", "shop.example")
    assert not holds(ctx, "email", "not_contains", "zofia")


def test_email_of_a_message_without_mail_headers_is_the_customers(world: World) -> None:
    ctx = event_ctx(world.tickets["return"], "message.received")  # chat from Jan
    assert holds(ctx, "email", "is", ["jan@shop.example"])
    # No customer, no address: "is" never holds, "is not" always does.
    sms = event_ctx(world.tickets["sms"], "message.received")
    assert not holds(sms, "email", "is", ["jan@shop.example"])
    assert not holds(sms, "email", "contains", "@")
    assert holds(sms, "email", "is_not", ["jan@shop.example"])
    assert holds(sms, "email", "not_contains", "@")


def test_email_of_a_web_form_is_the_address_typed_in(org) -> None:  # type: ignore[no-untyped-def]
    customer = CustomerFactory(organization=org, name="Form Person")
    add_customer_email(customer, "first@example.com")
    ticket = ticket_create(
        organization=org, subject="Hi", source=Channel.WEB_FORM, customer=customer
    )
    receive(ticket, body="x", metadata={"form": {"email": "Typed@Example.com", "name": "F"}})
    ctx = event_ctx(ticket, "message.received")
    assert holds(ctx, "email", "is", ["typed@example.com"])
    assert not holds(ctx, "email", "is", ["first@example.com"])


def test_subject_contains(world: World) -> None:
    ctx = timer_ctx(world.tickets["refund"])  # "Refund for order 12"
    assert holds(ctx, "subject", "contains", "REFUND")
    assert holds(ctx, "subject", "contains", "order 12")
    assert not holds(ctx, "subject", "contains", "exchange")
    assert holds(ctx, "subject", "not_contains", "exchange")
    assert not holds(ctx, "subject", "not_contains", "refund")


def test_customer_name_contains(world: World) -> None:
    ctx = event_ctx(world.tickets["refund"], "message.received")  # Zofia Kowalska
    assert holds(ctx, "customer_name", "contains", "kowal")
    assert not holds(ctx, "customer_name", "contains", "nowak")
    assert holds(ctx, "customer_name", "not_contains", "nowak")
    assert not holds(ctx, "customer_name", "not_contains", "ZOFIA")
    nobody = event_ctx(world.tickets["sms"], "message.received")
    assert not holds(nobody, "customer_name", "contains", "a")
    assert holds(nobody, "customer_name", "not_contains", "a")


def test_message_text_contains_body_and_email_subject(world: World) -> None:
    ctx = event_ctx(world.tickets["refund"], "message.received")
    assert holds(ctx, "message_text", "contains", "MONEY back")
    assert holds(ctx, "message_text", "contains", "refund")  # the email's subject
    assert not holds(ctx, "message_text", "contains", "mirror")
    assert holds(ctx, "message_text", "not_contains", "mirror")
    assert not holds(ctx, "message_text", "not_contains", "money")
    # An SMS's "subject" is not part of what the customer wrote.
    sms = event_ctx(world.tickets["sms"], "message.received")
    assert holds(sms, "message_text", "contains", "mirror")
    assert not holds(sms, "message_text", "contains", "refund")


def test_message_text_on_each_message_and_on_ticket_created(world: World) -> None:
    old = world.tickets["old"]
    first, second = event_ctx(old, "message.received", 0), event_ctx(old, "message.received", 1)
    assert holds(first, "message_text", "contains", "covered")
    assert not holds(second, "message_text", "contains", "covered")
    assert holds(second, "message_text", "contains", "refund")
    # ``ticket.created`` carries no message: the ticket's latest customer message is read.
    assert holds(event_ctx(old, "ticket.created"), "message_text", "contains", "news")
    # Timer runs: the latest customer message.
    assert holds(timer_ctx(old), "message_text", "contains", "news")
    assert not holds(timer_ctx(old), "message_text", "contains", "covered")
    quiet = timer_ctx(world.tickets["quiet"])  # no message at all
    assert not holds(quiet, "message_text", "contains", "x")
    assert holds(quiet, "message_text", "not_contains", "x")


def test_integration_account(world: World) -> None:
    ctx = event_ctx(world.tickets["refund"], "message.received")  # through Shop mail's account
    assert holds(ctx, "integration", "is", world.integration.pk)
    assert not holds(ctx, "integration", "is", world.marketplace.pk)
    assert holds(ctx, "integration", "is_not", world.marketplace.pk)
    assert not holds(ctx, "integration", "is_not", world.integration.pk)
    sms = event_ctx(world.tickets["sms"], "message.received")  # no account
    assert not holds(sms, "integration", "is", world.integration.pk)
    assert holds(sms, "integration", "is_not", world.integration.pk)


# --- the ticket as it is ----------------------------------------------------------------------


@pytest.mark.parametrize("field_key", ["last_customer_reply", "ticket_created"])
def test_more_and_less_than_n_hours(world: World, field_key: str) -> None:
    ticket = world.tickets["refund"]  # created and last written 30 h before NOW
    assert holds(timer_ctx(ticket), field_key, "more_than", 24)
    assert not holds(timer_ctx(ticket), field_key, "more_than", 30)  # exactly 30: not more
    assert not holds(timer_ctx(ticket), field_key, "more_than", 48)
    assert holds(timer_ctx(ticket), field_key, "less_than", 48)
    assert not holds(timer_ctx(ticket), field_key, "less_than", 24)
    # Measured from the context's instant (the event's time).
    assert not holds(timer_ctx(ticket, NOW - timedelta(hours=10)), field_key, "more_than", 24)
    assert CONDITIONS[field_key].timer


def test_last_customer_reply_is_the_latest_customer_message(world: World) -> None:
    old = world.tickets["old"]  # created 100 h ago, the customer wrote again 1 h ago
    assert holds(timer_ctx(old), "ticket_created", "more_than", 24)
    assert not holds(timer_ctx(old), "last_customer_reply", "more_than", 24)
    assert holds(timer_ctx(old), "last_customer_reply", "less_than", 2)
    quiet = timer_ctx(world.tickets["quiet"])  # the customer never wrote
    assert not holds(quiet, "last_customer_reply", "more_than", 1)
    assert not holds(quiet, "last_customer_reply", "less_than", 1000)


def test_reply_status(world: World) -> None:
    unanswered, answered = timer_ctx(world.tickets["refund"]), timer_ctx(world.tickets["return"])
    assert holds(unanswered, "reply_status", "is", "not_answered")
    assert not holds(unanswered, "reply_status", "is", "answered")
    assert holds(answered, "reply_status", "is", "answered")
    assert holds(unanswered, "reply_status", "is_not", "answered")
    assert not holds(answered, "reply_status", "is_not", "answered")


def test_ticket_status(world: World) -> None:
    solved = timer_ctx(world.tickets["quiet"])
    assert holds(solved, "ticket_status", "is", ["solved", "closed"])
    assert not holds(solved, "ticket_status", "is", ["new", "open"])
    assert holds(solved, "ticket_status", "is_not", ["new", "open"])
    assert not holds(solved, "ticket_status", "is_not", ["solved"])


def test_marketplace_account(world: World) -> None:
    ctx = timer_ctx(world.tickets["return"])
    assert holds(ctx, "marketplace", "is", world.marketplace.pk)
    assert not holds(ctx, "marketplace", "is", world.integration.pk)
    assert holds(ctx, "marketplace", "is_not", world.integration.pk)
    assert not holds(ctx, "marketplace", "is_not", world.marketplace.pk)


def test_inbox_and_inbox_group(world: World) -> None:
    shop, returns, none = (timer_ctx(world.tickets[key]) for key in ("refund", "return", "sms"))
    a, b, group = world.inbox_a.pk, world.inbox_b.pk, world.group.pk
    assert holds(shop, "inbox", "is", [a]) and holds(shop, "inbox", "is", [b, a])
    assert not holds(returns, "inbox", "is", [a])
    assert holds(returns, "inbox", "is_not", [a])
    assert not holds(shop, "inbox", "is_not", [a])
    assert holds(none, "inbox", "is_not", [a, b]) and not holds(none, "inbox", "is", [a, b])
    assert holds(shop, "inbox_group", "is", [group])
    assert not holds(returns, "inbox_group", "is", [group])  # its inbox has no group
    assert holds(returns, "inbox_group", "is_not", [group])
    assert not holds(shop, "inbox_group", "is_not", [group])
    assert holds(none, "inbox_group", "is_not", [group])


def test_ticket_type_system_and_custom(world: World) -> None:
    returned, regular = timer_ctx(world.tickets["return"]), timer_ctx(world.tickets["refund"])
    assert holds(returned, "ticket_type", "is", ["return"])
    assert not holds(regular, "ticket_type", "is", ["return"])
    assert holds(regular, "ticket_type", "is_not", ["return"])
    assert not holds(returned, "ticket_type", "is_not", ["return", "review"])
    CustomTicketType.objects.create(organization=world.org, key="warranty", name="Warranty")
    claim = ticket_create(
        organization=world.org, subject="Claim", source=Channel.EMAIL, ticket_type="warranty"
    )
    assert holds(timer_ctx(claim), "ticket_type", "is", ["warranty"])
    assert not holds(timer_ctx(claim), "ticket_type", "is_not", ["warranty"])


def test_ticket_has_tag(world: World) -> None:
    vip = timer_ctx(world.tickets["refund"])
    untagged = timer_ctx(world.tickets["sms"])
    a, b = world.tag_a.pk, world.tag_b.pk
    assert holds(vip, "tag", "is", [b, a])
    assert not holds(vip, "tag", "is", [b])
    assert holds(vip, "tag", "is_not", [b])
    assert not holds(vip, "tag", "is_not", [a, b])
    assert holds(untagged, "tag", "is_not", [a]) and not holds(untagged, "tag", "is", [a])


# --- the SQL forms agree with the Python ones -------------------------------------------------

SQL_CASES: list[tuple[str, str, Any]] = [
    ("source", "is", ["email"]),
    ("source", "is", ["sms", "chat"]),
    ("source", "is_not", ["email"]),
    ("subject", "contains", "REFUND"),
    ("subject", "not_contains", "refund"),
    ("customer_name", "contains", "nowak"),
    ("customer_name", "not_contains", "nowak"),
    ("last_customer_reply", "more_than", 24),
    ("last_customer_reply", "less_than", 24),
    ("ticket_created", "more_than", 24),
    ("ticket_created", "less_than", 24),
    ("reply_status", "is", "not_answered"),
    ("reply_status", "is_not", "not_answered"),
    ("ticket_status", "is", ["new", "open"]),
    ("ticket_status", "is_not", ["solved"]),
    ("ticket_type", "is", ["return"]),
    ("ticket_type", "is_not", ["return"]),
    ("integration", "is", "integration"),
    ("integration", "is_not", "integration"),
    ("marketplace", "is", "marketplace"),
    ("marketplace", "is_not", "marketplace"),
    ("inbox", "is", ["inbox_a"]),
    ("inbox", "is_not", ["inbox_a"]),
    ("inbox_group", "is", ["group"]),
    ("inbox_group", "is_not", ["group"]),
    ("tag", "is", ["tag_a", "tag_b"]),
    ("tag", "is_not", ["tag_a"]),
]
# These SQL forms may select more (a prefilter): the scan checks each candidate in Python.
SUPERSET_CASES: list[tuple[str, str, Any]] = [
    ("email", "is", ["jan@shop.example"]),
    ("email", "contains", "example.com"),
    ("message_text", "contains", "refund"),
]


def _resolve(world: World, value: Any) -> Any:
    if isinstance(value, list):
        return [_resolve(world, item) for item in value]
    if isinstance(value, str) and hasattr(world, value):
        return getattr(world, value).pk
    return value


def _sql_and_python(world: World, key: str, op: str, value: Any) -> tuple[set[int], set[int]]:
    value = _resolve(world, value)
    q = CONDITIONS[key].to_q(op, value, NOW)  # type: ignore[misc]
    assert q is not None
    sql = set(Ticket.objects.for_organization(world.org).filter(q).values_list("pk", flat=True))
    python = {t.pk for t in world.tickets.values() if holds(timer_ctx(t), key, op, value)}
    return sql, python


@pytest.mark.parametrize(("key", "op", "value"), SQL_CASES)
def test_sql_form_selects_exactly_the_tickets_it_holds_on(
    world: World, key: str, op: str, value: Any
) -> None:
    sql, python = _sql_and_python(world, key, op, value)
    assert sql == python
    assert 0 < len(python) < len(world.tickets), "a case that tells tickets apart"


@pytest.mark.parametrize(("key", "op", "value"), SUPERSET_CASES)
def test_sql_prefilter_keeps_every_ticket_it_holds_on(
    world: World, key: str, op: str, value: Any
) -> None:
    sql, python = _sql_and_python(world, key, op, value)
    assert python and sql >= python
    assert len(sql) < len(world.tickets)


def test_message_text_prefilter_is_wider_than_the_latest_message(world: World) -> None:
    sql, python = _sql_and_python(world, "message_text", "contains", "covered")
    assert sql == {world.tickets["old"].pk} and python == set()


def test_conditions_without_sql_form_say_so() -> None:
    assert CONDITIONS["email"].to_q("is_not", ["a@b.example"], NOW) is None  # type: ignore[misc]
    assert CONDITIONS["message_text"].to_q("not_contains", "x", NOW) is None  # type: ignore[misc]


# --- sentences for run logs and the timeline --------------------------------------------------


def test_descriptions_read_as_sentences(world: World) -> None:
    def text(key: str, op: str, value: Any) -> str:
        return condition_text({"field": key, "op": op, "value": value})

    assert text("source", "is", ["email"]) == "source is Email"
    assert text("source", "is_not", ["sms", "chat", "email"]) == "source is not SMS, Chat or Email"
    assert text("subject", "contains", "refund") == "subject contains “refund”"
    assert text("ticket_created", "more_than", 24) == "ticket created more than 24 hours ago"
    assert text("last_customer_reply", "less_than", 1) == "last customer reply less than 1 hour ago"
    assert text("reply_status", "is", "not_answered") == "reply status is Not answered"
    assert text("weekday", "is", [0, 6]) == "day of week is Monday or Sunday"
    assert text("hour", "between", {"from": "22:00", "to": "06:00"}) == (
        "time is between 22:00 and 06:00"
    )
    assert text("inbox", "is", [world.inbox_a.pk]) == "inbox is Shop mail"
    assert text("inbox_group", "is_not", [world.group.pk]) == "inbox group is not Shops"
    assert text("tag_added", "is", world.tag_a.pk) == "tag “VIP” was added"
    assert text("tag", "is_not", [world.tag_a.pk]) == "ticket does not have the tag “VIP”"
    assert text("marketplace", "is", world.marketplace.pk) == "marketplace account is Allegro PL"
    assert text("integration", "is", world.integration.pk) == "integration is Shopify main"
    assert text("status_set", "is", "solved") == "status was set to Solved"
    assert text("ticket_status", "is", ["new", "open"]) == "ticket status is New or Open"
    assert text("ticket_type", "is", ["return"]) == "ticket type is Return"
    assert text("email", "is", ["a@x.example"]) == "sender's email is a@x.example"
    assert text("customer_name", "not_contains", "bot") == "customer name does not contain “bot”"
    assert text("message_text", "contains", "invoice") == "message contains “invoice”"
    assert text("action", "is", "return_created") == "a return was created"
    assert text("new_ticket", "is", None) == "a new ticket was created"
    assert text("working_hours", "outside", {"team": world.team.pk}) == (
        "outside the working hours of team Support"
    )
    assert text("working_hours", "inside", {"ticket_team": True}) == (
        "inside the working hours of the ticket's team"
    )
    assert text("inbox", "is", [999999]) == "inbox is #999999"  # deleted meanwhile


@pytest.mark.parametrize("key", sorted(EVERY_CONDITION))
def test_describe_never_raises_on_broken_values(key: str) -> None:
    for op in CONDITIONS[key].operators:
        for value in (None, "", [], {}, "garbage", [None], {"x": 1}, 12):
            assert isinstance(CONDITIONS[key].describe(op, value), str)  # type: ignore[misc]


# --- what makes a workflow listen to events, or run on the timer -----------------------------


def test_trigger_conditions_choose_events_and_timer_conditions_the_timer() -> None:
    reminder = {
        "all": [
            {"field": "reply_status", "op": "is", "value": "not_answered"},
            {"field": "ticket_created", "op": "more_than", "value": 24},
        ]
    }
    assert trigger_of(reminder) == "time"
    with_trigger = {"all": [*reminder["all"], {"field": "new_message", "op": "is", "value": None}]}
    assert trigger_of(with_trigger) == "event"
    assert listens_to({"all": [{"field": "tag_added", "op": "is", "value": 1}]}) == {"tag.added"}
    assert listens_to({"all": [{"field": "action", "op": "is", "value": "return_created"}]}) == {
        "message.received",
        "return.created",
    }
    # "Less than N hours" alone is checked when something happens, not on the timer.
    assert trigger_of({"all": [{"field": "ticket_created", "op": "less_than", "value": 2}]}) == (
        "event"
    )


def test_real_events_of_a_plain_ticket(org) -> None:  # type: ignore[no-untyped-def]
    """The events the services write carry what the conditions read."""
    with at(NOW):
        ticket = make_ticket(org, subject="Refund please", body="where is my refund")
        tag = make_tag(org, "urgent")
        ticket_add_tag(actor=None, ticket=ticket, tag=tag)
        ticket_set_status(actor=None, ticket=ticket, status=Status.SOLVED)
        message_receive(
            ticket=ticket,
            customer=None,
            inbound=InboundMessage(channel=Channel.EMAIL, body_text="thanks"),
        )
    assert holds(event_ctx(ticket, "tag.added"), "tag_added", "is", tag.pk)
    assert holds(event_ctx(ticket, "status.changed", 0), "status_set", "is", "solved")
    # The customer's message reopened the ticket.
    assert holds(event_ctx(ticket, "status.changed", 1), "status_set", "is", "open")
    assert holds(event_ctx(ticket, "message.received", 1), "message_text", "contains", "THANKS")
    assert not holds(
        event_ctx(ticket, "message.received", 1), "action", "is", "first_customer_message"
    )
    assert fresh(ticket).status == Status.OPEN

"""The ticket and message services: numbers, timestamps, reply status, events, signals."""

from __future__ import annotations

import threading

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection

from helpdesk.models import Role
from tests.factories import CustomerFactory, TeamFactory, add_team_member
from tests.tickets.factories import make_inbox, make_tag, make_ticket
from tickets import signals
from tickets.models import (
    CustomStatus,
    DeliveryStatus,
    Message,
    MessageKind,
    Priority,
    ReplyStatus,
    Status,
    SystemType,
    Ticket,
)
from tickets.services import messages, tickets

pytestmark = pytest.mark.django_db


class Recorder:
    def __init__(self, *sigs) -> None:  # type: ignore[no-untyped-def]
        self.calls: list[tuple[str, dict]] = []  # type: ignore[type-arg]
        self.sigs = sigs
        for sig in sigs:
            sig.connect(self._make(sig), weak=False, dispatch_uid=f"rec-{id(self)}-{id(sig)}")

    def _make(self, sig):  # type: ignore[no-untyped-def]
        name = next(k for k, v in vars(signals).items() if v is sig)

        def receiver(sender, **kwargs):  # type: ignore[no-untyped-def]
            self.calls.append((name, kwargs))

        return receiver

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]

    def close(self) -> None:
        for sig in self.sigs:
            sig.disconnect(dispatch_uid=f"rec-{id(self)}-{id(sig)}")


@pytest.fixture
def record():  # type: ignore[no-untyped-def]
    recorders = []

    def make(*sigs):  # type: ignore[no-untyped-def]
        recorder = Recorder(*sigs)
        recorders.append(recorder)
        return recorder

    yield make
    for recorder in recorders:
        recorder.close()


def test_numbers_are_sequential_per_organization(org, other_org) -> None:  # type: ignore[no-untyped-def]
    first = make_ticket(org)
    second = make_ticket(org)
    theirs = make_ticket(other_org)
    assert (first.number, second.number, theirs.number) == (1, 2, 1)


@pytest.mark.django_db(transaction=True)
def test_numbers_stay_unique_under_concurrent_creation(org) -> None:  # type: ignore[no-untyped-def]
    if connection.vendor != "postgresql":
        pytest.skip("needs concurrent writers (PostgreSQL)")
    make_ticket(org, body=None)  # the counter row exists
    errors: list[BaseException] = []

    def create() -> None:
        try:
            for _ in range(5):
                tickets.ticket_create(organization=org, subject="x", source="email")
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=create) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    numbers = sorted(Ticket.objects.for_organization(org).values_list("number", flat=True))
    assert numbers == list(range(1, 32))


def test_first_customer_message_and_reply_status(org, agent, record) -> None:  # type: ignore[no-untyped-def]
    rec = record(signals.ticket_created, signals.message_received, signals.message_sent)
    customer = CustomerFactory(organization=org)
    ticket = make_ticket(org, customer=customer)
    assert ticket.reply_status == ReplyStatus.NOT_ANSWERED
    assert ticket.last_customer_message_at is not None
    assert rec.names() == ["ticket_created", "message_received"]
    assert rec.calls[1][1]["first_customer_message"] is True

    reply = messages.message_send(actor=agent, ticket=ticket, body_text="We are on it.")
    ticket.refresh_from_db()
    assert reply.delivery_status in (DeliveryStatus.QUEUED, DeliveryStatus.FAILED)
    assert ticket.reply_status == ReplyStatus.ANSWERED
    assert ticket.first_response_at == ticket.last_agent_message_at
    assert ticket.status == Status.OPEN

    messages.message_receive(
        ticket=ticket,
        customer=customer,
        inbound=messages.InboundMessage(channel="email", body_text="Thanks, any news?"),
    )
    ticket.refresh_from_db()
    assert ticket.reply_status == ReplyStatus.NOT_ANSWERED
    assert rec.calls[-1][0] == "message_received"
    assert rec.calls[-1][1]["first_customer_message"] is False


def test_automated_messages_do_not_answer_the_customer(org) -> None:  # type: ignore[no-untyped-def]
    ticket = make_ticket(org)
    message = messages.message_send(
        ticket=ticket, body_text="We got your message.", automation_label="Auto-reply"
    )
    ticket.refresh_from_db()
    assert message.kind == MessageKind.AUTOMATED
    assert message.automation_label == "Auto-reply"
    assert ticket.reply_status == ReplyStatus.NOT_ANSWERED
    assert ticket.first_response_at is None
    with pytest.raises(ValidationError):
        messages.message_send(ticket=ticket, body_text="Who sent me?")


def test_customer_reply_reopens_a_solved_ticket(org, agent) -> None:  # type: ignore[no-untyped-def]
    ticket = make_ticket(org)
    tickets.ticket_set_status(actor=agent, ticket=ticket, status=Status.SOLVED)
    messages.message_receive(
        ticket=ticket, customer=None, inbound=messages.InboundMessage("email", "Still broken")
    )
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN


def test_notes_are_never_delivered(org, agent) -> None:  # type: ignore[no-untyped-def]
    ticket = make_ticket(org)
    note = messages.note_add(actor=agent, ticket=ticket, body_text="Customer is a VIP")
    assert note.kind == MessageKind.NOTE
    assert note.delivery_status == ""
    ticket.refresh_from_db()
    assert ticket.reply_status == ReplyStatus.NOT_ANSWERED


def test_viewers_cannot_write(org, viewer) -> None:  # type: ignore[no-untyped-def]
    ticket = make_ticket(org)
    with pytest.raises(PermissionDenied):
        messages.message_send(actor=viewer, ticket=ticket, body_text="hi")
    with pytest.raises(PermissionDenied):
        tickets.ticket_set_status(actor=viewer, ticket=ticket, status=Status.CLOSED)


def test_other_organizations_cannot_write(org, outsider) -> None:  # type: ignore[no-untyped-def]
    ticket = make_ticket(org)
    with pytest.raises(PermissionDenied):
        messages.note_add(actor=outsider, ticket=ticket, body_text="hi")
    with pytest.raises(PermissionDenied):
        tickets.ticket_assign(actor=outsider, ticket=ticket, assignee=outsider.user)


def test_assign_status_type_priority_tags_leave_events(org, agent, manager, record) -> None:  # type: ignore[no-untyped-def]
    rec = record(
        signals.ticket_assigned,
        signals.status_changed,
        signals.type_changed,
        signals.return_created,
        signals.priority_changed,
        signals.tag_added,
    )
    ticket = make_ticket(org)
    tickets.ticket_assign(actor=manager, ticket=ticket, assignee=agent.user)
    pending = CustomStatus.objects.create(
        organization=org, name="Waiting for parts", base_status=Status.PENDING
    )
    tickets.ticket_set_status(actor=agent, ticket=ticket, status="", custom_status=pending)
    tickets.ticket_set_type(actor=agent, ticket=ticket, ticket_type=SystemType.RETURN)
    tickets.ticket_set_priority(actor=agent, ticket=ticket, priority=Priority.URGENT)
    vip = make_tag(org, "VIP")
    assert tickets.ticket_add_tag(actor=agent, ticket=ticket, tag=vip) is True
    assert tickets.ticket_add_tag(actor=agent, ticket=ticket, tag=vip) is False
    ticket.refresh_from_db()
    assert ticket.assignee == agent.user
    assert ticket.status == Status.PENDING
    assert ticket.custom_status == pending
    assert ticket.ticket_type == SystemType.RETURN
    assert list(ticket.tags.all()) == [vip]
    assert rec.names() == [
        "ticket_assigned",
        "status_changed",
        "type_changed",
        "return_created",
        "priority_changed",
        "tag_added",
    ]
    events = list(
        Message.objects.filter(ticket=ticket, kind=MessageKind.SYSTEM).values_list(
            "metadata__event", flat=True
        )
    )
    assert events == [
        "Assigned to %(name)s",
        "Status set to %(status)s",
        "Type set to %(type)s",
        "Priority set to %(priority)s",
        "Tag %(tag)s added",
    ]


def test_assignee_must_belong_to_the_organization(org, agent, outsider) -> None:  # type: ignore[no-untyped-def]
    ticket = make_ticket(org)
    with pytest.raises(ValidationError):
        tickets.ticket_assign(actor=agent, ticket=ticket, assignee=outsider.user)


def test_unknown_type_is_refused(org, agent) -> None:  # type: ignore[no-untyped-def]
    ticket = make_ticket(org)
    with pytest.raises(ValidationError):
        tickets.ticket_set_type(actor=agent, ticket=ticket, ticket_type="nonsense")


def test_merge_moves_messages_and_tags_and_closes_the_source(org, agent) -> None:  # type: ignore[no-untyped-def]
    customer = CustomerFactory(organization=org)
    target = make_ticket(org, customer=customer, subject="First")
    source = make_ticket(org, customer=customer, subject="Second", body="More details")
    tickets.ticket_add_tag(actor=agent, ticket=source, tag=make_tag(org, "mirror"))
    tickets.ticket_merge(actor=agent, source=source, target=target)
    source.refresh_from_db()
    target.refresh_from_db()
    assert source.merged_into == target
    assert source.status == Status.CLOSED
    bodies = list(
        Message.objects.filter(ticket=target, kind=MessageKind.MESSAGE).values_list(
            "body_text", flat=True
        )
    )
    assert bodies == ["Hello, my mirror is broken.", "More details"]
    assert [t.name for t in target.tags.all()] == ["mirror"]
    with pytest.raises(ValidationError):
        tickets.ticket_merge(actor=agent, source=target, target=target)


def test_ticket_from_an_inbox_takes_its_team(org) -> None:  # type: ignore[no-untyped-def]
    team = TeamFactory(organization=org)
    inbox = make_inbox(org, team)
    ticket = make_ticket(org, inbox=inbox)
    assert ticket.team == team


def test_agents_see_tickets_of_their_teams(org, agent, manager, client_for) -> None:  # type: ignore[no-untyped-def]
    from tickets.selectors import ticket_visible

    mine, theirs = TeamFactory(organization=org), TeamFactory(organization=org)
    add_team_member(mine, agent.user)
    visible = make_ticket(org, team=mine)
    hidden = make_ticket(org, team=theirs)
    no_team = make_ticket(org)
    assert set(ticket_visible(actor=agent)) == {visible, no_team}
    assert set(ticket_visible(actor=manager)) == {visible, hidden, no_team}
    tickets.ticket_assign(actor=manager, ticket=hidden, assignee=agent.user)
    assert hidden in set(ticket_visible(actor=agent))
    assert agent.role == Role.AGENT


def test_event_labels_are_shown_in_the_readers_language(org, agent) -> None:  # type: ignore[no-untyped-def]
    from django.utils import translation

    from tickets.selectors.timeline import event_text

    ticket = make_ticket(org)
    with translation.override("de"):
        tickets.ticket_set_status(actor=agent, ticket=ticket, status=Status.SOLVED)
    event = Message.objects.filter(ticket=ticket, kind=MessageKind.SYSTEM).get()
    assert event.metadata["params"] == {"status": "Solved"}
    assert event_text(event) == "Status set to Solved"
    with translation.override("pl"):
        assert event_text(event) != "Status set to Solved"
        assert translation.gettext("Solved") in event_text(event)


def test_an_automated_sender_neither_reopens_nor_unanswers(org, agent) -> None:  # type: ignore[no-untyped-def]
    ticket = make_ticket(org)
    messages.message_send(actor=agent, ticket=ticket, body_text="Fixed.")
    tickets.ticket_set_status(actor=agent, ticket=ticket, status=Status.SOLVED)
    ticket.refresh_from_db()
    last_customer = ticket.last_customer_message_at
    messages.message_receive(
        ticket=ticket,
        customer=None,
        inbound=messages.InboundMessage(
            "email", "I am out of office", sender_is_automated=True, automated_reason="auto"
        ),
    )
    ticket.refresh_from_db()
    assert ticket.status == Status.SOLVED
    assert ticket.reply_status == ReplyStatus.ANSWERED
    assert ticket.last_customer_message_at == last_customer


def test_web_form_tickets_are_answered_by_email(org, agent) -> None:  # type: ignore[no-untyped-def]
    ticket = make_ticket(org, source="web_form")
    reply = messages.message_send(actor=agent, ticket=ticket, body_text="Thanks!")
    assert reply.channel == "email"


def test_automated_messages_never_answer_an_automated_sender(org, agent) -> None:  # type: ignore[no-untyped-def]
    ticket = make_ticket(org, body=None)
    messages.message_receive(
        ticket=ticket,
        customer=None,
        inbound=messages.InboundMessage(
            "email", "Out of office", sender_is_automated=True, automated_reason="auto-submitted"
        ),
    )
    with pytest.raises(ValidationError) as error:
        messages.message_send(ticket=ticket, body_text="Thanks!", automation_label="Auto-reply")
    assert error.value.code == "automated_recipient"
    assert not Message.objects.filter(ticket=ticket, kind=MessageKind.AUTOMATED).exists()
    # A person may still answer.
    messages.message_send(actor=agent, ticket=ticket, body_text="We will reply when you are back.")

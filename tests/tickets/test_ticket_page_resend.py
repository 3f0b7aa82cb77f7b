"""Sending a failed message again (``message_resend``): a new message through
``message_send``, the failed one kept as the record, through the real delivery machinery."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.urls import reverse

from helpdesk.models import Membership, Organization
from tests.factories import TeamFactory, add_team_member
from tests.tickets.factories import make_ticket
from tickets import delivery
from tickets.delivery import PermanentDeliveryError, message_deliver
from tickets.models import DeliveryStatus, Message, Ticket
from tickets.services.attachments import AttachmentUpload
from tickets.services.messages import message_send
from tickets.services.resend import message_resend

pytestmark = pytest.mark.django_db

ClientFor = Callable[[Membership], Client]
CHANNEL = "sms"  # no real adapter for it in this app: the test plugs its own


class FlakyAdapter:
    """Rejects the first message it sees, accepts the rest."""

    def __init__(self) -> None:
        self.sent: list[int] = []

    def send(self, message: Message) -> str:
        if not self.sent:
            self.sent.append(-message.pk)
            raise PermanentDeliveryError("Recipient address rejected: <no@example.com>")
        self.sent.append(message.pk)
        return f"provider-{message.pk}"


@pytest.fixture
def adapter() -> Iterator[FlakyAdapter]:
    previous = delivery.adapter_for(CHANNEL)
    fake = FlakyAdapter()
    delivery.adapter_register(CHANNEL, fake)
    try:
        yield fake
    finally:
        if previous is None:
            delivery._adapters.pop(CHANNEL, None)
        else:
            delivery.adapter_register(CHANNEL, previous)


@pytest.fixture
def team(org: Organization, agent: Membership) -> Any:
    team = TeamFactory(organization=org, name="Returns")
    add_team_member(team, agent.user)
    return team


@pytest.fixture
def ticket(org: Organization, team: Any) -> Ticket:
    return make_ticket(org, subject="Web form question", source=CHANNEL, team=team)


def deliver(message: Message) -> Message:
    message_deliver(organization_id=message.organization_id, message_id=message.pk)
    message.refresh_from_db()
    return message


def test_failed_delivery_is_shown_with_its_reason_and_sent_again_as_a_new_message(
    org: Organization,
    agent: Membership,
    ticket: Ticket,
    adapter: FlakyAdapter,
    client_for: ClientFor,
) -> None:
    original = message_send(
        ticket=ticket,
        body_text="Here is your label.",
        actor=agent,
        subject="Label",
        attachments=[AttachmentUpload("label.pdf", b"%PDF label", "application/pdf")],
    )
    failed = deliver(original)
    assert failed.delivery_status == DeliveryStatus.FAILED
    client = client_for(agent)
    detail = reverse("ticket-detail", kwargs={"org": "acme", "number": ticket.number})
    page = client.get(detail).content.decode()
    assert "Reason: Recipient address rejected: &lt;no@example.com&gt;" in page

    resend = reverse(
        "ticket-message-resend",
        kwargs={"org": "acme", "number": ticket.number, "message_id": failed.pk},
    )
    assert client.post(resend).status_code == 302

    copy = (
        Message.objects.for_organization(org)
        .exclude(pk=failed.pk)
        .get(body_text="Here is your label.")
    )
    assert (copy.subject, copy.channel, copy.author_user) == ("Label", CHANNEL, agent.user)
    assert copy.metadata["resent_from"] == failed.pk
    copied = copy.attachments.get()
    assert (copied.filename, copied.content_type, copied.file.read()) == (
        "label.pdf",
        "application/pdf",
        b"%PDF label",
    )
    assert copied.file.name != failed.attachments.get().file.name
    assert deliver(copy).delivery_status == DeliveryStatus.SENT
    assert adapter.sent == [-failed.pk, copy.pk]

    failed.refresh_from_db()
    assert failed.delivery_status == DeliveryStatus.FAILED  # left as the record
    assert failed.delivery_attempts == 1
    page = client.get(detail).content.decode()
    assert page.count('data-delivery="failed"') == 1
    assert page.count('data-delivery="sent"') == 1


def test_resend_refuses_what_is_not_a_failed_outbound_message(
    org: Organization, agent: Membership, ticket: Ticket
) -> None:
    queued = message_send(ticket=ticket, body_text="Queued", actor=agent)
    inbound = ticket.messages.get(direction="inbound")
    for message in (queued, inbound):
        with pytest.raises(ValidationError):
            message_resend(actor=agent, message=message)


def test_resend_twice_sends_once(org: Organization, agent: Membership, ticket: Ticket) -> None:
    failed = message_send(ticket=ticket, body_text="Once", actor=agent)
    Message.objects.filter(pk=failed.pk, organization=org).update(delivery_status="failed")
    message_resend(actor=agent, message=failed)
    with pytest.raises(ValidationError, match="already sent again"):
        message_resend(actor=agent, message=failed)
    assert Message.objects.filter(ticket=ticket, body_text="Once").count() == 2


def test_resend_needs_an_agent_of_the_organization(
    org: Organization,
    agent: Membership,
    viewer: Membership,
    outsider: Membership,
    ticket: Ticket,
) -> None:
    failed = message_send(ticket=ticket, body_text="Nope", actor=agent)
    Message.objects.filter(pk=failed.pk, organization=org).update(delivery_status="failed")
    for actor in (viewer, outsider):
        with pytest.raises(PermissionDenied):
            message_resend(actor=actor, message=failed)
    assert Message.objects.filter(ticket=ticket, body_text="Nope").count() == 1


def test_failed_automated_message_can_be_sent_again_by_an_agent(
    org: Organization, agent: Membership, ticket: Ticket
) -> None:
    automated = message_send(ticket=ticket, body_text="Auto", automation_label="Workflow X")
    Message.objects.filter(pk=automated.pk, organization=org).update(delivery_status="failed")
    copy = message_resend(actor=agent, message=automated)
    assert (copy.kind, copy.author_user, copy.delivery_status) == ("message", agent.user, "queued")

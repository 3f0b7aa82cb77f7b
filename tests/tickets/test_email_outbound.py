"""Outbound mail: the headers that thread a reply, RFC 3834 on automated mail, and SMTP replies
mapped to retry or fail (against a real SMTP conversation with a fake server on loopback)."""

from __future__ import annotations

from collections.abc import Iterator
from email import message_from_bytes, policy
from email.utils import parseaddr

import pytest
from django.core import mail

from helpdesk.models import Customer
from tests.factories import TeamFactory, add_customer_email
from tests.tickets.emails import FakeSMTPServer, free_port, sample
from tests.tickets.factories import make_inbox, make_ticket
from tickets.delivery import (
    PermanentDeliveryError,
    TransientDeliveryError,
    adapter_for,
    message_deliver,
)
from tickets.email.inbound import email_ingest
from tickets.email.outbound import EmailAdapter, reply_subject
from tickets.models import Channel, DeliveryStatus, Message, Ticket
from tickets.services import messages as message_services
from tickets.services.attachments import AttachmentUpload

pytestmark = pytest.mark.django_db


@pytest.fixture
def team(org):  # type: ignore[no-untyped-def]
    return TeamFactory(organization=org, name="Support", display_name="Acme Support")


@pytest.fixture
def inbox(org, team):  # type: ignore[no-untyped-def]
    return make_inbox(org, team)


@pytest.fixture
def ticket(inbox) -> Ticket:  # type: ignore[no-untyped-def]
    """A ticket that Jan opened by mail."""
    message = email_ingest(inbox=inbox, raw=sample("plain")).message
    assert message is not None
    return message.ticket


def _send(message: Message) -> mail.EmailMessage:
    before = len(mail.outbox)
    provider_id = EmailAdapter().send(message)
    assert len(mail.outbox) == before + 1
    sent = mail.outbox[-1]
    assert sent.extra_headers["Message-ID"] == provider_id
    return sent


def test_the_email_adapter_is_registered() -> None:
    assert isinstance(adapter_for(Channel.EMAIL), EmailAdapter)


def test_a_reply_threads_in_the_customer_mail_program(org, agent, ticket) -> None:  # type: ignore[no-untyped-def]
    body = "New one <b>soon</b>."
    reply = message_services.message_send(actor=agent, ticket=ticket, body_text=body)
    sent = _send(reply)
    assert sent.from_email == "Acme Support <support@acme.example>"
    assert sent.to == ["jan.kowalski@example.com"]
    assert sent.subject == f"Re: Zamówienie 1234 – pęknięte lustro {ticket.reference}"
    assert sent.extra_headers["Message-ID"] == f"<{reply.idempotency_key}@acme.example>"
    assert sent.extra_headers["In-Reply-To"] == "<CAJx7plain0001@mail.example.com>"
    assert sent.extra_headers["References"] == "<CAJx7plain0001@mail.example.com>"
    assert "Auto-Submitted" not in sent.extra_headers
    assert sent.body == "New one <b>soon</b>."
    html, mimetype = sent.alternatives[0]  # type: ignore[attr-defined]
    assert mimetype == "text/html"
    assert "&lt;b&gt;soon&lt;/b&gt;" in html
    # What goes over the wire carries the same headers.
    wire = sent.message()
    assert wire["Message-ID"] == f"<{reply.idempotency_key}@acme.example>"
    assert wire["In-Reply-To"] == "<CAJx7plain0001@mail.example.com>"


def test_the_message_id_is_the_same_on_every_attempt(org, agent, ticket) -> None:  # type: ignore[no-untyped-def]
    reply = message_services.message_send(actor=agent, ticket=ticket, body_text="Hi")
    assert EmailAdapter().send(reply) == EmailAdapter().send(reply)


def test_references_carry_the_whole_conversation(org, agent, inbox, ticket) -> None:  # type: ignore[no-untyped-def]
    first_reply = message_services.message_send(actor=agent, ticket=ticket, body_text="One")
    Message.objects.for_organization(org).filter(pk=first_reply.pk).update(
        provider_message_id=f"<{first_reply.idempotency_key}@acme.example>"
    )
    answer = (
        "From: jan.kowalski@example.com\nTo: support@acme.example\n"
        "Subject: Re: x\nMessage-ID: <jan-2@mail.example.com>\n"
        f"In-Reply-To: <{first_reply.idempotency_key}@acme.example>\n"
        "References: <older-thread@mail.example.com> <CAJx7plain0001@mail.example.com> "
        f"<{first_reply.idempotency_key}@acme.example>\n\nStill waiting.\n"
    ).encode()
    assert email_ingest(inbox=inbox, raw=answer).message.ticket_id == ticket.pk  # type: ignore[union-attr]
    second_reply = message_services.message_send(actor=agent, ticket=ticket, body_text="Two")
    sent = _send(second_reply)
    assert sent.extra_headers["In-Reply-To"] == "<jan-2@mail.example.com>"
    # The customer's chain (root first), then their mail itself last.
    assert sent.extra_headers["References"].split() == [
        "<older-thread@mail.example.com>",
        "<CAJx7plain0001@mail.example.com>",
        f"<{first_reply.idempotency_key}@acme.example>",
        "<jan-2@mail.example.com>",
    ]


def test_references_add_the_ticket_mail_the_customer_chain_lacks(org, agent, inbox, ticket) -> None:  # type: ignore[no-untyped-def]
    first_reply = message_services.message_send(actor=agent, ticket=ticket, body_text="One")
    Message.objects.for_organization(org).filter(pk=first_reply.pk).update(
        provider_message_id="<first@acme.example>"
    )
    # A mail that names the ticket only by its subject token (no threading headers).
    answer = (
        "From: jan.kowalski@example.com\nMessage-ID: <jan-3@mail.example.com>\n"
        f"Subject: Re: {ticket.reference}\n\nHello?\n"
    ).encode()
    email_ingest(inbox=inbox, raw=answer)
    sent = _send(message_services.message_send(actor=agent, ticket=ticket, body_text="Two"))
    assert sent.extra_headers["In-Reply-To"] == "<jan-3@mail.example.com>"
    assert sent.extra_headers["References"].split() == [
        "<CAJx7plain0001@mail.example.com>",
        "<first@acme.example>",
        "<jan-3@mail.example.com>",
    ]


def test_automated_mail_says_so(org, ticket) -> None:  # type: ignore[no-untyped-def]
    auto = message_services.message_send(
        ticket=ticket, body_text="We got your message.", automation_label="First reply"
    )
    sent = _send(auto)
    assert sent.extra_headers["Auto-Submitted"] == "auto-replied"
    assert sent.extra_headers["X-Auto-Response-Suppress"] == "All"
    assert sent.message()["Auto-Submitted"] == "auto-replied"


def test_a_reply_goes_to_the_reply_to_address_with_attachments(org, agent, inbox) -> None:  # type: ignore[no-untyped-def]
    ticket = email_ingest(inbox=inbox, raw=sample("attachments")).message.ticket  # type: ignore[union-attr]
    reply = message_services.message_send(
        actor=agent,
        ticket=ticket,
        body_text="Label attached.",
        attachments=[AttachmentUpload("label.pdf", b"%PDF-1.4 label", "application/pdf")],
    )
    sent = _send(reply)
    assert sent.to == ["ewa.orders@example.org"]
    assert sent.attachments == [("label.pdf", b"%PDF-1.4 label", "application/pdf")]


def test_without_an_inbound_mail_the_customer_first_address_is_used(org, agent, team) -> None:  # type: ignore[no-untyped-def]
    customer = Customer.objects.create(organization=org, name="Ann")
    add_customer_email(customer, "ann@example.com")
    add_customer_email(customer, "ann.second@example.com")
    ticket = make_ticket(org, customer=customer, team=team, body=None)
    reply = message_services.message_send(actor=agent, ticket=ticket, body_text="Hello Ann")
    sent = _send(reply)
    assert sent.to == ["ann@example.com"]
    assert "In-Reply-To" not in sent.extra_headers


def test_from_falls_back_to_the_team_inbox_then_the_default(org, agent, team, settings) -> None:  # type: ignore[no-untyped-def]
    settings.DEFAULT_FROM_EMAIL = "helpdesk@acme.example"
    customer = Customer.objects.create(organization=org, name="Ann")
    add_customer_email(customer, "ann@example.com")
    ticket = make_ticket(org, customer=customer, team=team, body=None)
    reply = message_services.message_send(actor=agent, ticket=ticket, body_text="Hi")
    assert _send(reply).from_email == "helpdesk@acme.example"
    make_inbox(org, team, name="Paused", address="paused@acme.example", active=False)
    make_inbox(org, team, name="Team mail", address="team@acme.example")
    sent = _send(reply)
    assert sent.from_email == "Acme Support <team@acme.example>"
    assert sent.extra_headers["Message-ID"].endswith("@acme.example>")


def test_no_recipient_fails_at_once(org, agent, team) -> None:  # type: ignore[no-untyped-def]
    ticket = make_ticket(org, team=team, body=None)
    reply = message_services.message_send(actor=agent, ticket=ticket, body_text="Hi")
    with pytest.raises(PermanentDeliveryError, match="no email address"):
        EmailAdapter().build(message=reply, ticket=ticket)
    outcome = message_deliver(organization_id=org.pk, message_id=reply.pk)
    reply.refresh_from_db()
    assert outcome.status == DeliveryStatus.FAILED
    assert reply.delivery_error == "The customer has no email address."
    assert reply.delivery_attempts == 1


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("", "Re: Broken mirror [#7-abcd1234]"),
        ("Re: Broken mirror", "Re: Broken mirror [#7-abcd1234]"),
        ("RE: Broken mirror [#7-abcd1234]", "RE: Broken mirror [#7-abcd1234]"),
        ("New subject", "Re: New subject [#7-abcd1234]"),
    ],
)
def test_reply_subjects(subject: str, expected: str) -> None:
    ticket = Ticket(number=7, thread_token="abcd1234", subject="Broken mirror")
    assert reply_subject(ticket=ticket, subject=subject) == expected


# --- a real SMTP conversation ----------------------------------------------------------------


@pytest.fixture
def smtp(settings) -> Iterator[FakeSMTPServer]:  # type: ignore[no-untyped-def]
    server = FakeSMTPServer()
    server.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = server.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    try:
        yield server
    finally:
        server.stop()


def test_smtp_250_delivers_the_mail(org, agent, ticket, smtp) -> None:  # type: ignore[no-untyped-def]
    reply = message_services.message_send(actor=agent, ticket=ticket, body_text="Sent for real")
    outcome = message_deliver(organization_id=org.pk, message_id=reply.pk)
    reply.refresh_from_db()
    assert outcome.status == DeliveryStatus.SENT
    [received] = smtp.received
    assert received["Message-ID"] == reply.provider_message_id
    assert received["In-Reply-To"] == "<CAJx7plain0001@mail.example.com>"
    assert parseaddr(received["From"])[1] == "support@acme.example"
    assert smtp.handler.envelopes == [("support@acme.example", ["jan.kowalski@example.com"])]
    body = received.get_body(preferencelist=("plain",))
    assert body is not None and body.get_content().strip() == "Sent for real"


@pytest.mark.parametrize("phase", ["rcpt", "data"])
def test_smtp_451_is_retried_and_then_sent_once(org, agent, ticket, smtp, phase) -> None:  # type: ignore[no-untyped-def]
    replies = smtp.handler.rcpt_replies if phase == "rcpt" else smtp.handler.data_replies
    replies.append("451 4.3.0 Mailbox temporarily unavailable, try again")
    reply = message_services.message_send(actor=agent, ticket=ticket, body_text="Hello")
    first = message_deliver(organization_id=org.pk, message_id=reply.pk)
    reply.refresh_from_db()
    assert first.status == DeliveryStatus.QUEUED and first.retry_in is not None
    assert "451" in reply.delivery_error
    assert smtp.received == []
    second = message_deliver(organization_id=org.pk, message_id=reply.pk)
    assert second.status == DeliveryStatus.SENT
    assert len(smtp.received) == 1
    assert message_deliver(organization_id=org.pk, message_id=reply.pk).status == "sent"
    assert len(smtp.received) == 1


@pytest.mark.parametrize(
    ("phase", "answer"),
    [("rcpt", "550 5.1.1 User unknown"), ("data", "554 5.7.1 Message rejected as spam")],
)
def test_smtp_5xx_fails_at_once_with_the_server_reason(  # type: ignore[no-untyped-def]
    org, agent, ticket, smtp, phase, answer
) -> None:
    replies = smtp.handler.rcpt_replies if phase == "rcpt" else smtp.handler.data_replies
    replies.append(answer)
    reply = message_services.message_send(actor=agent, ticket=ticket, body_text="Hello")
    outcome = message_deliver(organization_id=org.pk, message_id=reply.pk)
    reply.refresh_from_db()
    assert outcome.status == DeliveryStatus.FAILED
    assert reply.delivery_status == DeliveryStatus.FAILED
    assert answer.split(" ", 1)[1] in reply.delivery_error
    assert answer[:3] in reply.delivery_error
    assert reply.delivery_attempts == 1
    assert smtp.received == []


def test_smtp_error_kinds(org, agent, ticket, smtp) -> None:  # type: ignore[no-untyped-def]
    reply = message_services.message_send(actor=agent, ticket=ticket, body_text="Hello")
    smtp.handler.rcpt_replies.append("452 4.2.2 Mailbox full")
    with pytest.raises(TransientDeliveryError, match="452"):
        EmailAdapter().send(reply)
    smtp.handler.rcpt_replies.append("553 5.1.3 Bad recipient address syntax")
    with pytest.raises(PermanentDeliveryError, match="refused the recipient"):
        EmailAdapter().send(reply)


def test_an_unreachable_mail_server_is_transient(org, agent, ticket, settings) -> None:  # type: ignore[no-untyped-def]
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = free_port()  # nothing listens there
    reply = message_services.message_send(actor=agent, ticket=ticket, body_text="Hello")
    outcome = message_deliver(organization_id=org.pk, message_id=reply.pk)
    reply.refresh_from_db()
    assert outcome.status == DeliveryStatus.QUEUED
    assert "Could not talk to the mail server" in reply.delivery_error


def test_a_team_name_with_accents_and_commas_survives_the_from_header(  # type: ignore[no-untyped-def]
    org, agent, team, ticket
) -> None:
    team.display_name = 'Obsługa "Acme", Kraków'
    team.save()
    ticket.refresh_from_db()
    reply = message_services.message_send(actor=agent, ticket=ticket, body_text="Cześć")
    wire = message_from_bytes(_send(reply).message().as_bytes(), policy=policy.default)
    [address] = wire["From"].addresses
    assert address.display_name == 'Obsługa "Acme", Kraków'
    assert address.addr_spec == "support@acme.example"

"""Inbound mail: stored raw first, threaded, customers matched, machines flagged, failures
kept and reported."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DatabaseError

from helpdesk.models import Customer, CustomerEmail
from tests.factories import CustomerFactory, TeamFactory, add_customer_email
from tests.tickets.emails import sample
from tests.tickets.factories import make_inbox
from tickets import signals
from tickets.email import inbound as inbound_module
from tickets.email.inbound import email_ingest, inbound_email_retry
from tickets.models import (
    Attachment,
    Channel,
    DeliveryStatus,
    Direction,
    InboundEmail,
    Message,
    Status,
    Ticket,
)
from tickets.services import messages as message_services
from tickets.services import tickets as ticket_services

pytestmark = pytest.mark.django_db


@pytest.fixture
def team(org):  # type: ignore[no-untyped-def]
    return TeamFactory(organization=org, name="Support", display_name="Acme Support")


@pytest.fixture
def inbox(org, team):  # type: ignore[no-untyped-def]
    return make_inbox(org, team)


def _tickets(org) -> list[Ticket]:  # type: ignore[no-untyped-def]
    return list(Ticket.objects.for_organization(org).order_by("number"))


def test_plain_mail_creates_a_ticket_and_a_customer(org, inbox, team) -> None:  # type: ignore[no-untyped-def]
    raw = sample("plain")
    inbound = email_ingest(inbox=inbox, raw=raw)

    assert inbound.state == InboundEmail.State.PROCESSED
    assert inbound.error == ""
    with inbound.raw.open("rb") as handle:
        assert handle.read() == raw
    assert inbound.message_id_header == "<CAJx7plain0001@mail.example.com>"
    assert inbound.sender == "jan.kowalski@example.com"
    assert inbound.subject == "Zamówienie 1234 – pęknięte lustro"
    [ticket] = _tickets(org)
    assert ticket.subject == "Zamówienie 1234 – pęknięte lustro"
    assert ticket.source == Channel.EMAIL
    assert ticket.inbox == inbox
    assert ticket.team == team
    customer = ticket.customer
    assert customer is not None
    assert customer.name == "Jan Kowalski"
    assert customer.language == ""
    assert list(customer.emails.values_list("email", flat=True)) == ["jan.kowalski@example.com"]
    message = inbound.message
    assert message is not None and message.ticket_id == ticket.pk
    assert message.direction == Direction.INBOUND
    assert message.author_customer == customer
    assert message.provider_message_id == "<CAJx7plain0001@mail.example.com>"
    assert message.body_text.startswith("Dzień dobry")
    assert message.delivery_status == DeliveryStatus.RECEIVED
    assert message.sender_is_automated is False
    assert message.metadata["email"]["from"] == "jan.kowalski@example.com"
    assert message.metadata["email"]["inbound_email_id"] == inbound.pk


def test_an_existing_customer_is_matched_whatever_the_case(org, inbox) -> None:  # type: ignore[no-untyped-def]
    known = CustomerFactory(organization=org, name="Jan K.", language="pl")
    add_customer_email(known, "Jan.Kowalski@Example.com")
    inbound = email_ingest(inbox=inbox, raw=sample("plain"))
    ticket = inbound.message.ticket  # type: ignore[union-attr]
    assert ticket.customer == known
    known.refresh_from_db()
    assert known.name == "Jan K." and known.language == "pl"
    assert Customer.objects.for_organization(org).count() == 1


def test_html_only_mail_is_stored_sanitised_with_a_plain_text(org, inbox) -> None:  # type: ignore[no-untyped-def]
    message = email_ingest(inbox=inbox, raw=sample("html_only")).message
    assert message is not None
    assert "<script" not in message.body_html and "onclick" not in message.body_html
    assert "My order #42 is late." in message.body_text


def test_attachments_are_stored_and_blocked_ones_listed(org, inbox) -> None:  # type: ignore[no-untyped-def]
    message = email_ingest(inbox=inbox, raw=sample("attachments")).message
    assert message is not None
    attachments = {a.filename: a for a in Attachment.objects.for_organization(org)}
    assert set(attachments) == {"damage.png", "faktura żółta.pdf"}
    image = attachments["damage.png"]
    assert image.message == message
    assert image.content_id == "photo1@example.org"
    assert image.content_type == "image/png"
    with image.file.open("rb") as handle:
        assert handle.read().startswith(b"\x89PNG")
    skipped = message.metadata["email"]["skipped_attachments"]
    assert [item["filename"] for item in skipped] == ["invoice.exe"]
    assert "cannot be attached" in skipped[0]["reason"]
    # Replies go to the Reply-To address; the customer is the sender.
    assert message.metadata["email"]["reply_to"] == "ewa.orders@example.org"
    assert message.author_customer is not None
    assert message.author_customer.emails.get().email == "ewa@example.org"


def test_too_many_attachments_keep_the_first_ones(org, inbox, settings) -> None:  # type: ignore[no-untyped-def]
    settings.ATTACHMENT_MAX_COUNT = 1
    message = email_ingest(inbox=inbox, raw=sample("attachments")).message
    assert message is not None
    assert Attachment.objects.for_organization(org).count() == 1
    skipped = [item["filename"] for item in message.metadata["email"]["skipped_attachments"]]
    assert skipped == ["faktura żółta.pdf", "invoice.exe"]


def test_non_utf8_mail(org, inbox) -> None:  # type: ignore[no-untyped-def]
    message = email_ingest(inbox=inbox, raw=sample("charset")).message
    assert message is not None
    assert message.ticket.subject == "Reklamacja żaluzji"
    assert "żaluzja jest uszkodzona" in message.body_text
    assert message.author_customer is not None
    assert message.author_customer.name == "Zbigniew Łuczak"


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("out_of_office", "Auto-Submitted: auto-replied"),
        ("mailing_list", "Precedence: list"),
        ("noreply", "no-reply sender (no-reply@parcels.example)"),
        ("bounce", "bounce (multipart/report)"),
    ],
)
def test_machine_mail_is_stored_but_flagged(org, inbox, name, reason) -> None:  # type: ignore[no-untyped-def]
    received: list[dict[str, Any]] = []

    def listener(sender: Any, **kwargs: Any) -> None:
        received.append(kwargs)

    signals.message_received.connect(listener, weak=False, dispatch_uid="test-machine-mail")
    try:
        inbound = email_ingest(inbox=inbox, raw=sample(name))
    finally:
        signals.message_received.disconnect(dispatch_uid="test-machine-mail")
    assert inbound.state == InboundEmail.State.PROCESSED
    message = inbound.message
    assert message is not None
    assert message.sender_is_automated is True
    assert message.automated_reason == reason
    # What automations see, so that nothing automated ever answers it.
    assert received[0]["message"].sender_is_automated is True


def test_mail_from_the_helpdesk_own_address_is_flagged(org, inbox) -> None:  # type: ignore[no-untyped-def]
    raw = b"From: Support <SUPPORT@acme.example>\nSubject: loop\nMessage-ID: <l@x>\n\nbody\n"
    message = email_ingest(inbox=inbox, raw=raw).message
    assert message is not None
    assert message.sender_is_automated is True
    assert message.automated_reason == "sent from an address of this helpdesk"


# --- threading -------------------------------------------------------------------------------


def _reply(*, in_reply_to: str = "", references: str = "", subject: str = "Re: hi") -> bytes:
    headers = "From: Jan <jan.kowalski@example.com>\nTo: support@acme.example\n"
    key = abs(hash((in_reply_to, references, subject)))
    headers += f"Subject: {subject}\nMessage-ID: <reply-{key}@example.com>\n"
    if in_reply_to:
        headers += f"In-Reply-To: {in_reply_to}\n"
    if references:
        headers += f"References: {references}\n"
    return f"{headers}\nThanks, any news?\n".encode()


def test_a_reply_threads_by_in_reply_to(org, inbox) -> None:  # type: ignore[no-untyped-def]
    first = email_ingest(inbox=inbox, raw=sample("plain")).message
    assert first is not None
    reply = email_ingest(inbox=inbox, raw=_reply(in_reply_to=first.provider_message_id)).message
    assert reply is not None
    assert reply.ticket_id == first.ticket_id
    assert len(_tickets(org)) == 1


def test_a_reply_threads_by_references_to_an_agent_reply(org, inbox, agent) -> None:  # type: ignore[no-untyped-def]
    first = email_ingest(inbox=inbox, raw=sample("plain")).message
    assert first is not None
    agent_reply = message_services.message_send(
        actor=agent, ticket=first.ticket, body_text="We send a new one."
    )
    Message.objects.for_organization(org).filter(pk=agent_reply.pk).update(
        provider_message_id="<agent-reply@acme.example>"
    )
    refs = f"{first.provider_message_id} <agent-reply@acme.example>"
    reply = email_ingest(inbox=inbox, raw=_reply(references=refs, in_reply_to="<unknown@x>"))
    assert reply.message is not None and reply.message.ticket_id == first.ticket_id


def test_a_reply_threads_by_our_own_message_id_before_it_was_recorded(org, inbox, agent) -> None:  # type: ignore[no-untyped-def]
    """The customer answers so fast that the send has not stored its Message-ID yet."""
    first = email_ingest(inbox=inbox, raw=sample("plain")).message
    assert first is not None
    agent_reply = message_services.message_send(
        actor=agent, ticket=first.ticket, body_text="We send a new one."
    )
    mid = f"<{agent_reply.idempotency_key}@acme.example>"
    reply = email_ingest(inbox=inbox, raw=_reply(in_reply_to=mid)).message
    assert reply is not None and reply.ticket_id == first.ticket_id


def test_a_reply_threads_by_the_subject_token(org, inbox) -> None:  # type: ignore[no-untyped-def]
    first = email_ingest(inbox=inbox, raw=sample("plain")).message
    assert first is not None
    ticket = first.ticket
    subject = f"Re: Zamówienie {ticket.reference}"
    reply = email_ingest(inbox=inbox, raw=_reply(subject=subject)).message
    assert reply is not None and reply.ticket_id == ticket.pk


def test_a_subject_token_needs_both_number_and_thread_token(org, inbox) -> None:  # type: ignore[no-untyped-def]
    first = email_ingest(inbox=inbox, raw=sample("plain")).message
    assert first is not None
    ticket = first.ticket
    forged = f"Re: guess [#{ticket.number}-00000000]"
    reply = email_ingest(inbox=inbox, raw=_reply(subject=forged)).message
    assert reply is not None
    assert reply.ticket_id != ticket.pk
    assert reply.ticket.subject == "Re: guess"


def test_threading_never_crosses_organizations(org, other_org, inbox) -> None:  # type: ignore[no-untyped-def]
    first = email_ingest(inbox=inbox, raw=sample("plain")).message
    assert first is not None
    their_team = TeamFactory(organization=other_org, name="Theirs")
    their_inbox = make_inbox(other_org, their_team, address="help@other.example")
    subject = f"Re: x {first.ticket.reference}"
    theirs = email_ingest(
        inbox=their_inbox, raw=_reply(in_reply_to=first.provider_message_id, subject=subject)
    ).message
    assert theirs is not None
    assert theirs.ticket.organization_id == other_org.pk
    assert theirs.ticket_id != first.ticket_id


def test_a_reply_to_a_merged_ticket_lands_on_its_target(org, inbox, agent) -> None:  # type: ignore[no-untyped-def]
    source = email_ingest(inbox=inbox, raw=sample("plain")).message
    target = email_ingest(inbox=inbox, raw=sample("charset")).message
    assert source is not None and target is not None
    ticket_services.ticket_merge(actor=agent, source=source.ticket, target=target.ticket)
    reply = email_ingest(inbox=inbox, raw=_reply(in_reply_to=source.provider_message_id)).message
    assert reply is not None and reply.ticket_id == target.ticket_id
    # The merged (closed) ticket's own token leads to the target too.
    subject = f"Re: {source.ticket.reference}"
    by_token = email_ingest(inbox=inbox, raw=_reply(subject=subject)).message
    assert by_token is not None and by_token.ticket_id == target.ticket_id
    assert len(_tickets(org)) == 2


@pytest.mark.parametrize("status", [Status.CLOSED, Status.SPAM])
def test_a_reply_to_a_closed_or_spam_ticket_starts_a_new_one(org, inbox, agent, status) -> None:  # type: ignore[no-untyped-def]
    first = email_ingest(inbox=inbox, raw=sample("plain")).message
    assert first is not None
    ticket_services.ticket_set_status(actor=agent, ticket=first.ticket, status=status)
    subject = f"Re: Zamówienie {first.ticket.reference}"
    reply = email_ingest(
        inbox=inbox, raw=_reply(in_reply_to=first.provider_message_id, subject=subject)
    ).message
    assert reply is not None
    assert reply.ticket_id != first.ticket_id
    assert reply.ticket.subject == "Re: Zamówienie"  # the old ticket's token is dropped
    assert len(_tickets(org)) == 2


def test_a_reply_to_a_solved_ticket_reopens_it(org, inbox, agent) -> None:  # type: ignore[no-untyped-def]
    first = email_ingest(inbox=inbox, raw=sample("plain")).message
    assert first is not None
    ticket_services.ticket_set_status(actor=agent, ticket=first.ticket, status=Status.SOLVED)
    email_ingest(inbox=inbox, raw=_reply(in_reply_to=first.provider_message_id))
    first.ticket.refresh_from_db()
    assert first.ticket.status == Status.OPEN


def test_a_bounce_threads_to_the_ticket_of_the_returned_reply(org, inbox, agent) -> None:  # type: ignore[no-untyped-def]
    first = email_ingest(inbox=inbox, raw=sample("plain")).message
    assert first is not None
    reply = message_services.message_send(actor=agent, ticket=first.ticket, body_text="Hi")
    Message.objects.for_organization(org).filter(pk=reply.pk).update(
        provider_message_id="<sent-1@acme.example>"
    )
    bounce = email_ingest(
        inbox=inbox, raw=sample("bounce", original="<sent-1@acme.example>")
    ).message
    assert bounce is not None
    assert bounce.ticket_id == first.ticket_id
    assert bounce.sender_is_automated is True


# --- duplicates and failures -----------------------------------------------------------------


def test_the_same_mail_twice_is_a_duplicate(org, inbox) -> None:  # type: ignore[no-untyped-def]
    first = email_ingest(inbox=inbox, raw=sample("plain"))
    second = email_ingest(inbox=inbox, raw=sample("plain"))
    assert first.state == InboundEmail.State.PROCESSED
    assert second.state == InboundEmail.State.DUPLICATE
    assert second.message is None
    assert Message.objects.for_organization(org).filter(direction=Direction.INBOUND).count() == 1
    # Both are kept raw.
    assert InboundEmail.objects.for_organization(org).count() == 2


def test_the_same_mail_to_two_inboxes_makes_one_ticket(org, inbox, team) -> None:  # type: ignore[no-untyped-def]
    sales = make_inbox(org, team, name="Sales", address="sales@acme.example")
    email_ingest(inbox=inbox, raw=sample("plain"))
    assert email_ingest(inbox=sales, raw=sample("plain")).state == InboundEmail.State.DUPLICATE
    assert len(_tickets(org)) == 1


def test_our_own_mail_coming_back_is_a_duplicate(org, inbox, agent) -> None:  # type: ignore[no-untyped-def]
    ticket = email_ingest(inbox=inbox, raw=sample("plain")).message.ticket  # type: ignore[union-attr]
    reply = message_services.message_send(actor=agent, ticket=ticket, body_text="Hi")
    Message.objects.for_organization(org).filter(pk=reply.pk).update(
        provider_message_id="<ours@acme.example>"
    )
    raw = b"From: support@acme.example\nMessage-ID: <ours@acme.example>\nSubject: Re\n\nHi\n"
    assert email_ingest(inbox=inbox, raw=raw).state == InboundEmail.State.DUPLICATE


def test_mail_without_a_message_id_is_never_a_duplicate(org, inbox) -> None:  # type: ignore[no-untyped-def]
    raw = b"From: a@example.com\nSubject: no id\n\nbody\n"
    assert email_ingest(inbox=inbox, raw=raw).state == InboundEmail.State.PROCESSED
    assert email_ingest(inbox=inbox, raw=raw).state == InboundEmail.State.PROCESSED


def test_broken_mime_is_processed_with_its_defects(org, inbox) -> None:  # type: ignore[no-untyped-def]
    inbound = email_ingest(inbox=inbox, raw=sample("malformed"))
    assert inbound.state == InboundEmail.State.PROCESSED
    message = inbound.message
    assert message is not None
    assert "this text must survive" in message.body_text
    assert "\x00" not in message.body_text
    assert "CloseBoundaryNotFoundDefect" in message.metadata["email"]["defects"]


def test_unreadable_mail_is_kept_raw_and_reported(org, inbox, caplog) -> None:  # type: ignore[no-untyped-def]
    raw = sample("garbage")
    with caplog.at_level(logging.ERROR, logger="tickets.email.inbound"):
        inbound = email_ingest(inbox=inbox, raw=raw)
    assert inbound.state == InboundEmail.State.FAILED
    assert inbound.error == "The mail has no sender address."
    assert inbound.message is None
    with inbound.raw.open("rb") as handle:
        assert handle.read() == raw
    assert _tickets(org) == []
    assert any(
        record.levelno == logging.ERROR and str(inbound.pk) in record.getMessage()
        for record in caplog.records
    )


def test_a_processing_crash_rolls_back_and_is_reported(org, inbox, monkeypatch, caplog) -> None:  # type: ignore[no-untyped-def]
    def explode(**kwargs: Any) -> None:
        raise RuntimeError("the disk is on fire")

    monkeypatch.setattr(inbound_module, "message_receive", explode)
    with caplog.at_level(logging.ERROR, logger="tickets.email.inbound"):
        inbound = email_ingest(inbox=inbox, raw=sample("plain"))
    assert inbound.state == InboundEmail.State.FAILED
    assert inbound.error == "RuntimeError: the disk is on fire"
    inbound.refresh_from_db()
    assert inbound.state == InboundEmail.State.FAILED
    assert inbound.sender == "jan.kowalski@example.com"
    # The ticket and customer made before the crash were rolled back with it.
    assert _tickets(org) == []
    assert not CustomerEmail.objects.for_organization(org).exists()
    assert any(record.exc_info for record in caplog.records)


def test_the_raw_mail_survives_when_recording_the_failure_fails(org, inbox, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The database goes away between the two transactions: the row says processing did not
    finish, and the mail is still there."""

    def explode(*args: Any, **kwargs: Any) -> None:
        raise DatabaseError("connection lost")

    monkeypatch.setattr(inbound_module, "_process", explode)
    monkeypatch.setattr(inbound_module, "_record", explode)
    inbound = email_ingest(inbox=inbox, raw=sample("plain"))
    inbound.refresh_from_db()
    assert inbound.state == InboundEmail.State.FAILED
    assert inbound.error == "Processing did not finish."
    with inbound.raw.open("rb") as handle:
        assert handle.read() == sample("plain")


def test_a_failed_mail_can_be_processed_again(org, inbox, manager, agent, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    original = inbound_module.message_receive
    monkeypatch.setattr(inbound_module, "message_receive", lambda **kw: 1 / 0)
    inbound = email_ingest(inbox=inbox, raw=sample("plain"))
    assert inbound.state == InboundEmail.State.FAILED
    monkeypatch.setattr(inbound_module, "message_receive", original)

    with pytest.raises(PermissionDenied):
        inbound_email_retry(actor=agent, inbound_email=inbound)
    retried = inbound_email_retry(actor=manager, inbound_email=inbound)
    assert retried.state == InboundEmail.State.PROCESSED
    assert retried.error == ""
    assert retried.message is not None
    with pytest.raises(ValidationError):
        inbound_email_retry(actor=manager, inbound_email=retried)


def test_a_non_email_inbox_is_refused(org, team) -> None:  # type: ignore[no-untyped-def]
    sms = make_inbox(org, team, name="Texts", channel=Channel.SMS, address="+48500100200")
    with pytest.raises(ValueError, match="does not receive email"):
        email_ingest(inbox=sms, raw=sample("plain"))
    assert not InboundEmail.objects.for_organization(org).exists()


@pytest.mark.django_db(transaction=True)
def test_the_same_mail_delivered_twice_at_once_makes_one_message(org, inbox) -> None:  # type: ignore[no-untyped-def]
    """Two MTA deliveries race: the inbox lock lets one through, the other is a duplicate."""
    import threading

    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("needs concurrent writers (PostgreSQL)")
    states: list[str] = []
    errors: list[BaseException] = []

    def deliver() -> None:
        try:
            states.append(email_ingest(inbox=inbox, raw=sample("plain")).state)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [str(e) for e in errors] == []
    assert sorted(states) == ["duplicate"] * 7 + ["processed"]
    assert Message.objects.for_organization(org).filter(direction=Direction.INBOUND).count() == 1

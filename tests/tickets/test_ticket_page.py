"""The ticket page: timeline, side panel, customer card, escaping, query counts, who sees it."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from helpdesk.models import Customer, Membership, Organization, Role
from tests.factories import (
    CustomerFactory,
    CustomFieldFactory,
    TeamFactory,
    add_customer_email,
    add_team_member,
)
from tests.tickets.factories import make_tag, make_ticket
from tickets.models import (
    Attachment,
    AuthorType,
    CustomStatus,
    Direction,
    Message,
    MessageKind,
    Ticket,
)
from tickets.services.messages import InboundMessage, message_receive, message_send, note_add
from tickets.services.tickets import event_record, ticket_add_tag, ticket_merge, ticket_set_status

pytestmark = pytest.mark.django_db

ClientFor = Callable[[Membership], Client]


def url(name: str, **kwargs: Any) -> str:
    return reverse(name, kwargs={"org": "acme", **kwargs})


def html(response: Any) -> str:
    return response.content.decode()


@pytest.fixture
def team(org: Organization, agent: Membership) -> Any:
    team = TeamFactory(organization=org, name="Returns", display_name="Returns desk")
    add_team_member(team, agent.user)
    return team


@pytest.fixture
def customer(org: Organization) -> Customer:
    customer = CustomerFactory(organization=org, name="Cora Customer", company="Cora Ltd")
    add_customer_email(customer, "cora@example.com")
    return customer


@pytest.fixture
def ticket(org: Organization, team: Any, customer: Customer) -> Ticket:
    return make_ticket(org, subject="Broken mirror", customer=customer, team=team)


# --- the timeline -------------------------------------------------------------------------


def test_timeline_shows_messages_notes_events_and_automated_messages_in_order(
    org: Organization, agent: Membership, ticket: Ticket, client_for: ClientFor
) -> None:
    note_add(actor=agent, ticket=ticket, body_text="Customer called, wants a refund.")
    message_send(ticket=ticket, body_text="We are on it.", actor=agent)
    message_send(
        ticket=ticket,
        body_text="Thanks for writing!",
        automation_label="Workflow “First reply”",
        automation_reason="a new ticket was created",
    )
    ticket_set_status(actor=agent, ticket=ticket, status="pending")

    page = html(client_for(agent).get(url("ticket-detail", number=ticket.number)))

    positions = [
        page.index(text)
        for text in (
            "Hello, my mirror is broken.",
            "Customer called, wants a refund.",
            "We are on it.",
            "Thanks for writing!",
            "Status set to Pending",
        )
    ]
    assert positions == sorted(positions)
    assert "Cora Customer" in page  # the inbound message's sender
    assert "Internal note" in page
    assert "entry-note" in page
    assert "Sent automatically by Workflow “First reply”" in page
    assert "Because: a new ticket was created" in page
    assert "by Alex Agent" in page  # who set the status


def test_system_events_are_shown_in_the_readers_language(
    org: Organization, agent: Membership, ticket: Ticket, client_for: ClientFor
) -> None:
    event_record(ticket=ticket, text="Customer %(name)s added.", params={"name": "Ann"})
    agent.user.language = "pl"
    agent.user.save()
    with translation.override("pl"):
        expected = translation.gettext("Customer %(name)s added.") % {"name": "Ann"}
    assert expected != "Customer Ann added."

    page = html(client_for(agent).get(url("ticket-detail", number=ticket.number)))

    assert expected in page
    assert "Customer Ann added." not in page


def test_automated_senders_are_flagged(
    org: Organization, agent: Membership, ticket: Ticket, client_for: ClientFor
) -> None:
    message_receive(
        ticket=ticket,
        customer=None,
        inbound=InboundMessage(
            channel="email",
            body_text="I am out of office.",
            sender_is_automated=True,
            automated_reason="Auto-Submitted: auto-replied",
        ),
    )
    page = html(client_for(agent).get(url("ticket-detail", number=ticket.number)))
    assert "Sent by an automated sender (auto-reply)" in page


def test_outbound_messages_show_their_delivery_state_and_the_failure_reason(
    org: Organization, agent: Membership, ticket: Ticket, client_for: ClientFor
) -> None:
    queued = message_send(ticket=ticket, body_text="First try", actor=agent)
    sent = message_send(ticket=ticket, body_text="Second try", actor=agent)
    failed = message_send(ticket=ticket, body_text="Third try", actor=agent)
    Message.objects.filter(pk=sent.pk, organization=org).update(delivery_status="sent")
    Message.objects.filter(pk=failed.pk, organization=org).update(
        delivery_status="failed", delivery_error="Mailbox unavailable (550)"
    )

    page = html(client_for(agent).get(url("ticket-detail", number=ticket.number)))

    def block(message: Message) -> str:
        match = re.search(rf'<li id="message-{message.pk}".*?</li>', page, re.S)
        assert match
        return match.group(0)

    assert 'data-delivery="queued"' in block(queued)
    assert 'data-delivery="sent"' in block(sent)
    failed_html = block(failed)
    assert 'data-delivery="failed"' in failed_html
    assert "Reason: Mailbox unavailable (550)" in failed_html
    resend = url("ticket-message-resend", number=ticket.number, message_id=failed.pk)
    assert f'action="{resend}"' in failed_html
    assert "Send again" not in block(sent)


def test_html_bodies_are_sanitised_again_when_shown(
    org: Organization, agent: Membership, ticket: Ticket, client_for: ClientFor
) -> None:
    # As if something unsafe had slipped past the sanitiser at ingest.
    Message.objects.create(
        organization=org,
        ticket=ticket,
        direction=Direction.INBOUND,
        kind=MessageKind.MESSAGE,
        author_type=AuthorType.CUSTOMER,
        channel="email",
        body_text="fallback",
        body_html=(
            '<p onclick="alert(1)">Kept <b>bold</b></p><script>alert("x")</script>'
            '<img src="x" onerror="alert(2)"><a href="javascript:alert(3)">link</a>'
            '<a href="https://example.com/">site</a>'
        ),
    )
    page = html(client_for(agent).get(url("ticket-detail", number=ticket.number)))
    assert "Kept <b>bold</b>" in page
    for unsafe in ("<script>alert", "onerror", "onclick", "javascript:", "<img"):
        assert unsafe not in page
    assert 'href="https://example.com/"' in page


def test_plain_text_bodies_keep_their_line_breaks_escaped(
    org: Organization, agent: Membership, ticket: Ticket, client_for: ClientFor
) -> None:
    note_add(actor=agent, ticket=ticket, body_text="line one\nline <two>")
    page = html(client_for(agent).get(url("ticket-detail", number=ticket.number)))
    assert "line one<br>line &lt;two&gt;" in page


def test_script_in_subject_body_customer_name_and_file_name_is_escaped(
    org: Organization, agent: Membership, team: Any, client_for: ClientFor
) -> None:
    evil = '<script>alert("xss")</script>'
    customer = CustomerFactory(organization=org, name=evil)
    ticket = make_ticket(org, subject=evil, customer=customer, team=team, body=evil)
    message = ticket.messages.first()
    assert message is not None
    attachment = Attachment(
        organization=org,
        message=message,
        filename='<img src=x onerror=alert("f")>.txt',
        content_type="text/plain",
        size=2,
    )
    attachment.file.save("x", ContentFile(b"hi"), save=True)
    other = make_ticket(org, subject=evil, customer=customer, team=team)

    page = html(client_for(agent).get(url("ticket-detail", number=ticket.number)))

    assert "<script>alert" not in page
    assert "<img src=x onerror" not in page
    assert "&lt;script&gt;alert(&quot;xss&quot;)&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=alert(&quot;f&quot;)&gt;.txt" in page
    assert f"#{other.number} &lt;script&gt;" in page  # the customer's other tickets too


# --- the side panel and the customer card ---------------------------------------------------


def test_customer_card_shows_contact_custom_fields_and_other_tickets(
    org: Organization, agent: Membership, team: Any, customer: Customer, client_for: ClientFor
) -> None:
    CustomFieldFactory(organization=org, key="plan", label="Plan")
    CustomFieldFactory(organization=org, key="vip", label="VIP", field_type="boolean")
    Customer.objects.filter(pk=customer.pk, organization=org).update(
        custom_fields={"plan": "Gold", "vip": True}
    )
    older = [
        make_ticket(org, subject=f"Older {i}", customer=customer, team=team) for i in range(12)
    ]
    ticket_set_status(actor=agent, ticket=older[-1], status="solved")
    ticket = make_ticket(org, subject="Current", customer=customer, team=team)

    page = html(client_for(agent).get(url("ticket-detail", number=ticket.number)))

    card = page[page.index('class="card customer-card"') :]
    assert "Cora Customer" in card
    assert "cora@example.com" in card
    assert "Cora Ltd" in card
    assert "Plan" in card and "Gold" in card
    assert '<span class="tag yes">Yes</span>' in card
    assert url("customer-detail", customer_id=customer.pk) in card
    listed = re.findall(r'href="/app/acme/tickets/(\d+)/">#\d+ Older', card)
    # The latest ten, newest first, not the ticket itself.
    assert [int(n) for n in listed] == [t.number for t in reversed(older)][:10]
    assert "Solved" in card


def test_other_tickets_on_the_card_are_only_those_the_agent_may_see(
    org: Organization, agent: Membership, team: Any, customer: Customer, client_for: ClientFor
) -> None:
    hidden_team = TeamFactory(organization=org, name="Hidden")
    make_ticket(org, subject="Secret ticket", customer=customer, team=hidden_team)
    ticket = make_ticket(org, subject="Current", customer=customer, team=team)
    page = html(client_for(agent).get(url("ticket-detail", number=ticket.number)))
    assert "Secret ticket" not in page


def test_side_panel_offers_members_team_first_custom_statuses_and_tags(
    org: Organization,
    agent: Membership,
    manager: Membership,
    viewer: Membership,
    ticket: Ticket,
    make_member: Any,
    client_for: ClientFor,
) -> None:
    make_member(org, Role.AGENT, email="zed@acme.example", name="Aaron Outside")
    CustomStatus.objects.create(organization=org, name="Waiting for parts", base_status="pending")
    CustomStatus.objects.create(organization=org, name="Retired", base_status="open", active=False)
    make_tag(org, "refund")
    ticket_add_tag(actor=agent, ticket=ticket, tag=make_tag(org, "vip"))

    page = html(client_for(agent).get(url("ticket-detail", number=ticket.number)))

    assign = page[
        page.index('id="assign-assignee"') : page.index(
            "</select>", page.index('id="assign-assignee"')
        )
    ]
    # The team's agent comes before everyone else (alphabetically "Aaron" would be first).
    assert assign.index("Alex Agent") < assign.index("Aaron Outside")
    assert "Max Manager" in assign
    assert "Vic Viewer" not in assign
    status = page[page.index('id="status-status"') :]
    assert "Waiting for parts" in status
    assert "Retired" not in page
    assert '<option value="refund">' in page  # suggestions for the add form
    remove = url("ticket-tag-remove", number=ticket.number, tag_id=ticket.tags.get().pk)
    assert f'action="{remove}"' in page


def test_merged_ticket_links_to_its_target(
    org: Organization, agent: Membership, team: Any, customer: Customer, client_for: ClientFor
) -> None:
    source = make_ticket(org, subject="Duplicate", customer=customer, team=team)
    target = make_ticket(org, subject="Original", customer=customer, team=team)
    ticket_merge(actor=agent, source=source, target=target)

    page = html(client_for(agent).get(url("ticket-detail", number=source.number)))
    assert "This ticket was merged into" in page
    assert f'href="{url("ticket-detail", number=target.number)}">ticket #{target.number}' in page

    page = html(client_for(agent).get(url("ticket-detail", number=target.number)))
    assert f"Ticket #{source.number} was merged into this one" in page
    assert f'href="{url("ticket-detail", number=source.number)}">#{source.number}' in page


# --- who sees what --------------------------------------------------------------------------


def test_viewer_sees_the_page_without_any_form(
    org: Organization, viewer: Membership, ticket: Ticket, client_for: ClientFor
) -> None:
    response = client_for(viewer).get(url("ticket-detail", number=ticket.number))
    assert response.status_code == 200
    page = html(response)
    assert "Hello, my mirror is broken." in page
    assert '<form method="post"' not in page.split('<main id="main"', 1)[1]
    assert "Unassigned" in page  # properties shown as text


def test_agent_outside_the_team_gets_404(
    org: Organization, ticket: Ticket, make_member: Any, client_for: ClientFor
) -> None:
    stranger = make_member(org, Role.AGENT, email="stranger@acme.example")
    response = client_for(stranger).get(url("ticket-detail", number=ticket.number))
    assert response.status_code == 404


def test_other_organization_gets_404(
    ticket: Ticket, outsider: Membership, other_org: Organization, client_for: ClientFor
) -> None:
    client = client_for(outsider)
    assert client.get(url("ticket-detail", number=ticket.number)).status_code == 404
    own_org = reverse("ticket-detail", kwargs={"org": "other", "number": ticket.number})
    assert client.get(own_org).status_code == 404


# --- query counts ---------------------------------------------------------------------------


def _fill(org: Organization, agent: Membership, ticket: Ticket, count: int) -> None:
    for i in range(count):
        if i % 3 == 0:
            message = note_add(actor=agent, ticket=ticket, body_text=f"Note {i}")
        elif i % 3 == 1:
            message = message_send(ticket=ticket, body_text=f"Reply {i}", actor=agent)
        else:
            message = message_receive(
                ticket=ticket,
                customer=ticket.customer,
                inbound=InboundMessage(channel="email", body_text=f"Customer {i}"),
            )
        attachment = Attachment(
            organization=org,
            message=message,
            filename=f"f{i}.txt",
            content_type="text/plain",
            size=1,
        )
        attachment.file.save("f", ContentFile(b"x"), save=True)
        ticket_add_tag(actor=agent, ticket=ticket, tag=make_tag(org, f"tag-{i}"))


def test_the_page_runs_a_constant_number_of_queries(
    org: Organization,
    agent: Membership,
    team: Any,
    customer: Customer,
    client_for: ClientFor,
    django_assert_num_queries: Any,
) -> None:
    CustomFieldFactory(organization=org, key="plan", label="Plan")
    CustomStatus.objects.create(organization=org, name="Waiting", base_status="pending")
    small = make_ticket(org, subject="Small", customer=customer, team=team)
    big = make_ticket(org, subject="Big", customer=customer, team=team)
    client = client_for(agent)
    client.get(url("ticket-detail", number=small.number))  # the session is settled
    with CaptureQueriesContext(connection) as one:
        assert client.get(url("ticket-detail", number=small.number)).status_code == 200
    _fill(org, agent, big, 30)
    for i in range(15):
        make_ticket(org, subject=f"Other {i}", customer=customer, team=team)
    with django_assert_num_queries(len(one.captured_queries)):
        response = client.get(url("ticket-detail", number=big.number))
    assert html(response).count('class="entry ') >= 30
    assert len(one.captured_queries) <= 30


def test_viewers_page_runs_a_constant_number_of_queries(
    org: Organization,
    agent: Membership,
    viewer: Membership,
    team: Any,
    customer: Customer,
    client_for: ClientFor,
    django_assert_num_queries: Any,
) -> None:
    small = make_ticket(org, subject="Small", customer=customer, team=team)
    big = make_ticket(org, subject="Big", customer=customer, team=team)
    client = client_for(viewer)
    client.get(url("ticket-detail", number=small.number))  # the session is settled
    with CaptureQueriesContext(connection) as one:
        client.get(url("ticket-detail", number=small.number))
    _fill(org, agent, big, 30)
    with django_assert_num_queries(len(one.captured_queries)):
        client.get(url("ticket-detail", number=big.number))


def test_automated_notes_name_the_workflow_and_why(org, agent, client_for) -> None:  # type: ignore[no-untyped-def]
    from tests.tickets.factories import make_ticket as _make
    from tickets.services.automated import note_add_automated

    ticket = _make(org, subject="Automated note")
    note_add_automated(
        ticket=ticket,
        body_text="Escalated by keyword",
        automation_label="Workflow “Escalate urgent”",
        automation_reason="message contains “urgent”",
    )
    html = client_for(agent).get(f"/app/acme/tickets/{ticket.number}/").content.decode()
    assert "Workflow “Escalate urgent”" in html
    assert "Because: message contains “urgent”" in html

"""The tickets part of the demo organization: inboxes, tags, canned responses and a few
tickets with a conversation, made through the real services."""

from __future__ import annotations

from helpdesk.models import Customer, CustomerEmail, Membership, Team
from tickets.models import CannedResponse, Channel, Inbox, Ticket
from tickets.services.manage import canned_response_create, inbox_create
from tickets.services.messages import InboundMessage, message_receive, message_send, note_add
from tickets.services.tickets import (
    tag_get_or_create,
    ticket_add_tag,
    ticket_assign,
    ticket_create,
    ticket_set_status,
)

CONVERSATIONS = [
    (
        "jan.kowalski@example.com",
        "Service",
        "Brake noise after the last service",
        "Hello, since the service last week the front brakes squeal when I stop. Can you help?",
        ["VIP"],
        "We are sorry about that. Could you bring the car in on Monday morning?",
    ),
    (
        "marie.dubois@example.fr",
        "Parts",
        "Bonjour, pièce commandée pas encore reçue",
        "J'ai commandé un rétroviseur il y a deux semaines et je n'ai rien reçu.",
        ["Shipping"],
        None,
    ),
    (
        "hans.mueller@example.de",
        "Service",
        "Appointment for tyre change",
        "Could I get an appointment for a tyre change next week?",
        [],
        None,
    ),
]


def seed_demo_tickets(admin: Membership) -> None:
    organization = admin.organization
    if Ticket.objects.for_organization(organization).exists():
        return
    teams = {team.name: team for team in Team.objects.for_organization(organization)}
    inboxes = {}
    for team_name, name, channel, address in (
        ("Service", "Service mail", Channel.EMAIL, "service@demo.example"),
        ("Parts", "Parts mail", Channel.EMAIL, "parts@demo.example"),
        ("Service", "Website contact form", Channel.WEB_FORM, ""),
    ):
        existing = Inbox.objects.for_organization(organization).filter(name=name).first()
        inboxes[name] = existing or inbox_create(
            actor=admin, name=name, team=teams[team_name], channel=channel, address=address
        )
    if not CannedResponse.objects.for_organization(organization).exists():
        canned_response_create(
            actor=admin,
            title="Thanks, we are on it",
            body="Hello {customer_name},\n\nthank you for your message about ticket "
            "{ticket_number}. We are looking into it.\n\n{agent_name}, {team_name}",
            team=teams["Service"],
        )
    agents = {
        m.user.email: m
        for m in Membership.objects.for_organization(organization).select_related("user")
    }
    for email, team_name, subject, body, tags, reply in CONVERSATIONS:
        link = CustomerEmail.objects.for_organization(organization).filter(email=email).first()
        customer: Customer | None = link.customer if link else None
        inbox = inboxes["Service mail" if team_name == "Service" else "Parts mail"]
        ticket = ticket_create(
            organization=organization,
            subject=subject,
            source=Channel.EMAIL,
            customer=customer,
            inbox=inbox,
        )
        message_receive(
            ticket=ticket,
            customer=customer,
            inbound=InboundMessage(
                channel=Channel.EMAIL,
                body_text=body,
                subject=subject,
                metadata={"email": {"from": email}},
            ),
        )
        for name in tags:
            ticket_add_tag(
                actor=admin,
                ticket=ticket,
                tag=tag_get_or_create(organization=organization, name=name),
            )
        if reply:
            agent = agents["agent1@demo.example"]
            ticket_assign(actor=admin, ticket=ticket, assignee=agent.user)
            message_send(actor=agent, ticket=ticket, body_text=reply)
            note_add(actor=agent, ticket=ticket, body_text="Customer prefers Monday mornings.")
            ticket_set_status(actor=agent, ticket=ticket, status="pending")

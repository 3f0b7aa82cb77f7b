"""Canned responses: filling in a saved reply's placeholders for one ticket and agent."""

from __future__ import annotations

import re

from helpdesk.models import Membership
from tickets.models import CannedResponse, Ticket

PLACEHOLDER = re.compile(r"\{(customer_name|agent_name|team_name|ticket_number)\}")


def canned_response_values(*, ticket: Ticket, agent: Membership) -> dict[str, str]:
    """What each placeholder stands for on ``ticket`` when ``agent`` writes (plain text)."""
    customer = ticket.customer
    team = ticket.team
    return {
        "customer_name": customer.name if customer is not None else "",
        "agent_name": agent.user.display_name,
        "team_name": team.public_name if team is not None else agent.organization.public_name,
        "ticket_number": str(ticket.number),
    }


def canned_response_render(*, response: CannedResponse, ticket: Ticket, agent: Membership) -> str:
    """``response``'s text with {customer_name}, {agent_name}, {team_name} (the team's display
    name) and {ticket_number} filled in. Other braces are left as they are, so a text that
    mentions ``{something}`` never fails; the result is plain text for the reply box."""
    values = canned_response_values(ticket=ticket, agent=agent)
    return PLACEHOLDER.sub(lambda match: values[match.group(1)], response.body)

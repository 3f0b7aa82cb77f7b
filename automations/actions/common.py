"""What the actions share: placeholders, parameter checks, short quotes for the run log."""

from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.text import Truncator
from django.utils.translation import gettext as _

from tickets.models import Ticket

PLACEHOLDERS = ("customer_name", "agent_name", "team_name", "ticket_number", "company_name")
PLACEHOLDER = re.compile(r"\{(" + "|".join(PLACEHOLDERS) + r")\}")
MAX_TEMPLATE_LENGTH = 10_000


def placeholder_values(ticket: Ticket) -> dict[str, str]:
    """What each placeholder stands for on ``ticket`` (plain text). A workflow has no agent of
    its own: {agent_name} is the assignee, else the team's public name, else the company's."""
    organization = ticket.organization
    team = ticket.team
    company = organization.public_name
    team_name = team.public_name if team is not None else company
    assignee = ticket.assignee
    customer = ticket.customer
    return {
        "customer_name": customer.name if customer is not None else "",
        "agent_name": assignee.display_name if assignee is not None else team_name,
        "team_name": team_name,
        "ticket_number": str(ticket.number),
        "company_name": company,
    }


def render(template: str, ticket: Ticket) -> str:
    """``template`` with its placeholders filled in; other braces are left as they are."""
    values = placeholder_values(ticket)
    return PLACEHOLDER.sub(lambda match: values[match.group(1)], template)


def quote(text: str, words: int = 8) -> str:
    """“The first words…” for the run log and dry runs."""
    return "“" + Truncator(" ".join(str(text).split())).words(words, truncate="…") + "”"


def text_param(
    params: dict[str, Any],
    name: str,
    *,
    required: bool = True,
    max_length: int = MAX_TEMPLATE_LENGTH,
    message: str | None = None,
) -> str:
    """A cleaned text parameter; raises ValidationError keyed by the parameter's name."""
    value = params.get(name)
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ValidationError({name: _("Enter text.")})
    value = value.strip()
    if required and not value:
        raise ValidationError({name: message or _("This field is required.")})
    if len(value) > max_length:
        raise ValidationError({name: _("At most %(count)s characters.") % {"count": max_length}})
    return value


def int_param(params: dict[str, Any], name: str, *, message: str) -> int:
    value = params.get(name)
    if isinstance(value, bool):
        raise ValidationError({name: message})
    try:
        return int(str(value).strip())
    except (TypeError, ValueError) as exc:
        raise ValidationError({name: message}) from exc

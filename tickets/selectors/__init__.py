"""Reads on tickets, and the ``access_*`` fetches that 404 outside what the actor may see.

Visibility: admins, managers and viewers see every ticket of the organization; an agent sees
the tickets of their teams, tickets without a team, and tickets assigned to them.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404

from helpdesk.models import Membership, Role, TeamMember
from tickets.models import (
    Attachment,
    CannedResponse,
    CustomStatus,
    CustomTicketType,
    Inbox,
    InboxGroup,
    IntegrationAccount,
    Message,
    Tag,
    Ticket,
)


def ticket_visible(*, actor: Membership) -> QuerySet[Ticket]:
    tickets = Ticket.objects.for_organization(actor.organization_id)
    if actor.role != Role.AGENT:
        return tickets
    my_teams = TeamMember.objects.for_organization(actor.organization_id).filter(
        user_id=actor.user_id
    )
    return tickets.filter(
        Q(team__isnull=True) | Q(team_id__in=my_teams.values("team_id")) | Q(assignee=actor.user)
    )


TICKET_RELATED = ("team", "inbox", "customer", "assignee", "custom_status", "integration_account")


def access_ticket(*, actor: Membership, ticket_id: int) -> Ticket:
    return get_object_or_404(
        ticket_visible(actor=actor).select_related(*TICKET_RELATED), pk=ticket_id
    )


def access_ticket_by_number(*, actor: Membership, number: int) -> Ticket:
    return get_object_or_404(
        ticket_visible(actor=actor).select_related(*TICKET_RELATED), number=number
    )


def access_message(*, actor: Membership, message_id: int) -> Message:
    message = get_object_or_404(
        Message.objects.for_organization(actor.organization_id).select_related("ticket"),
        pk=message_id,
    )
    access_ticket(actor=actor, ticket_id=message.ticket_id)
    return message


def access_attachment(*, actor: Membership, attachment_id: int) -> Attachment:
    attachment = get_object_or_404(
        Attachment.objects.for_organization(actor.organization_id).select_related("message"),
        pk=attachment_id,
    )
    if attachment.message is not None:
        access_ticket(actor=actor, ticket_id=attachment.message.ticket_id)
    return attachment


def _access(queryset: Any, actor: Membership, pk: int) -> Any:
    return get_object_or_404(queryset.for_organization(actor.organization_id), pk=pk)


def access_inbox(*, actor: Membership, inbox_id: int) -> Inbox:
    return _access(Inbox.objects.select_related("team"), actor, inbox_id)


def access_inbox_group(*, actor: Membership, inbox_group_id: int) -> InboxGroup:
    return _access(InboxGroup.objects, actor, inbox_group_id)


def access_tag(*, actor: Membership, tag_id: int) -> Tag:
    return _access(Tag.objects, actor, tag_id)


def access_custom_status(*, actor: Membership, custom_status_id: int) -> CustomStatus:
    return _access(CustomStatus.objects, actor, custom_status_id)


def access_ticket_type(*, actor: Membership, ticket_type_id: int) -> CustomTicketType:
    return _access(CustomTicketType.objects, actor, ticket_type_id)


def access_integration_account(*, actor: Membership, integration_id: int) -> IntegrationAccount:
    return _access(IntegrationAccount.objects, actor, integration_id)


def canned_response_visible(*, actor: Membership) -> QuerySet[CannedResponse]:
    """The actor's personal responses and those of their teams (managers: every team's)."""
    responses = CannedResponse.objects.for_organization(actor.organization_id)
    if actor.can_manage:
        return responses.filter(Q(owner=actor.user) | Q(team__isnull=False))
    my_teams = TeamMember.objects.for_organization(actor.organization_id).filter(
        user_id=actor.user_id
    )
    return responses.filter(Q(owner=actor.user) | Q(team_id__in=my_teams.values("team_id")))


def access_canned_response(*, actor: Membership, canned_response_id: int) -> CannedResponse:
    return get_object_or_404(canned_response_visible(actor=actor), pk=canned_response_id)

"""Reads for the manager screens. Every list is one query (or a fixed few), whatever its length:
usage counts come from annotations, never from a query per row."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from helpdesk.models import Membership, Organization, Team
from tickets.models import (
    CannedResponse,
    Channel,
    CustomStatus,
    CustomTicketType,
    InboundEmail,
    Inbox,
    InboxGroup,
    IntegrationAccount,
    SystemType,
    Tag,
    Ticket,
)
from tickets.selectors import canned_response_visible

# Channels whose inbox has a public form or ticket endpoint.
FORM_CHANNELS = (Channel.WEB_FORM, Channel.MOBILE_APP)


def _count_of(queryset: QuerySet[Ticket] | QuerySet[Inbox], field: str) -> Coalesce:
    """A correlated ``COUNT(*)`` of ``queryset`` rows whose ``field`` is the outer row."""
    counted = (
        queryset.filter(**{field: OuterRef("pk")})
        .order_by()
        .values(field)
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def inbox_list(*, actor: Membership) -> QuerySet[Inbox]:
    """The organization's inboxes with their team, group and account, and ``ticket_count``."""
    org = actor.organization_id
    return (
        Inbox.objects.for_organization(org)
        .select_related("team", "group", "integration_account")
        .annotate(ticket_count=_count_of(Ticket.objects.for_organization(org), "inbox"))
        .order_by("name", "pk")
    )


def inbox_group_list(*, actor: Membership) -> QuerySet[InboxGroup]:
    org = actor.organization_id
    return (
        InboxGroup.objects.for_organization(org)
        .annotate(inbox_count=_count_of(Inbox.objects.for_organization(org), "group"))
        .order_by("name", "pk")
    )


def inbox_group_members(*, inbox_group: InboxGroup) -> QuerySet[Inbox]:
    return (
        Inbox.objects.for_organization(inbox_group.organization_id)
        .filter(group=inbox_group)
        .select_related("team")
        .order_by("name")
    )


def tag_list(*, actor: Membership) -> QuerySet[Tag]:
    """Tags with ``ticket_count``: how many tickets have each."""
    return (
        Tag.objects.for_organization(actor.organization_id)
        .annotate(ticket_count=Count("ticket_tags"))
        .order_by("name", "pk")
    )


def custom_status_list(*, actor: Membership) -> QuerySet[CustomStatus]:
    org = actor.organization_id
    return (
        CustomStatus.objects.for_organization(org)
        .annotate(ticket_count=_count_of(Ticket.objects.for_organization(org), "custom_status"))
        .order_by("position", "name", "pk")
    )


@dataclass(frozen=True)
class TicketTypeRow:
    key: str
    name: str
    active: bool
    ticket_count: int
    custom: CustomTicketType | None  # None for the built-in types


def ticket_type_list(*, actor: Membership) -> list[TicketTypeRow]:
    """The built-in types, then the organization's own, each with ``ticket_count`` (two
    queries in all)."""
    org = actor.organization_id
    counts = dict(
        Ticket.objects.for_organization(org)
        .order_by()
        .values_list("ticket_type")
        .annotate(n=Count("pk"))
        .values_list("ticket_type", "n")
    )
    rows = [
        TicketTypeRow(
            key=value, name=str(label), active=True, ticket_count=counts.get(value, 0), custom=None
        )
        for value, label in SystemType.choices
    ]
    for custom in CustomTicketType.objects.for_organization(org).order_by("name", "pk"):
        rows.append(
            TicketTypeRow(
                key=custom.key,
                name=custom.name,
                active=custom.active,
                ticket_count=counts.get(custom.key, 0),
                custom=custom,
            )
        )
    return rows


def integration_account_list(*, actor: Membership) -> QuerySet[IntegrationAccount]:
    org = actor.organization_id
    return (
        IntegrationAccount.objects.for_organization(org)
        .annotate(
            inbox_count=_count_of(Inbox.objects.for_organization(org), "integration_account"),
            ticket_count=_count_of(Ticket.objects.for_organization(org), "integration_account"),
        )
        .order_by("name", "pk")
    )


def canned_response_editable(*, actor: Membership, canned_response: CannedResponse) -> bool:
    """Everyone edits their own personal responses; managers also edit the teams' ones."""
    if canned_response.organization_id != actor.organization_id or not actor.can_write:
        return False
    if canned_response.owner_id is not None:
        return canned_response.owner_id == actor.user_id
    return actor.can_manage


def canned_response_list(*, actor: Membership) -> list[CannedResponse]:
    """What the actor may use (``canned_response_visible``), each with ``editable``."""
    responses = list(
        canned_response_visible(actor=actor).select_related("team", "owner").order_by("title", "pk")
    )
    for response in responses:
        response.editable = canned_response_editable(  # type: ignore[attr-defined]
            actor=actor, canned_response=response
        )
    return responses


def ticket_count_where(*, organization: Organization | int, **lookups: object) -> int:
    """How many of the organization's tickets match ``lookups`` (for delete confirmations)."""
    return Ticket.objects.for_organization(organization).filter(**lookups).count()


def inbound_email_count(*, inbox: Inbox) -> int:
    return InboundEmail.objects.for_organization(inbox.organization_id).filter(inbox=inbox).count()


def team_choices(*, organization: Organization | int) -> QuerySet[Team]:
    return Team.objects.for_organization(organization).order_by("name")


def inbox_group_choices(*, organization: Organization | int) -> QuerySet[InboxGroup]:
    return InboxGroup.objects.for_organization(organization).order_by("name")


def integration_account_choices(
    *, organization: Organization | int
) -> QuerySet[IntegrationAccount]:
    return IntegrationAccount.objects.for_organization(organization).order_by("name")


def inbox_by_secret(*, secret: str, channels: tuple[str, ...] = FORM_CHANNELS) -> Inbox | None:
    """The active inbox a public URL's secret names, if its channel is one of ``channels``.

    The secret is the credential (and names the organization), so this is the one lookup
    that is not scoped by an organization first."""
    if not secret or len(secret) > 64:
        return None
    return (
        Inbox.all_objects.select_related("organization", "team")
        .filter(secret=secret, active=True, channel__in=channels)
        .first()
    )

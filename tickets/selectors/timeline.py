"""Reads for the ticket page: the timeline, the customer card and the side panel's choices.

Each read runs a fixed number of queries whatever the number of messages, attachments or
tickets involved (the page's tests count them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import Exists, OuterRef, Prefetch, QuerySet
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from helpdesk.models import Customer, Membership, Role, Team, TeamMember, User
from helpdesk.selectors.custom_fields import (
    CustomFieldValue,
    custom_field_list,
    custom_field_values_display,
)
from tickets.models import (
    Attachment,
    CustomStatus,
    CustomTicketType,
    DeliveryStatus,
    Direction,
    Message,
    MessageKind,
    Status,
    SystemType,
    Tag,
    Ticket,
    TicketTag,
)
from tickets.selectors import ticket_visible

# How many of the customer's other tickets the card lists.
OTHER_TICKETS_LIMIT = 10

# How the timeline names why a sender counts as automated (``Message.automated_reason`` is
# free text set at ingest, e.g. "Auto-Submitted: auto-replied"): first keyword found wins.
AUTOMATED_REASON_LABELS = (
    (("bounce", "mailer-daemon", "delivery-status", "postmaster"), _("bounce")),
    (("no-reply", "noreply", "do-not-reply", "donotreply"), _("no-reply address")),
    (("bulk", "list", "precedence", "junk"), _("bulk mail")),
    (("auto",), _("auto-reply")),
)


def event_text(message: Message) -> str:
    """A system event in the reader's language: ``gettext(event) % params``."""
    metadata = message.metadata if isinstance(message.metadata, dict) else {}
    event = metadata.get("event") or message.body_text
    params = dict(metadata.get("params") or {})
    # Values that are themselves source strings (a status or type label) are translated too.
    for key in metadata.get("translate") or ():
        if key in params:
            params[key] = gettext(str(params[key]))
    translated = gettext(str(event))
    if not params:
        return translated
    try:
        return translated % {key: str(value) for key, value in params.items()}
    except (KeyError, ValueError, TypeError):
        # A translation that names a placeholder the event does not carry must not break
        # the page; the untranslated text with its values is still right.
        try:
            return str(event) % {key: str(value) for key, value in params.items()}
        except (KeyError, ValueError, TypeError):
            return str(event)


@dataclass
class TimelineEntry:
    """One row of the timeline with what the template needs already worked out."""

    message: Message
    attachments: list[Attachment]
    event: str = ""
    resent_as: Message | None = None
    resent_from: int | None = None

    @property
    def kind(self) -> str:
        return self.message.kind

    @property
    def is_outbound_message(self) -> bool:
        return self.message.direction == Direction.OUTBOUND and self.message.kind in (
            MessageKind.MESSAGE,
            MessageKind.AUTOMATED,
        )

    @property
    def can_resend(self) -> bool:
        return (
            self.is_outbound_message
            and self.message.delivery_status == DeliveryStatus.FAILED
            and self.resent_as is None
        )

    @property
    def delivery_error(self) -> str:
        # Errors the delivery machinery writes are untranslated source strings; a provider's
        # own text passes through gettext unchanged.
        error = self.message.delivery_error
        return gettext(error) if error else ""

    @property
    def automated_sender_label(self) -> str:
        """Why the sender counts as a machine, in the reader's language where it is known."""
        reason = (self.message.automated_reason or "").strip()
        lowered = reason.lower()
        for keywords, label in AUTOMATED_REASON_LABELS:
            if any(keyword in lowered for keyword in keywords):
                return str(label)
        return reason


def _resent_from(message: Message) -> int | None:
    metadata = message.metadata if isinstance(message.metadata, dict) else {}
    value = metadata.get("resent_from")
    return value if isinstance(value, int) else None


def ticket_timeline(*, ticket: Ticket) -> list[TimelineEntry]:
    """Every message, note, system event and automated message of ``ticket`` in order, with
    authors and attachments: two queries."""
    messages = list(
        Message.objects.filter(ticket=ticket)
        .select_related("author_user", "author_customer")
        .prefetch_related(
            Prefetch("attachments", queryset=Attachment.objects.order_by("id")),
        )
        .order_by("created_at", "id")
    )
    by_id = {message.pk: message for message in messages}
    entries: list[TimelineEntry] = []
    resends: dict[int, Message] = {}
    for message in messages:
        source = _resent_from(message)
        if source is not None and source in by_id:
            resends[source] = message
    for message in messages:
        entries.append(
            TimelineEntry(
                message=message,
                attachments=list(message.attachments.all()),
                event=event_text(message) if message.kind == MessageKind.SYSTEM else "",
                resent_as=resends.get(message.pk),
                resent_from=_resent_from(message),
            )
        )
    return entries


# --- customer card ------------------------------------------------------------------------


@dataclass
class CustomerCard:
    customer: Customer
    custom_values: list[CustomFieldValue]
    other_tickets: list[Ticket] = field(default_factory=list)


def customer_card(*, actor: Membership, ticket: Ticket) -> CustomerCard | None:
    """The ticket's customer with emails, phones, custom field values and their latest other
    tickets the actor may see: five queries."""
    if ticket.customer_id is None:
        return None
    customer = (
        Customer.objects.for_organization(ticket.organization_id)
        .prefetch_related("emails", "phones")
        .filter(pk=ticket.customer_id)
        .first()
    )
    if customer is None:
        return None
    values = custom_field_values_display(
        fields=custom_field_list(organization=actor.organization),
        values=customer.custom_fields or {},
    )
    others = list(
        ticket_visible(actor=actor)
        .filter(customer=customer)
        .exclude(pk=ticket.pk)
        .select_related("custom_status")
        .order_by("-created_at", "-id")[:OTHER_TICKETS_LIMIT]
    )
    return CustomerCard(customer=customer, custom_values=values, other_tickets=others)


# --- side panel ---------------------------------------------------------------------------


def ticket_tag_links(*, ticket: Ticket) -> list[TicketTag]:
    return list(TicketTag.objects.filter(ticket=ticket).select_related("tag").order_by("tag__name"))


def tag_names(*, organization_id: int) -> list[str]:
    """Every tag name of the organization, for the add form's suggestions."""
    return list(
        Tag.objects.for_organization(organization_id)
        .order_by("name")
        .values_list("name", flat=True)
    )


def assignee_candidates(*, ticket: Ticket) -> list[tuple[User, bool]]:
    """Members who can work tickets (not viewers), those on the ticket's team first; each with
    whether they are on that team."""
    memberships: QuerySet[Membership] = Membership.objects.for_organization(
        ticket.organization_id
    ).exclude(role=Role.VIEWER)
    if ticket.team_id is not None:
        on_team = TeamMember.objects.filter(
            organization_id=ticket.organization_id,
            team_id=ticket.team_id,
            user_id=OuterRef("user_id"),
        )
        memberships = memberships.annotate(on_team=Exists(on_team))
        order: list[Any] = ["-on_team", "user__name", "user__email"]
    else:
        order = ["user__name", "user__email"]
    rows = memberships.select_related("user").order_by(*order)
    return [(m.user, bool(getattr(m, "on_team", False))) for m in rows]


def status_choices(*, organization_id: int) -> list[CustomStatus]:
    return list(CustomStatus.objects.for_organization(organization_id).filter(active=True))


def type_choices(*, organization_id: int) -> list[tuple[str, str]]:
    """(key, label) of the system types and the organization's active custom types."""
    custom = CustomTicketType.objects.for_organization(organization_id).filter(active=True)
    return [(str(value), str(label)) for value, label in SystemType.choices] + [
        (item.key, item.name) for item in custom
    ]


def type_label(*, ticket: Ticket, choices: list[tuple[str, str]]) -> str:
    for key, label in choices:
        if key == ticket.ticket_type:
            return label
    return ticket.ticket_type


def team_choices(*, organization_id: int) -> list[Team]:
    return list(Team.objects.for_organization(organization_id).order_by("name"))


def status_label(ticket: Ticket) -> str:
    if ticket.custom_status_id is not None and ticket.custom_status is not None:
        return ticket.custom_status.name
    return str(Status(ticket.status).label)

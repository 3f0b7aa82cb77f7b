"""Writes on tickets: create, assign, status, type, priority, team, tags, merge.

Every service runs in one transaction, leaves a system event on the timeline, and sends its
domain signal (``tickets.signals``) inside that transaction.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from helpdesk.models import Customer, Membership, Organization, Team, User
from tickets import signals
from tickets.models import (
    AuthorType,
    Channel,
    CustomStatus,
    CustomTicketType,
    Direction,
    Inbox,
    IntegrationAccount,
    Message,
    MessageKind,
    Priority,
    Status,
    SystemType,
    Tag,
    Ticket,
    TicketCounter,
    TicketTag,
)
from tickets.provenance import acting, acting_metadata


def _require_writer(actor: Membership | None, ticket: Ticket | None = None) -> None:
    """``None`` is the system itself (inbound channels, workflows)."""
    if actor is None:
        return
    if not actor.can_write:
        raise PermissionDenied
    if ticket is not None and ticket.organization_id != actor.organization_id:
        raise PermissionDenied


def _user(actor: Membership | None) -> User | None:
    return actor.user if actor is not None else None


def _same_org(organization_id: int, *objects: object) -> None:
    for obj in objects:
        if obj is not None and getattr(obj, "organization_id", organization_id) != organization_id:
            raise ValidationError(_("That belongs to another organization."))


def ticket_number_next(*, organization: Organization) -> int:
    """The next ticket number of the organization; unique under concurrent creation because the
    counter row is updated (and so locked) inside the caller's transaction."""
    counter, _created = TicketCounter.objects.get_or_create(organization=organization)
    TicketCounter.objects.filter(pk=counter.pk, organization=organization).update(
        last_number=F("last_number") + 1
    )
    counter.refresh_from_db(fields=["last_number"])
    return counter.last_number


def event_record(
    *,
    ticket: Ticket,
    text: str,
    params: dict[str, object] | None = None,
    actor: Membership | None = None,
    automation_label: str = "",
    automation_reason: str = "",
    translate: tuple[str, ...] = (),
) -> Message:
    """A system event on the timeline. ``text`` is an untranslated source string
    (``gettext_noop``) rendered in the reader's language with ``params``; the params named in
    ``translate`` are source strings too (labels) and are translated at display."""
    current = acting()
    if actor is None and current is not None and not automation_label:
        automation_label, automation_reason = current.label, current.reason
    return Message.objects.create(
        organization_id=ticket.organization_id,
        ticket=ticket,
        direction=Direction.OUTBOUND,
        kind=MessageKind.SYSTEM,
        author_type=AuthorType.AGENT if actor else AuthorType.SYSTEM,
        author_user=_user(actor),
        channel=ticket.source,
        body_text=text,
        metadata={
            "event": text,
            "params": {k: str(v) for k, v in (params or {}).items()},
            "translate": list(translate),
            **(acting_metadata() if actor is None else {}),
        },
        automation_label=automation_label,
        automation_reason=automation_reason,
    )


def _touch(ticket: Ticket, fields: set[str], actor: Membership | None) -> None:
    ticket.updated_at = timezone.now()
    ticket.save(update_fields=[*fields, "updated_at"])
    signals.ticket_changed.send(sender=Ticket, ticket=ticket, fields=fields, actor=actor)


def ticket_type_label(organization: Organization, key: str) -> str:
    if key in SystemType.values:
        return str(SystemType(key).label)
    custom = CustomTicketType.objects.for_organization(organization).filter(key=key).first()
    return custom.name if custom else key


def valid_type_keys(organization: Organization) -> set[str]:
    custom = CustomTicketType.objects.for_organization(organization).filter(active=True)
    return set(SystemType.values) | set(custom.values_list("key", flat=True))


def ticket_create(
    *,
    organization: Organization,
    subject: str,
    source: str,
    actor: Membership | None = None,
    customer: Customer | None = None,
    team: Team | None = None,
    inbox: Inbox | None = None,
    assignee: User | None = None,
    ticket_type: str = SystemType.REGULAR,
    priority: int = Priority.NORMAL,
    integration_account: IntegrationAccount | None = None,
) -> Ticket:
    _require_writer(actor)
    if actor is not None and actor.organization_id != organization.pk:
        raise PermissionDenied
    _same_org(organization.pk, customer, team, inbox, integration_account)
    if source not in Channel.values:
        raise ValidationError({"source": _("Unknown channel.")})
    if ticket_type not in valid_type_keys(organization):
        raise ValidationError({"ticket_type": _("Unknown ticket type.")})
    subject = " ".join(subject.split())[:255] or _("(no subject)")
    if team is None and inbox is not None:
        team = inbox.team
    if integration_account is None and inbox is not None:
        integration_account = inbox.integration_account
    with transaction.atomic():
        now = timezone.now()
        ticket = Ticket.objects.create(
            organization=organization,
            number=ticket_number_next(organization=organization),
            subject=subject,
            team=team,
            inbox=inbox,
            customer=customer,
            assignee=assignee,
            ticket_type=ticket_type,
            priority=priority,
            source=source,
            integration_account=integration_account,
            created_at=now,
            updated_at=now,
        )
        signals.ticket_created.send(sender=Ticket, ticket=ticket, actor=actor)
        if ticket_type == SystemType.RETURN:
            signals.return_created.send(sender=Ticket, ticket=ticket, actor=actor)
        signals.ticket_changed.send(sender=Ticket, ticket=ticket, fields={"created"}, actor=actor)
    return ticket


def ticket_assign(*, actor: Membership | None, ticket: Ticket, assignee: User | None) -> Ticket:
    _require_writer(actor, ticket)
    if (
        assignee is not None
        and not Membership.objects.filter(
            organization_id=ticket.organization_id, user=assignee
        ).exists()
    ):
        raise ValidationError({"assignee": _("That person is not a member of this organization.")})
    previous = ticket.assignee
    if previous == assignee:
        return ticket
    with transaction.atomic():
        ticket.assignee = assignee
        _touch(ticket, {"assignee"}, actor)
        if assignee is None:
            event_record(ticket=ticket, text=gettext_noop("Unassigned"), actor=actor)
        else:
            event_record(
                ticket=ticket,
                text=gettext_noop("Assigned to %(name)s"),
                params={"name": assignee.display_name},
                actor=actor,
            )
        signals.ticket_assigned.send(
            sender=Ticket, ticket=ticket, assignee=assignee, previous=previous, actor=actor
        )
    return ticket


def ticket_set_status(
    *,
    actor: Membership | None,
    ticket: Ticket,
    status: str,
    custom_status: CustomStatus | None = None,
) -> Ticket:
    """Sets a base status, or a custom status (which brings its base status with it)."""
    _require_writer(actor, ticket)
    if custom_status is not None:
        _same_org(ticket.organization_id, custom_status)
        status = custom_status.base_status
    if status not in Status.values:
        raise ValidationError({"status": _("Unknown status.")})
    old = ticket.status
    if old == status and ticket.custom_status_id == (custom_status.pk if custom_status else None):
        return ticket
    with transaction.atomic():
        ticket.status = status
        ticket.custom_status = custom_status
        _touch(ticket, {"status", "custom_status"}, actor)
        with translation.override(None):
            label = custom_status.name if custom_status else str(Status(status).label)
        event_record(
            ticket=ticket,
            text=gettext_noop("Status set to %(status)s"),
            params={"status": label},
            actor=actor,
            translate=() if custom_status else ("status",),
        )
        if old != status:
            signals.status_changed.send(
                sender=Ticket, ticket=ticket, old=old, new=status, actor=actor
            )
    return ticket


def ticket_set_type(*, actor: Membership | None, ticket: Ticket, ticket_type: str) -> Ticket:
    _require_writer(actor, ticket)
    if ticket_type not in valid_type_keys(ticket.organization):
        raise ValidationError({"ticket_type": _("Unknown ticket type.")})
    old = ticket.ticket_type
    if old == ticket_type:
        return ticket
    with transaction.atomic():
        ticket.ticket_type = ticket_type
        _touch(ticket, {"ticket_type"}, actor)
        with translation.override(None):
            label = ticket_type_label(ticket.organization, ticket_type)
        event_record(
            ticket=ticket,
            text=gettext_noop("Type set to %(type)s"),
            params={"type": label},
            actor=actor,
            translate=("type",) if ticket_type in SystemType.values else (),
        )
        signals.type_changed.send(
            sender=Ticket, ticket=ticket, old=old, new=ticket_type, actor=actor
        )
        if ticket_type == SystemType.RETURN:
            signals.return_created.send(sender=Ticket, ticket=ticket, actor=actor)
    return ticket


def ticket_set_priority(*, actor: Membership | None, ticket: Ticket, priority: int) -> Ticket:
    _require_writer(actor, ticket)
    if priority not in Priority.values:
        raise ValidationError({"priority": _("Unknown priority.")})
    old = ticket.priority
    if old == priority:
        return ticket
    with transaction.atomic():
        ticket.priority = priority
        _touch(ticket, {"priority"}, actor)
        with translation.override(None):
            label = str(Priority(priority).label)
        event_record(
            ticket=ticket,
            text=gettext_noop("Priority set to %(priority)s"),
            params={"priority": label},
            actor=actor,
            translate=("priority",),
        )
        signals.priority_changed.send(
            sender=Ticket, ticket=ticket, old=old, new=priority, actor=actor
        )
    return ticket


def ticket_set_team(*, actor: Membership | None, ticket: Ticket, team: Team | None) -> Ticket:
    _require_writer(actor, ticket)
    _same_org(ticket.organization_id, team)
    old = ticket.team
    if old == team:
        return ticket
    with transaction.atomic():
        ticket.team = team
        _touch(ticket, {"team"}, actor)
        event_record(
            ticket=ticket,
            text=gettext_noop("Moved to team %(team)s"),
            params={"team": team.name if team else "—"},
            actor=actor,
        )
        signals.team_changed.send(sender=Ticket, ticket=ticket, old=old, new=team, actor=actor)
    return ticket


def tag_get_or_create(*, organization: Organization, name: str) -> Tag:
    name = " ".join(name.split())[:50]
    if not name:
        raise ValidationError({"tag": _("Give the tag a name.")})
    existing = Tag.objects.for_organization(organization).filter(name__iexact=name).first()
    if existing is not None:
        return existing
    with transaction.atomic():
        return Tag.objects.create(organization=organization, name=name)


def ticket_add_tag(*, actor: Membership | None, ticket: Ticket, tag: Tag) -> bool:
    """Adds ``tag``; returns False (and sends nothing) when the ticket already has it."""
    _require_writer(actor, ticket)
    _same_org(ticket.organization_id, tag)
    with transaction.atomic():
        _link, created = TicketTag.objects.get_or_create(
            organization_id=ticket.organization_id,
            ticket=ticket,
            tag=tag,
            defaults={"added_by": _user(actor)},
        )
        if not created:
            return False
        _touch(ticket, set(), actor)
        event_record(
            ticket=ticket,
            text=gettext_noop("Tag %(tag)s added"),
            params={"tag": tag.name},
            actor=actor,
        )
        signals.tag_added.send(sender=Ticket, ticket=ticket, tag=tag, actor=actor)
    return True


def ticket_remove_tag(*, actor: Membership | None, ticket: Ticket, tag: Tag) -> bool:
    _require_writer(actor, ticket)
    with transaction.atomic():
        deleted, _counts = TicketTag.objects.filter(ticket=ticket, tag=tag).delete()
        if not deleted:
            return False
        _touch(ticket, set(), actor)
        event_record(
            ticket=ticket,
            text=gettext_noop("Tag %(tag)s removed"),
            params={"tag": tag.name},
            actor=actor,
        )
        signals.tag_removed.send(sender=Ticket, ticket=ticket, tag=tag, actor=actor)
    return True


def ticket_merge(*, actor: Membership, source: Ticket, target: Ticket) -> Ticket:
    """Moves every message and tag of ``source`` onto ``target`` and closes ``source``."""
    _require_writer(actor, source)
    _require_writer(actor, target)
    if source.pk == target.pk:
        raise ValidationError(_("A ticket cannot be merged into itself."))
    if source.organization_id != target.organization_id:
        raise PermissionDenied
    if target.merged_into_id is not None:
        raise ValidationError(_("That ticket was itself merged into another one."))
    if source.merged_into_id is not None:
        raise ValidationError(_("This ticket was already merged into another one."))
    with transaction.atomic():
        locked = {
            t.pk: t
            for t in Ticket.objects.for_organization(source.organization_id)
            .select_for_update()
            .filter(pk__in=[source.pk, target.pk])
        }
        source, target = locked[source.pk], locked[target.pk]
        Message.objects.filter(ticket=source).update(ticket=target)
        for link in TicketTag.objects.filter(ticket=source).select_related("tag"):
            TicketTag.objects.get_or_create(
                organization_id=target.organization_id,
                ticket=target,
                tag=link.tag,
                defaults={"added_by": link.added_by},
            )
        _merge_timestamps(target, source)
        source.merged_into = target
        source.status = Status.CLOSED
        source.custom_status = None
        _touch(source, {"merged_into", "status", "custom_status"}, actor)
        _touch(
            target,
            {"last_customer_message_at", "last_agent_message_at", "last_message_at"}
            | {"first_response_at", "reply_status"},
            actor,
        )
        event_record(
            ticket=target,
            text=gettext_noop("Ticket #%(number)s was merged into this one"),
            params={"number": source.number},
            actor=actor,
        )
        event_record(
            ticket=source,
            text=gettext_noop("Merged into ticket #%(number)s"),
            params={"number": target.number},
            actor=actor,
        )
        signals.tickets_merged.send(sender=Ticket, ticket=target, merged=source, actor=actor)
    return target


def _latest(*values: object) -> object:
    present = [v for v in values if v is not None]
    return max(present) if present else None  # type: ignore[type-var]


def _merge_timestamps(target: Ticket, source: Ticket) -> None:
    from tickets.services.messages import reply_status_of

    target.last_customer_message_at = _latest(  # type: ignore[assignment]
        target.last_customer_message_at, source.last_customer_message_at
    )
    target.last_agent_message_at = _latest(  # type: ignore[assignment]
        target.last_agent_message_at, source.last_agent_message_at
    )
    target.last_message_at = _latest(target.last_message_at, source.last_message_at)  # type: ignore[assignment]
    firsts = [t for t in (target.first_response_at, source.first_response_at) if t]
    target.first_response_at = min(firsts) if firsts else None
    target.reply_status = reply_status_of(target)


def tickets_bulk_update(
    *,
    actor: Membership,
    tickets: Iterable[Ticket],
    assignee: User | None = None,
    unassign: bool = False,
    status: str | None = None,
    tag: Tag | None = None,
) -> int:
    """The console's bulk actions: each ticket goes through the same service as one by one."""
    changed = 0
    with transaction.atomic():
        for ticket in tickets:
            if unassign:
                ticket_assign(actor=actor, ticket=ticket, assignee=None)
            elif assignee is not None:
                ticket_assign(actor=actor, ticket=ticket, assignee=assignee)
            if status:
                ticket_set_status(actor=actor, ticket=ticket, status=status)
            if tag is not None:
                ticket_add_tag(actor=actor, ticket=ticket, tag=tag)
            changed += 1
    return changed

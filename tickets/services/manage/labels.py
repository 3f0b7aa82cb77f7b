"""Tags, custom statuses and custom ticket types: what agents label tickets with."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from helpdesk.models import Membership
from tickets import signals
from tickets.models import CustomStatus, CustomTicketType, Status, SystemType, Tag, Ticket
from tickets.services.manage._common import (
    POSITION_MAX,
    Errors,
    add_error,
    clean_name,
    raise_errors,
    require_manager,
    save_unique,
    taken,
)
from tickets.services.tickets import event_record

_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")


def _apply_tag(tag: Tag, name: str, color: str) -> None:
    errors: Errors = {}
    tag.name = clean_name(
        name, field="name", max_length=50, required=_("Give the tag a name."), errors=errors
    )
    color = (color or "").strip()
    if not _COLOR.match(color):
        add_error(errors, "color", _("Enter a colour like #1a2b3c."), "invalid")
    raise_errors(errors)
    tag.color = color.lower()


def _save_tag(tag: Tag) -> Tag:
    others = Tag.objects.for_organization(tag.organization_id).exclude(pk=tag.pk)
    save_unique(
        tag,
        exists=lambda: others.filter(name__iexact=tag.name).exists(),
        error=taken("name", _("A tag named “%(name)s” already exists."), tag.name),
    )
    return tag


def tag_create(*, actor: Membership, name: str, color: str = "#e8ebf0") -> Tag:
    require_manager(actor)
    tag = Tag(organization_id=actor.organization_id)
    _apply_tag(tag, name, color)
    return _save_tag(tag)


def tag_update(*, actor: Membership, tag: Tag, name: str, color: str) -> Tag:
    """Renaming a tag renames it on every ticket that has it."""
    require_manager(actor, tag)
    _apply_tag(tag, name, color)
    return _save_tag(tag)


def tag_delete(*, actor: Membership, tag: Tag) -> int:
    """Deletes the tag and removes it from every ticket. Returns how many tickets had it."""
    require_manager(actor, tag)
    with transaction.atomic():
        count = tag.ticket_tags.count()
        tag.delete()
    return count


# --- custom statuses ------------------------------------------------------


def _apply_custom_status(
    status: CustomStatus, *, name: str, base_status: str, position: int, active: bool
) -> None:
    errors: Errors = {}
    status.name = clean_name(
        name, field="name", max_length=50, required=_("Give the status a name."), errors=errors
    )
    if base_status not in Status.values:
        add_error(errors, "base_status", _("Choose one of the options."), "invalid_choice")
    if not 0 <= position <= POSITION_MAX:
        errors.setdefault("position", []).append(
            ValidationError(
                _("Enter a position between 0 and %(max)s."),
                code="range",
                params={"max": POSITION_MAX},
            )
        )
    raise_errors(errors)
    status.base_status = base_status
    status.position = position
    status.active = active


def _save_custom_status(status: CustomStatus) -> CustomStatus:
    others = CustomStatus.objects.for_organization(status.organization_id).exclude(pk=status.pk)
    save_unique(
        status,
        exists=lambda: others.filter(name__iexact=status.name).exists(),
        error=taken("name", _("A status named “%(name)s” already exists."), status.name),
    )
    return status


def _tickets_with_status(custom_status: CustomStatus) -> list[Ticket]:
    return list(
        Ticket.objects.for_organization(custom_status.organization_id)
        .filter(custom_status=custom_status)
        .order_by("pk")
    )


def custom_status_create(
    *, actor: Membership, name: str, base_status: str, position: int = 0, active: bool = True
) -> CustomStatus:
    require_manager(actor)
    status = CustomStatus(organization_id=actor.organization_id)
    _apply_custom_status(
        status, name=name, base_status=base_status, position=position, active=active
    )
    return _save_custom_status(status)


def custom_status_update(
    *,
    actor: Membership,
    custom_status: CustomStatus,
    name: str,
    base_status: str,
    position: int,
    active: bool,
) -> CustomStatus:
    """When the base status changes, the tickets in this status move to the new base status
    (and ``status_changed`` is sent for each). An inactive status can no longer be chosen;
    tickets that have it keep it."""
    require_manager(actor, custom_status)
    old_base = custom_status.base_status
    _apply_custom_status(
        custom_status, name=name, base_status=base_status, position=position, active=active
    )
    with transaction.atomic():
        _save_custom_status(custom_status)
        if old_base != custom_status.base_status:
            now = timezone.now()
            for ticket in _tickets_with_status(custom_status):
                old = ticket.status
                ticket.status = custom_status.base_status
                ticket.updated_at = now
                ticket.save(update_fields=["status", "updated_at"])
                if old != ticket.status:
                    signals.status_changed.send(
                        sender=Ticket, ticket=ticket, old=old, new=ticket.status, actor=actor
                    )
                signals.ticket_changed.send(
                    sender=Ticket, ticket=ticket, fields={"status"}, actor=actor
                )
    return custom_status


def custom_status_delete(*, actor: Membership, custom_status: CustomStatus) -> int:
    """Deletes the status; its tickets get its base status (with a timeline event each).
    Returns how many tickets had it."""
    require_manager(actor, custom_status)
    base = custom_status.base_status
    with transaction.atomic():
        tickets = _tickets_with_status(custom_status)
        now = timezone.now()
        for ticket in tickets:
            old = ticket.status
            ticket.status = base
            ticket.custom_status = None
            ticket.updated_at = now
            ticket.save(update_fields=["status", "custom_status", "updated_at"])
            event_record(
                ticket=ticket,
                text=gettext_noop("Status set to %(status)s"),
                params={"status": Status(base).label},
                actor=actor,
            )
            if old != base:
                signals.status_changed.send(
                    sender=Ticket, ticket=ticket, old=old, new=base, actor=actor
                )
            signals.ticket_changed.send(
                sender=Ticket, ticket=ticket, fields={"status", "custom_status"}, actor=actor
            )
        custom_status.delete()
    return len(tickets)


# --- ticket types ---------------------------------------------------------


def _clean_type_name(name: str, errors: Errors) -> str:
    return clean_name(
        name, field="name", max_length=50, required=_("Give the type a name."), errors=errors
    )


def _type_taken(key: str) -> ValidationError:
    return ValidationError(
        {
            "key": ValidationError(
                _("A ticket type with the key “%(key)s” already exists."),
                code="unique",
                params={"key": key},
            )
        }
    )


def ticket_type_create(
    *, actor: Membership, key: str, name: str, active: bool = True
) -> CustomTicketType:
    """The key is what tickets store; it cannot change later."""
    require_manager(actor)
    errors: Errors = {}
    key = (key or "").strip().lower()
    if not key:
        add_error(errors, "key", _("Give the type a key."), "required")
    elif len(key) > 40:
        add_error(errors, "key", _("Keep the key to 40 characters or fewer."), "max_length")
    elif not re.fullmatch(r"[a-z0-9_-]+", key):
        add_error(
            errors,
            "key",
            _("Use only letters, digits, hyphens and underscores in the key."),
            "invalid",
        )
    elif key in SystemType.values:
        add_error(errors, "key", _("That key belongs to a built-in ticket type."), "reserved")
    name = _clean_type_name(name, errors)
    raise_errors(errors)
    ticket_type = CustomTicketType(
        organization_id=actor.organization_id, key=key, name=name, active=active
    )
    types = CustomTicketType.objects.for_organization(actor.organization_id)
    save_unique(ticket_type, exists=lambda: types.filter(key=key).exists(), error=_type_taken(key))
    return ticket_type


def ticket_type_update(
    *, actor: Membership, ticket_type: CustomTicketType, name: str, active: bool
) -> CustomTicketType:
    """Name and whether it can be chosen; an inactive type stays on the tickets that have it."""
    require_manager(actor, ticket_type)
    errors: Errors = {}
    ticket_type.name = _clean_type_name(name, errors)
    raise_errors(errors)
    ticket_type.active = active
    with transaction.atomic():
        ticket_type.save(update_fields=["name", "active"])
    return ticket_type


def ticket_type_delete(*, actor: Membership, ticket_type: CustomTicketType) -> int:
    """Deletes the type; its tickets become regular ones (with a timeline event each).
    Returns how many tickets had it."""
    require_manager(actor, ticket_type)
    regular = SystemType.REGULAR.value
    with transaction.atomic():
        tickets = list(
            Ticket.objects.for_organization(ticket_type.organization_id)
            .filter(ticket_type=ticket_type.key)
            .order_by("pk")
        )
        now = timezone.now()
        for ticket in tickets:
            old = ticket.ticket_type
            ticket.ticket_type = regular
            ticket.updated_at = now
            ticket.save(update_fields=["ticket_type", "updated_at"])
            event_record(
                ticket=ticket,
                text=gettext_noop("Type set to %(type)s"),
                params={"type": regular},
                actor=actor,
            )
            signals.type_changed.send(
                sender=Ticket, ticket=ticket, old=old, new=regular, actor=actor
            )
            signals.ticket_changed.send(
                sender=Ticket, ticket=ticket, fields={"ticket_type"}, actor=actor
            )
        ticket_type.delete()
    return len(tickets)

"""Inboxes and inbox groups."""

from __future__ import annotations

import secrets

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from helpdesk.models import Membership, Team
from helpdesk.phones import phone_normalize
from tickets.models import Channel, Inbox, InboxGroup, IntegrationAccount, Ticket
from tickets.services.manage._common import (
    Errors,
    add_error,
    clean_name,
    raise_errors,
    require_manager,
    same_org_choice,
    save_unique,
    taken,
)

PHONE_CHANNELS = frozenset({Channel.SMS, Channel.WHATSAPP, Channel.PHONE})


def _clean_address(actor: Membership, channel: str, address: str, errors: Errors) -> str:
    address = (address or "").strip()
    if channel == Channel.EMAIL:
        if not address:
            add_error(errors, "address", _("An email inbox needs its email address."), "required")
            return address
        try:
            validate_email(address)
        except ValidationError:
            add_error(errors, "address", _("Enter a valid email address."), "invalid")
            return address
        local, _at, domain = address.rpartition("@")
        return f"{local}@{domain.lower()}"
    if channel in PHONE_CHANNELS and address:
        try:
            return phone_normalize(address, region=actor.organization.country)
        except ValidationError as exc:
            errors.setdefault("address", []).append(exc)
            return address
    if len(address) > 254:
        add_error(errors, "address", _("Keep it to 254 characters or fewer."), "max_length")
    return address


def _apply_inbox(
    actor: Membership,
    inbox: Inbox,
    *,
    name: str,
    team: Team | None,
    channel: str,
    address: str,
    group: InboxGroup | None,
    integration_account: IntegrationAccount | None,
    active: bool,
) -> None:
    errors: Errors = {}
    inbox.name = clean_name(
        name, field="name", max_length=100, required=_("Give the inbox a name."), errors=errors
    )
    if team is None:
        add_error(errors, "team", _("Choose the team this inbox belongs to."), "required")
    same_org_choice(actor, errors, "team", team)
    if channel not in Channel.values:
        add_error(errors, "channel", _("Choose one of the options."), "invalid_choice")
    inbox.address = _clean_address(actor, channel, address, errors)
    same_org_choice(actor, errors, "group", group)
    same_org_choice(actor, errors, "integration_account", integration_account)
    raise_errors(errors)
    assert team is not None
    inbox.team = team
    inbox.channel = channel
    inbox.group = group
    inbox.integration_account = integration_account
    inbox.active = active


def _save_inbox(inbox: Inbox) -> Inbox:
    others = Inbox.objects.for_organization(inbox.organization_id).exclude(pk=inbox.pk)
    save_unique(
        inbox,
        exists=lambda: others.filter(name__iexact=inbox.name).exists(),
        error=taken("name", _("An inbox named “%(name)s” already exists."), inbox.name),
    )
    return inbox


def inbox_create(
    *,
    actor: Membership,
    name: str,
    team: Team | None,
    channel: str,
    address: str = "",
    group: InboxGroup | None = None,
    integration_account: IntegrationAccount | None = None,
    active: bool = True,
) -> Inbox:
    require_manager(actor)
    inbox = Inbox(organization_id=actor.organization_id)
    _apply_inbox(
        actor,
        inbox,
        name=name,
        team=team,
        channel=channel,
        address=address,
        group=group,
        integration_account=integration_account,
        active=active,
    )
    return _save_inbox(inbox)


def inbox_update(
    *,
    actor: Membership,
    inbox: Inbox,
    name: str,
    team: Team | None,
    channel: str,
    address: str = "",
    group: InboxGroup | None = None,
    integration_account: IntegrationAccount | None = None,
    active: bool = True,
) -> Inbox:
    """Deactivating an inbox closes its public form and endpoint; its tickets stay."""
    require_manager(actor, inbox)
    _apply_inbox(
        actor,
        inbox,
        name=name,
        team=team,
        channel=channel,
        address=address,
        group=group,
        integration_account=integration_account,
        active=active,
    )
    return _save_inbox(inbox)


def inbox_regenerate_secret(*, actor: Membership, inbox: Inbox) -> Inbox:
    """A new secret: the old hook URL, form URL and endpoint stop working at once."""
    require_manager(actor, inbox)
    with transaction.atomic():
        inbox.secret = secrets.token_urlsafe(24)
        inbox.save(update_fields=["secret"])
    return inbox


def inbox_delete(*, actor: Membership, inbox: Inbox) -> int:
    """Deletes the inbox (and its log of received mail); its tickets stay, without an inbox.
    Returns how many tickets were unlinked."""
    require_manager(actor, inbox)
    with transaction.atomic():
        unlinked = Ticket.objects.for_organization(inbox.organization_id).filter(inbox=inbox)
        count = unlinked.update(inbox=None, updated_at=timezone.now())
        inbox.delete()
    return count


# --- inbox groups ---------------------------------------------------------


def _save_inbox_group(group: InboxGroup) -> InboxGroup:
    others = InboxGroup.objects.for_organization(group.organization_id).exclude(pk=group.pk)
    save_unique(
        group,
        exists=lambda: others.filter(name__iexact=group.name).exists(),
        error=taken("name", _("An inbox group named “%(name)s” already exists."), group.name),
    )
    return group


def _clean_group_name(name: str) -> str:
    errors: Errors = {}
    name = clean_name(
        name, field="name", max_length=100, required=_("Give the group a name."), errors=errors
    )
    raise_errors(errors)
    return name


def inbox_group_create(*, actor: Membership, name: str) -> InboxGroup:
    require_manager(actor)
    group = InboxGroup(organization_id=actor.organization_id, name=_clean_group_name(name))
    return _save_inbox_group(group)


def inbox_group_update(*, actor: Membership, inbox_group: InboxGroup, name: str) -> InboxGroup:
    require_manager(actor, inbox_group)
    inbox_group.name = _clean_group_name(name)
    return _save_inbox_group(inbox_group)


def inbox_group_delete(*, actor: Membership, inbox_group: InboxGroup) -> int:
    """Deletes the group; its inboxes stay, in no group. Returns how many were in it."""
    require_manager(actor, inbox_group)
    with transaction.atomic():
        members = Inbox.objects.for_organization(inbox_group.organization_id)
        count = members.filter(group=inbox_group).update(group=None)
        inbox_group.delete()
    return count

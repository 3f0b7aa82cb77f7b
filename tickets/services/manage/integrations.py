"""Integration accounts: marketplaces and platforms tickets come through."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from helpdesk.models import Membership
from tickets.models import Inbox, IntegrationAccount, Ticket
from tickets.services.manage._common import (
    Errors,
    add_error,
    clean_name,
    raise_errors,
    require_manager,
    save_unique,
    taken,
)


def _apply_integration(account: IntegrationAccount, name: str, kind: str, provider: str) -> None:
    errors: Errors = {}
    account.name = clean_name(
        name, field="name", max_length=100, required=_("Give the account a name."), errors=errors
    )
    if kind not in IntegrationAccount.Kind.values:
        add_error(errors, "kind", _("Choose one of the options."), "invalid_choice")
    provider = " ".join((provider or "").split())
    if len(provider) > 50:
        add_error(errors, "provider", _("Keep it to 50 characters or fewer."), "max_length")
    raise_errors(errors)
    account.kind = kind
    account.provider = provider


def _save_integration(account: IntegrationAccount) -> IntegrationAccount:
    others = IntegrationAccount.objects.for_organization(account.organization_id).exclude(
        pk=account.pk
    )
    save_unique(
        account,
        exists=lambda: others.filter(name__iexact=account.name).exists(),
        error=taken(
            "name", _("An integration account named “%(name)s” already exists."), account.name
        ),
    )
    return account


def integration_account_create(
    *, actor: Membership, name: str, kind: str, provider: str = ""
) -> IntegrationAccount:
    require_manager(actor)
    account = IntegrationAccount(organization_id=actor.organization_id)
    _apply_integration(account, name, kind, provider)
    return _save_integration(account)


def integration_account_update(
    *,
    actor: Membership,
    integration_account: IntegrationAccount,
    name: str,
    kind: str,
    provider: str = "",
) -> IntegrationAccount:
    require_manager(actor, integration_account)
    _apply_integration(integration_account, name, kind, provider)
    return _save_integration(integration_account)


def integration_account_delete(
    *, actor: Membership, integration_account: IntegrationAccount
) -> tuple[int, int]:
    """Deletes the account; its tickets and inboxes stay, without it. Returns how many tickets
    and inboxes were unlinked."""
    require_manager(actor, integration_account)
    org = integration_account.organization_id
    with transaction.atomic():
        tickets = (
            Ticket.objects.for_organization(org)
            .filter(integration_account=integration_account)
            .update(integration_account=None, updated_at=timezone.now())
        )
        inboxes = (
            Inbox.objects.for_organization(org)
            .filter(integration_account=integration_account)
            .update(integration_account=None)
        )
        integration_account.delete()
    return tickets, inboxes

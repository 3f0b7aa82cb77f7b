"""Reads for inbound mail: the hook's inbox lookup and the manager's mail list."""

from __future__ import annotations

from django.db.models import Q
from django.shortcuts import get_object_or_404

from helpdesk.models import Membership
from tickets.models import Channel, InboundEmail, Inbox


def inbox_for_email_hook(*, secret: str) -> Inbox | None:
    """The active email inbox whose secret is ``secret``. Platform code: the secret is the
    credential and names the organization, so the lookup spans tenants (through the unique
    index, so it answers in the same time whatever the secret)."""
    if not secret:
        return None
    return (
        Inbox.all_objects.select_related("organization")
        .filter(secret=secret, active=True, channel=Channel.EMAIL)
        .first()
    )


def inbox_for_ingest(*, inbox: str) -> list[Inbox]:
    """Email inboxes named by an id or an address (for the MTA pipe command, platform code);
    more than one when several organizations use the same address."""
    inboxes = Inbox.all_objects.select_related("organization").filter(channel=Channel.EMAIL)
    if inbox.strip().isdigit():
        return list(inboxes.filter(pk=int(inbox)))
    return list(inboxes.filter(address__iexact=inbox.strip()).order_by("id"))


def inbound_email_list(
    *, inbox: Inbox, state: str = "", before: InboundEmail | None = None, limit: int = 50
) -> list[InboundEmail]:
    """The inbox's mail, newest first, ``limit`` at most, older than ``before`` (keyset)."""
    rows = (
        InboundEmail.objects.for_organization(inbox.organization_id)
        .filter(inbox=inbox)
        .select_related("message__ticket")
        .order_by("-received_at", "-id")
    )
    if state:
        rows = rows.filter(state=state)
    if before is not None:
        rows = rows.filter(
            Q(received_at__lt=before.received_at)
            | Q(received_at=before.received_at, id__lt=before.pk)
        )
    return list(rows[:limit])


def access_inbound_email(*, actor: Membership, inbound_email_id: int) -> InboundEmail:
    return get_object_or_404(
        InboundEmail.objects.for_organization(actor.organization_id).select_related("inbox"),
        pk=inbound_email_id,
    )


def inbound_email_in_inbox(*, inbox: Inbox, inbound_email_id: int) -> InboundEmail | None:
    return (
        InboundEmail.objects.for_organization(inbox.organization_id)
        .filter(inbox=inbox, pk=inbound_email_id)
        .first()
    )

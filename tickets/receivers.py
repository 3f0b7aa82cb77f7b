"""Receivers of the tickets app's own domain signals that feed the agent console.

Receivers only schedule work for after the commit (see ``tickets.signals``); connected by
``TicketsConfig.ready``.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.dispatch import receiver

from tickets import signals
from tickets.models import Ticket

_KEY = "ticket_broadcast_key"


def _scheduled(key: tuple[int, int]) -> bool:
    """Whether this transaction already pushes this ticket: one push per ticket and
    transaction, however many services touched it (a bulk action assigns, sets a status and
    tags in one transaction)."""
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        return False
    return any(
        getattr(callback, _KEY, None) == key
        for _sids, callback, *_rest in getattr(connection, "run_on_commit", [])
    )


@receiver(signals.ticket_changed, sender=Ticket, dispatch_uid="tickets.console.ticket_changed")
def ticket_changed_broadcast(sender: type[Ticket], ticket: Ticket, **kwargs: Any) -> None:
    key = (ticket.organization_id, ticket.pk)
    if _scheduled(key):
        return

    def broadcast() -> None:
        from tickets.consumers import ticket_broadcast

        ticket_broadcast(organization_id=key[0], ticket_id=key[1])

    setattr(broadcast, _KEY, key)
    # robust: a broker outage after commit must not turn a saved change into an error page.
    transaction.on_commit(broadcast, robust=True)

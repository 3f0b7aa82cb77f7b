"""Live updates of the agent console's ticket list over a websocket.

A browser with the list open connects to ``/ws/app/<org>/tickets/?<the list's filters>``. After
a ticket changes (``tickets.receivers`` → ``ticket_broadcast`` on commit) every connection of
the organization's group re-reads the ticket *as its own user* (visibility and filters) and
gets the row as an htmx out-of-band swap that puts it at the top of the list, replacing the row
shown so far; a ticket that stopped matching the filters is taken out of the list, and one the
user may not see is never mentioned to them.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any
from urllib.parse import parse_qsl

from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation.trans_real import parse_accept_lang_header

from helpdesk.models import Membership, User
from helpdesk.presence import PRESENCE_REFRESH_SECONDS, apresence_clear, apresence_touch
from helpdesk.selectors.tenancy import membership_for_slug
from tickets.models import Ticket
from tickets.selectors.list import TicketFilters, ticket_list_row
from tickets.views.console import RowRenderer

logger = logging.getLogger(__name__)

# Close code for "not a member of this organization" (sent before the handshake is accepted,
# so browsers see a refused connection).
CLOSE_FORBIDDEN = 4403
ROW_TEMPLATE = "tickets/console/list.html#live-row"

# The event loop the consumers run on. The in-memory channel layer (development without
# Redis) keeps asyncio queues that only that loop may touch, so a change made in another
# thread (Celery beat in-process, a test's thread) is handed to it thread-safely.
_consumer_loop: asyncio.AbstractEventLoop | None = None


def group_name(organization_id: int) -> str:
    return f"tickets.org.{organization_id}"


def ticket_broadcast(*, organization_id: int, ticket_id: int) -> None:
    """Tells the open lists of the organization that a ticket changed (after commit)."""
    layer = get_channel_layer()
    if layer is None:
        return
    group = group_name(organization_id)
    message = {"type": "ticket.changed", "ticket_id": ticket_id}
    loop = _consumer_loop
    if isinstance(layer, InMemoryChannelLayer) and loop is not None and loop.is_running():
        future = asyncio.run_coroutine_threadsafe(layer.group_send(group, message), loop)
        future.add_done_callback(_log_failure)
        return
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        async_to_sync(layer.group_send)(group, message)
        return
    # Synchronous code under an event loop of its own thread (a script or test that allows
    # it with DJANGO_ALLOW_ASYNC_UNSAFE) cannot block on async_to_sync: send from a thread.
    threading.Thread(
        target=async_to_sync(layer.group_send), args=(group, message), daemon=True
    ).start()


def _log_failure(future: Any) -> None:
    if not future.cancelled() and future.exception() is not None:
        logger.error("ticket broadcast failed", exc_info=future.exception())


def _language(scope: dict[str, Any], user: User) -> str:
    """The language the user reads the console in: as ``LocaleMiddleware`` and
    ``UserLanguageMiddleware`` pick it for their HTTP requests."""
    candidates = [scope.get("cookies", {}).get(settings.LANGUAGE_COOKIE_NAME, ""), user.language]
    headers = dict(scope.get("headers", []))
    accept = headers.get(b"accept-language", b"").decode("latin-1")
    candidates += [code for code, _q in parse_accept_lang_header(accept)]
    for code in candidates:
        if not code or code == "*":
            continue
        try:
            return translation.get_supported_language_variant(code)
        except LookupError:
            continue
    return settings.LANGUAGE_CODE


class TicketListConsumer(AsyncWebsocketConsumer):
    group: str = ""
    _presence: asyncio.Task[None] | None = None

    async def connect(self) -> None:
        global _consumer_loop
        user = self.scope.get("user")
        self.slug: str = self.scope["url_route"]["kwargs"]["org"]
        membership = None
        if user is not None and user.is_authenticated:
            membership = await database_sync_to_async(membership_for_slug)(
                user=user, slug=self.slug
            )
        if membership is None:
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.user: User = user
        self.organization_id = membership.organization_id
        query = self.scope.get("query_string", b"").decode("latin-1")
        self.filters = TicketFilters.from_query(dict(parse_qsl(query)))
        self.language = _language(self.scope, user)
        self.group = group_name(membership.organization_id)
        _consumer_loop = asyncio.get_running_loop()
        await self.channel_layer.group_add(self.group, self.channel_name)
        # The console being open is what makes an agent "online" (round-robin assignment).
        await apresence_touch(self.organization_id, user.pk, self.channel_name)
        self._presence = asyncio.create_task(self._presence_refresh())
        await self.accept()

    async def _presence_refresh(self) -> None:
        while True:
            await asyncio.sleep(PRESENCE_REFRESH_SECONDS)
            await apresence_touch(self.organization_id, self.user.pk, self.channel_name)

    async def disconnect(self, code: int) -> None:
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)
        if self._presence is not None:
            self._presence.cancel()
            await apresence_clear(self.organization_id, self.user.pk, self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """The list only listens."""

    async def ticket_changed(self, event: dict[str, Any]) -> None:
        still_member, html = await database_sync_to_async(self._update)(int(event["ticket_id"]))
        if not still_member:
            # Removed from the organization since connecting: stop listening.
            await self.close(code=CLOSE_FORBIDDEN)
        elif html is not None:
            await self.send(text_data=html)

    def _update(self, ticket_id: int) -> tuple[bool, str | None]:
        """(still a member, the row update or None). Re-read as this user on every change: a
        role or team change since connecting applies at once."""
        membership = membership_for_slug(user=self.user, slug=self.slug)
        if membership is None or membership.organization_id != self.organization_id:
            return False, None
        ticket, visible = ticket_list_row(
            actor=membership, filters=self.filters, ticket_id=ticket_id
        )
        if not visible:
            return True, None
        with translation.override(self.language), timezone.override(membership.organization.tz):
            return True, self._render_row(membership, ticket, ticket_id)

    def _render_row(self, membership: Membership, ticket: Ticket | None, ticket_id: int) -> str:
        row_html = ""
        if ticket is not None:
            renderer = RowRenderer(
                organization=membership.organization, can_bulk=membership.can_write, live=True
            )
            row_html = renderer(ticket)
        return render_to_string(ROW_TEMPLATE, {"ticket_id": ticket_id, "row_html": row_html})

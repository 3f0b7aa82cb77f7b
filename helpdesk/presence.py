"""Who is online: members with the agent console open, per organization.

The console's websocket (``tickets.consumers``) calls ``presence_touch`` when it connects and
then every ``PRESENCE_REFRESH_SECONDS`` while it stays connected (a server-side timer: the
htmx websocket extension sends nothing on its own), and ``presence_clear`` when it closes.

Entries live in Django's cache with a TTL of ``PRESENCE_TTL_SECONDS``. The trade-off: a
connection that vanishes without a close (a crashed server process) keeps its user "online"
for at most the TTL; a shorter TTL means more cache writes from the refresh timer. Five
minutes with a one-minute refresh keeps both small. Several tabs or devices of one user are
tracked per connection, so closing one tab does not take the user offline while another is
open. (Read-modify-write of the per-user entry is not atomic; a lost update can at worst drop
one connection until its next refresh a minute later.)
"""

from __future__ import annotations

import logging
import time

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger(__name__)

PRESENCE_TTL_SECONDS = int(getattr(settings, "PRESENCE_TTL_SECONDS", 300))
PRESENCE_REFRESH_SECONDS = int(getattr(settings, "PRESENCE_REFRESH_SECONDS", 60))


def _key(organization_id: int, user_id: int) -> str:
    return f"presence:{organization_id}:{user_id}"


def _live(entry: object, now: float) -> dict[str, float]:
    if not isinstance(entry, dict):
        return {}
    return {str(k): float(v) for k, v in entry.items() if float(v) > now}


def presence_touch(organization_id: int, user_id: int, connection: str = "") -> None:
    """Marks ``user_id`` online in the organization for the next TTL (per connection). Best
    effort: a cache outage must not break the console."""
    key, now = _key(organization_id, user_id), time.time()
    try:
        entry = _live(cache.get(key), now)
        entry[connection or "-"] = now + PRESENCE_TTL_SECONDS
        cache.set(key, entry, PRESENCE_TTL_SECONDS)
    except Exception:
        logger.warning("could not record the presence of user %s", user_id, exc_info=True)


def presence_clear(organization_id: int, user_id: int, connection: str = "") -> None:
    """Forgets one connection; the user stays online while another one is open."""
    key, now = _key(organization_id, user_id), time.time()
    try:
        entry = _live(cache.get(key), now)
        entry.pop(connection or "-", None)
        if entry:
            cache.set(key, entry, PRESENCE_TTL_SECONDS)
        else:
            cache.delete(key)
    except Exception:
        logger.warning("could not clear the presence of user %s", user_id, exc_info=True)


def presence_online(organization_id: int, user_ids: list[int] | set[int]) -> set[int]:
    """Which of ``user_ids`` are online in the organization now (one cache round trip)."""
    ids = list(user_ids)
    if not ids:
        return set()
    now = time.time()
    found = cache.get_many([_key(organization_id, user_id) for user_id in ids])
    return {user_id for user_id in ids if _live(found.get(_key(organization_id, user_id)), now)}


apresence_touch = sync_to_async(presence_touch)
apresence_clear = sync_to_async(presence_clear)

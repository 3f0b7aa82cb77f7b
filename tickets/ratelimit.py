"""A small fixed-window rate limiter on Django's cache.

Each window has its own counter key, created with ``cache.add`` (atomic: only one caller creates
it) and increased with ``cache.incr`` (atomic on Redis, where it is ``INCR``, and under a lock in
the local-memory cache). Processes that share the cache share the limit, so with Redis the limit
holds across every web process. A fixed window lets a client send up to twice the limit around a
window's edge; for keeping spam bots off a public form that is good enough and costs one round
trip.
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
import time
from dataclasses import dataclass

from django.core.cache import cache
from django.http import HttpRequest


@dataclass(frozen=True)
class RateLimit:
    """``limit`` hits per ``window`` seconds for one ``scope`` (e.g. ``"web-form"``)."""

    scope: str
    limit: int
    window: int


@dataclass(frozen=True)
class RateLimitState:
    allowed: bool
    count: int
    limit: int
    retry_after: int  # seconds until the current window ends


def _bucket(rule: RateLimit, key: str, now: float) -> tuple[str, int]:
    window_index = int(now // rule.window)
    # Hashed: client addresses may contain ':' and keys stay short whatever ``key`` is.
    digest = hashlib.sha256(f"{rule.scope}\0{key}".encode()).hexdigest()[:32]
    retry_after = max(1, math.ceil((window_index + 1) * rule.window - now))
    return f"ratelimit:{digest}:{window_index}", retry_after


def rate_limit_hit(rule: RateLimit, key: str, *, now: float | None = None) -> RateLimitState:
    """Counts one hit for ``key``; ``allowed`` is False once the window holds more than
    ``limit`` hits (the hit that goes over is counted too)."""
    now = time.time() if now is None else now
    bucket, retry_after = _bucket(rule, key, now)
    # The key outlives its window a little, so it cannot expire between add() and incr().
    timeout = rule.window + 60
    if cache.add(bucket, 1, timeout=timeout):
        count = 1
    else:
        try:
            count = cache.incr(bucket)
        except ValueError:  # evicted between add() and incr(): start again
            cache.add(bucket, 0, timeout=timeout)
            count = cache.incr(bucket)
    return RateLimitState(
        allowed=count <= rule.limit, count=count, limit=rule.limit, retry_after=retry_after
    )


def rate_limit_peek(rule: RateLimit, key: str, *, now: float | None = None) -> RateLimitState:
    """The state of ``key`` without counting a hit: ``allowed`` says whether one more hit
    would still be allowed."""
    now = time.time() if now is None else now
    bucket, retry_after = _bucket(rule, key, now)
    count = int(cache.get(bucket) or 0)
    return RateLimitState(
        allowed=count < rule.limit, count=count, limit=rule.limit, retry_after=retry_after
    )


def rate_limit_reset(rule: RateLimit, key: str, *, now: float | None = None) -> None:
    now = time.time() if now is None else now
    cache.delete(_bucket(rule, key, now)[0])


def client_ip(request: HttpRequest) -> str:
    """The client's address as the server saw it (behind a proxy, configure the ASGI server to
    take it from the proxy's header). IPv6 clients are grouped by their /64 network, which one
    household or one server usually owns whole."""
    raw = request.META.get("REMOTE_ADDR") or ""
    try:
        address = ipaddress.ip_address(raw)
    except ValueError:
        return raw or "unknown"
    if address.version == 6:
        if address.ipv4_mapped is not None:  # type: ignore[union-attr]
            return str(address.ipv4_mapped)  # type: ignore[union-attr]
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)

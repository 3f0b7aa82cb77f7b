"""The cache-based rate limiter: counting, windows, atomicity, client addresses, and Redis."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import pytest
from django.test import RequestFactory

from tickets.ratelimit import (
    RateLimit,
    client_ip,
    rate_limit_hit,
    rate_limit_peek,
    rate_limit_reset,
)


@pytest.fixture(autouse=True)
def _own_cache(settings: Any) -> None:
    """A private local-memory cache per test (clearing a shared Redis would hit others)."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"ratelimit-{uuid.uuid4()}",
        }
    }


RULE = RateLimit("test", limit=3, window=60)
NOW = 60 * 16_667 + 20.0  # 20 s into a 60 s window


def test_allows_up_to_the_limit_then_refuses() -> None:
    states = [rate_limit_hit(RULE, "client", now=NOW) for _ in range(5)]

    assert [s.allowed for s in states] == [True, True, True, False, False]
    assert [s.count for s in states] == [1, 2, 3, 4, 5]
    assert states[-1].retry_after == 40  # until the window ends


def test_a_new_window_starts_afresh() -> None:
    for _ in range(4):
        rate_limit_hit(RULE, "client", now=NOW)

    assert not rate_limit_peek(RULE, "client", now=NOW + 39).allowed
    assert rate_limit_hit(RULE, "client", now=NOW + 40).allowed


def test_keys_and_scopes_are_counted_apart() -> None:
    for _ in range(3):
        rate_limit_hit(RULE, "a", now=NOW)

    assert not rate_limit_hit(RULE, "a", now=NOW).allowed
    assert rate_limit_hit(RULE, "b", now=NOW).allowed
    assert rate_limit_hit(RateLimit("other", 3, 60), "a", now=NOW).allowed


def test_peek_does_not_count_and_reset_clears() -> None:
    rate_limit_hit(RULE, "client", now=NOW)
    for _ in range(10):
        state = rate_limit_peek(RULE, "client", now=NOW)
    assert (state.count, state.allowed) == (1, True)

    rate_limit_hit(RULE, "client", now=NOW)
    rate_limit_hit(RULE, "client", now=NOW)
    assert not rate_limit_peek(RULE, "client", now=NOW).allowed
    rate_limit_reset(RULE, "client", now=NOW)
    assert rate_limit_peek(RULE, "client", now=NOW).count == 0


def _race(rule: RateLimit, key: str, threads: int) -> list[bool]:
    results: list[bool] = []
    lock = threading.Lock()
    barrier = threading.Barrier(threads)

    def hit() -> None:
        barrier.wait()
        state = rate_limit_hit(rule, key, now=NOW)
        with lock:
            results.append(state.allowed)

    workers = [threading.Thread(target=hit) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return results


def test_concurrent_hits_never_exceed_the_limit() -> None:
    results = _race(RateLimit("race", limit=5, window=60), "client", threads=20)

    assert len(results) == 20
    assert results.count(True) == 5


def test_the_limit_holds_on_real_redis(settings: Any, redis_url: str) -> None:
    """With Redis the counter is shared by every process: INCR is atomic there."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": redis_url,
            "KEY_PREFIX": f"test-ratelimit-{uuid.uuid4()}",
        }
    }
    rule = RateLimit("redis", limit=5, window=60)
    try:
        results = _race(rule, "client", threads=20)
        assert results.count(True) == 5
        assert rate_limit_peek(rule, "client", now=NOW).count == 20
        assert rate_limit_hit(rule, "other", now=NOW).allowed
    finally:
        rate_limit_reset(rule, "client", now=NOW)
        rate_limit_reset(rule, "other", now=NOW)


@pytest.mark.parametrize(
    ("remote", "expected"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:bbbb::9", "2001:db8:1:2::/64"),
        ("::ffff:198.51.100.4", "198.51.100.4"),
        ("", "unknown"),
    ],
)
def test_client_address_groups_ipv6_networks(remote: str, expected: str) -> None:
    request = RequestFactory().get("/", REMOTE_ADDR=remote)
    assert client_ip(request) == expected

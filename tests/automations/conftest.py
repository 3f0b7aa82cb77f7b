"""Fixtures of the workflow engine's integration tests (real broker, real workers)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.automations.test_resilience_standins import Keys, broker_for, keys_for


@pytest.fixture
def keys(redis_url: str) -> Iterator[Keys]:
    """Fresh Redis keys through which stand-in actions report to the test."""
    yield from keys_for(redis_url)


@pytest.fixture
def broker(redis_url: str) -> Iterator[Any]:
    """The broker's Redis, with this run's queue emptied."""
    yield from broker_for(redis_url)

"""Time-based workflows: checked every minute by beat (built by the conditions helper)."""

from __future__ import annotations


def timer_scan() -> int:
    return 0

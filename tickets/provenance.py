"""Which automation is acting right now (set by the workflow engine while it runs actions).

Ticket services read it so that the events they record name the workflow and why, and the
engine reads it back from the domain events those services send (loop protection). It lives
here, in the lower app, so that ``tickets`` never imports ``automations``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class Acting:
    workflow_id: int
    label: str  # "Workflow: Out-of-hours auto-reply"
    reason: str  # "source is email; outside the working hours of Service"
    depth: int  # 1 for a workflow run by a person's change, 2 for one run by that, …


_acting: ContextVar[Acting | None] = ContextVar("automation_acting", default=None)


def acting() -> Acting | None:
    return _acting.get()


@contextmanager
def acting_as(acting_now: Acting) -> Iterator[None]:
    token = _acting.set(acting_now)
    try:
        yield
    finally:
        _acting.reset(token)


def acting_metadata() -> dict[str, int]:
    """What a message written now records about the workflow acting (for the timeline's link
    to its run log); empty outside a workflow."""
    current = acting()
    return {"workflow_id": current.workflow_id} if current is not None else {}

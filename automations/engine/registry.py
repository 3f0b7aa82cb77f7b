"""The condition and action registries that give workflow JSON its meaning.

A condition row is ``{"field": key, "op": operator, "value": …}``; an action row is
``{"type": key, "params": {…}}``. ``automations.conditions`` and ``automations.actions``
register every kind at import time (``automations.apps``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import Q
from django.utils.functional import Promise

from automations.engine.context import EvalContext


class ConditionError(ValueError):
    """A condition row that cannot be evaluated (unknown field, bad operator or value)."""


@dataclass(frozen=True)
class ConditionType:
    key: str
    label: str | Promise
    operators: tuple[str, ...]
    # What the builder shows for the value: "text", "number", "hours_range", "weekdays",
    # "channel", "status", "reply_status", "ticket_type", "tag", "inbox", "inbox_group",
    # "integration", "marketplace", "member_or_team", "action", "none".
    widget: str
    evaluate: Callable[[EvalContext, str, Any], bool]
    describe: Callable[[str, Any], str] | None = None
    # Event names a workflow with this condition listens to (event-type conditions).
    triggers: frozenset[str] = frozenset()
    # "More than N hours" on a timestamp: a workflow with it (and no trigger condition) runs
    # on the beat timer instead of on events.
    timer: bool = False
    # The condition as SQL over Ticket, for the timer scan; None when it cannot be (then it is
    # evaluated in Python on each candidate).
    to_q: Callable[[str, Any, datetime], Q | None] | None = None
    clean: Callable[[str, Any], Any] | None = None  # validates/normalises the value


@dataclass(frozen=True)
class ActionContext:
    """What an action runs with: the evaluation context and the workflow acting."""

    ctx: EvalContext
    workflow_id: int
    workflow_name: str
    reason: str
    dry_run: bool = False


class ActionError(Exception):
    """An action could not do its work; ``str(error)`` is shown in the run log."""


class ActionSkipped(ActionError):
    """An action chose not to act (rate cap, automated sender, nothing to do)."""


@dataclass(frozen=True)
class ParamSpec:
    name: str
    label: str | Promise
    widget: str  # "text", "textarea", "language", "member", "status", "tag", "team", …
    required: bool = True
    help_text: str | Promise = ""


@dataclass(frozen=True)
class ActionType:
    key: str
    label: str | Promise
    params: tuple[ParamSpec, ...]
    run: Callable[[ActionContext, dict[str, Any]], str]  # returns what it did, for the log
    describe: Callable[[dict[str, Any]], str] | None = None  # "would …" for dry runs
    sends_message: bool = False
    experimental: bool = False
    clean: Callable[[Any, dict[str, Any]], dict[str, Any]] | None = None  # (organization, params)


CONDITIONS: dict[str, ConditionType] = {}
ACTIONS: dict[str, ActionType] = {}


def condition_register(condition: ConditionType) -> ConditionType:
    CONDITIONS[condition.key] = condition
    return condition


def action_register(action: ActionType) -> ActionType:
    ACTIONS[action.key] = action
    return action


# Events a workflow without any trigger condition listens to: a new customer message.
DEFAULT_TRIGGERS = frozenset({"message.received"})


@dataclass(frozen=True)
class CompiledWorkflow:
    """A workflow read once from the database and kept ready for evaluation."""

    id: int
    organization_id: int
    name: str
    trigger: str
    all_conditions: tuple[dict[str, Any], ...]
    any_groups: tuple[tuple[dict[str, Any], ...], ...]
    actions: tuple[dict[str, Any], ...]
    listens_to: frozenset[str] = field(default_factory=frozenset)


def conditions_of(spec: dict[str, Any]) -> tuple[list[dict[str, Any]], list[list[dict[str, Any]]]]:
    all_rows = [row for row in (spec or {}).get("all", []) if isinstance(row, dict)]
    any_groups = [
        [row for row in group if isinstance(row, dict)]
        for group in (spec or {}).get("any", [])
        if isinstance(group, list)
    ]
    return all_rows, [group for group in any_groups if group]


def listens_to(spec: dict[str, Any]) -> frozenset[str]:
    """The events that can make a workflow match: those of its trigger conditions in ALL (each
    must hold on the same event), else the union over its ANY groups, else a new message."""
    all_rows, any_groups = conditions_of(spec)
    events: frozenset[str] | None = None
    for row in all_rows:
        kind = CONDITIONS.get(row.get("field", ""))
        if kind is not None and kind.triggers:
            events = kind.triggers if events is None else events & kind.triggers
    if events is not None:
        return events
    union: set[str] = set()
    for group in any_groups:
        for row in group:
            kind = CONDITIONS.get(row.get("field", ""))
            if kind is not None and kind.triggers:
                union |= kind.triggers
    return frozenset(union) or DEFAULT_TRIGGERS


def trigger_of(spec: dict[str, Any]) -> str:
    """ "time" when a timer condition is present and no condition waits for an event."""
    all_rows, any_groups = conditions_of(spec)
    rows = all_rows + [row for group in any_groups for row in group]
    kinds = [CONDITIONS.get(row.get("field", "")) for row in rows]
    has_timer = any(
        kind is not None and kind.timer and row.get("op") == "more_than"
        for kind, row in zip(kinds, rows, strict=True)
    )
    has_trigger = any(kind is not None and kind.triggers for kind in kinds)
    return "time" if has_timer and not has_trigger else "event"

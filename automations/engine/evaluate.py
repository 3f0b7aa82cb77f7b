"""The evaluator: runs in a Celery worker for one event (or one ticket of a timer scan).

- All enabled workflows of the organization listening to the event are evaluated in this one
  task (no per-workflow task); they are compiled once per process and reloaded when any of
  them changes (a cheap stamp query per event).
- Conditions are pure functions of the context; actions run through services, each in its own
  savepoint, each failure recorded on its own.
- A unique run row per (workflow, event) — or per (workflow, ticket, period) for timers — is
  written in the same transaction as the workflow's effects: a retried or duplicated task finds
  it and does nothing, a crashed one rolls back both and runs again. Side effects outside the
  database (delivery, email, webhooks) are enqueued on commit, so they happen once.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Count, Max
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from automations.engine.context import EvalContext, context_for_event
from automations.engine.registry import (
    ACTIONS,
    CONDITIONS,
    ActionContext,
    ActionSkipped,
    CompiledWorkflow,
    ConditionError,
    conditions_of,
    listens_to,
)
from automations.models import Event, Outcome, Trigger, Workflow, WorkflowRun
from tickets.provenance import Acting, acting_as

logger = logging.getLogger(__name__)

# Events caused by a workflow may trigger other workflows, but not deeper than this.
MAX_DEPTH = 3


# --- compiled workflows, cached per process -----------------------------------------------

_cache: dict[int, tuple[tuple[Any, ...], list[CompiledWorkflow]]] = {}
_cache_lock = threading.Lock()


def _stamp(organization_id: int) -> tuple[Any, ...]:
    row = Workflow.objects.for_organization(organization_id).aggregate(
        changed=Max("updated_at"), count=Count("id")
    )
    return (row["changed"], row["count"])


def compiled_workflows(organization_id: int) -> list[CompiledWorkflow]:
    """The organization's enabled workflows in order; reloaded when any workflow changed."""
    stamp = _stamp(organization_id)
    with _cache_lock:
        cached = _cache.get(organization_id)
        if cached is not None and cached[0] == stamp:
            return cached[1]
    compiled = []
    for workflow in Workflow.objects.for_organization(organization_id).filter(enabled=True):
        all_rows, any_groups = conditions_of(workflow.conditions)
        compiled.append(
            CompiledWorkflow(
                id=workflow.pk,
                organization_id=organization_id,
                name=workflow.name,
                trigger=workflow.trigger,
                all_conditions=tuple(all_rows),
                any_groups=tuple(tuple(group) for group in any_groups),
                actions=tuple(row for row in workflow.actions if isinstance(row, dict)),
                listens_to=listens_to(workflow.conditions),
            )
        )
    with _cache_lock:
        _cache[organization_id] = (stamp, compiled)
    return compiled


def compiled_from(workflow: Workflow) -> CompiledWorkflow:
    """One workflow as it is now (also unsaved ones, for the builder's dry run)."""
    all_rows, any_groups = conditions_of(workflow.conditions)
    return CompiledWorkflow(
        id=workflow.pk or 0,
        organization_id=workflow.organization_id,
        name=workflow.name,
        trigger=workflow.trigger,
        all_conditions=tuple(all_rows),
        any_groups=tuple(tuple(group) for group in any_groups),
        actions=tuple(row for row in workflow.actions if isinstance(row, dict)),
        listens_to=listens_to(workflow.conditions),
    )


# --- conditions --------------------------------------------------------------------------


def condition_holds(ctx: EvalContext, row: dict[str, Any]) -> bool:
    kind = CONDITIONS.get(str(row.get("field", "")))
    if kind is None:
        raise ConditionError(f"unknown condition {row.get('field')!r}")
    op = str(row.get("op", ""))
    if op not in kind.operators:
        raise ConditionError(f"{kind.key}: unknown operator {op!r}")
    return bool(kind.evaluate(ctx, op, row.get("value")))


def condition_text(row: dict[str, Any]) -> str:
    kind = CONDITIONS.get(str(row.get("field", "")))
    if kind is None:
        return str(row.get("field", ""))
    if kind.describe is not None:
        return kind.describe(str(row.get("op", "")), row.get("value"))
    return f"{kind.label} {row.get('op', '')} {row.get('value', '')}".strip()


@dataclass(frozen=True)
class Verdict:
    matched: bool
    reason: str  # the conditions that held (matched) or the first that did not


def conditions_evaluate(workflow: CompiledWorkflow, ctx: EvalContext) -> Verdict:
    """ALL conditions, and at least one condition of every ANY group."""
    held: list[str] = []
    for row in workflow.all_conditions:
        if not condition_holds(ctx, row):
            return Verdict(False, _("not met: %(condition)s") % {"condition": condition_text(row)})
        held.append(condition_text(row))
    for group in workflow.any_groups:
        hit = next((row for row in group if condition_holds(ctx, row)), None)
        if hit is None:
            texts = " / ".join(condition_text(row) for row in group)
            return Verdict(False, _("none of: %(conditions)s") % {"conditions": texts})
        held.append(condition_text(hit))
    return Verdict(True, "; ".join(held) or _("no conditions"))


# --- running ------------------------------------------------------------------------------


def _outcome(results: list[dict[str, Any]]) -> str:
    if not results:
        return Outcome.DONE
    ok = [r for r in results if r["ok"]]
    if len(ok) == len(results):
        return Outcome.DONE
    if not ok and all(r.get("skipped") for r in results):
        return Outcome.SKIPPED
    return Outcome.FAILED if not ok else Outcome.PARTIAL


def actions_run(
    workflow: CompiledWorkflow, ctx: EvalContext, reason: str, *, dry_run: bool = False
) -> list[dict[str, Any]]:
    """Runs (or, dry, describes) the actions in order; one failure never stops the others."""
    results: list[dict[str, Any]] = []
    action_ctx = ActionContext(
        ctx=ctx,
        workflow_id=workflow.id,
        workflow_name=workflow.name,
        reason=reason,
        dry_run=dry_run,
    )
    label = _("Workflow “%(name)s”") % {"name": workflow.name}
    acting = Acting(workflow_id=workflow.id, label=label, reason=reason, depth=ctx.depth + 1)
    for row in workflow.actions:
        key = str(row.get("type", ""))
        params = row.get("params") or {}
        kind = ACTIONS.get(key)
        entry: dict[str, Any] = {"type": key}
        try:
            if kind is None:
                raise ValueError(f"unknown action {key!r}")
            if dry_run:
                summary = kind.describe(params) if kind.describe else str(kind.label)
            else:
                with transaction.atomic(), acting_as(acting):
                    summary = kind.run(action_ctx, params)
            entry.update(ok=True, summary=summary)
        except ActionSkipped as exc:
            entry.update(ok=False, skipped=True, error=str(exc))
        except Exception as exc:
            logger.warning("workflow %s action %s failed", workflow.id, key, exc_info=True)
            entry.update(ok=False, error=str(exc) or exc.__class__.__name__)
        results.append(entry)
    return results


def _claim(workflow: CompiledWorkflow, **unique: Any) -> WorkflowRun | None:
    """The run row, or None when this workflow already ran for this event/period."""
    try:
        with transaction.atomic():
            return WorkflowRun.objects.create(
                organization_id=workflow.organization_id,
                workflow_id=workflow.id,
                outcome=Outcome.SKIPPED,
                **unique,
            )
    except IntegrityError:
        return None


def workflow_run(
    workflow: CompiledWorkflow,
    ctx: EvalContext,
    *,
    event: Event | None = None,
    period_at: datetime | None = None,
) -> WorkflowRun | None:
    """Evaluates one workflow on one context and acts on a match, exactly once per event (or
    per ticket and period); returns the run, or None when it had already run."""
    with transaction.atomic(), override(ctx.organization.default_language):
        unique: dict[str, Any] = {"ticket": ctx.ticket}
        if event is not None:
            unique["event"] = event
        else:
            unique["period_at"] = period_at
        run = _claim(workflow, **unique)
        if run is None:
            return None
        if ctx.by_workflow == workflow.id or ctx.depth >= MAX_DEPTH:
            run.reason = _("loop protection: this change was made by a workflow")
            run.save(update_fields=["reason"])
            return run
        try:
            verdict = conditions_evaluate(workflow, ctx)
        except ConditionError as exc:
            run.outcome, run.reason = Outcome.FAILED, str(exc)
            run.save(update_fields=["outcome", "reason"])
            return run
        if not verdict.matched:
            run.outcome, run.reason = Outcome.NOT_MATCHED, verdict.reason
            run.save(update_fields=["outcome", "reason"])
            return run
        results = actions_run(workflow, ctx, verdict.reason)
        run.outcome, run.reason, run.actions = _outcome(results), verdict.reason, results
        run.save(update_fields=["outcome", "reason", "actions"])
        return run


def event_process(*, organization_id: int, event_id: int) -> str:
    """Evaluates every listening workflow for one event and marks it processed."""
    with transaction.atomic():
        event = (
            Event.objects.for_organization(organization_id)
            .select_for_update(skip_locked=True)
            .filter(pk=event_id)
            .first()
        )
        if event is None:
            return "busy"  # gone, or another worker holds it right now
        if event.processed_at is not None:
            return "already"
        event.attempts += 1
        event.save(update_fields=["attempts"])
    ctx = context_for_event(event)
    if ctx is not None and not event.payload.get("automated"):
        for workflow in compiled_workflows(organization_id):
            if workflow.trigger == Trigger.EVENT and event.name in workflow.listens_to:
                workflow_run(workflow, ctx, event=event)
    Event.objects.filter(pk=event.pk, organization_id=organization_id).update(
        processed_at=timezone.now()
    )
    return "processed"


def events_requeue_stale(*, older_than_seconds: float = 30, limit: int = 1000) -> int:
    """Beat: events still unprocessed a while after they were written (broker down at commit,
    worker killed) are enqueued again; the run rows make the repeat harmless."""
    from automations.engine.events import event_enqueue

    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    stale = list(
        Event.all_objects.filter(processed_at__isnull=True, created_at__lt=cutoff).order_by(
            "created_at"
        )[:limit]
    )
    for event in stale:
        event_enqueue(event)
    return len(stale)

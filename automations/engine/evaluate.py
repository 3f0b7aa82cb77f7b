"""The evaluator: runs in a Celery worker for one event (or one ticket of a timer scan); the
drain (``automations.engine.batch``) runs the same pieces over batches of events.

- All enabled workflows of the organization listening to the event are evaluated in one task
  (no per-workflow task); they are compiled once per process and reloaded when any of them
  changes (a cheap stamp query per event, or per batch).
- Conditions are pure functions of the context, all evaluated first; the runs that do not act
  are written together in one statement. Actions run through services, each in its own
  savepoint, each failure recorded on its own.
- A unique run row per (workflow, event) — or per (workflow, ticket, period) for timers — is
  written in the same transaction as the workflow's effects: a retried or duplicated task finds
  it and does nothing, a crashed one rolls back both and runs again. Side effects outside the
  database (delivery, email, webhooks) are enqueued on commit, so they happen once.
- Only database errors that may pass (``RETRYABLE_ERRORS``) propagate, for the task to retry;
  a bug in a condition or an action is recorded on the run.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, InterfaceError, OperationalError, connection, transaction
from django.utils import timezone
from django.utils.translation import get_language, override
from django.utils.translation import gettext as _

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
# Database errors that may pass (a lost connection, a serialization failure, a lock timeout):
# the task is retried. Any other error is a bug, recorded on the run and never retried.
RETRYABLE_ERRORS: tuple[type[Exception], ...] = (OperationalError, InterfaceError)
# An event whose evaluation was started this many times is given up (left unprocessed, with
# its last error): a poison event must not loop through the broker forever.
MAX_ATTEMPTS = 20


# --- compiled workflows, cached per process -----------------------------------------------

_cache: dict[int, tuple[tuple[Any, ...], list[CompiledWorkflow]]] = {}
_cache_lock = threading.Lock()


def _stamp_sql() -> str:
    """The workflow stamp as two SQL columns (the table name is the model's own)."""
    table = Workflow._meta.db_table
    return (
        f'(SELECT MAX("updated_at") FROM "{table}" WHERE "organization_id" = %s) '  # noqa: S608
        f'AS "workflows_changed", (SELECT COUNT(*) FROM "{table}" WHERE "organization_id" = %s) '
        f'AS "workflows_count"'
    )


def _stamp_of(changed: Any, count: Any) -> tuple[str, int]:
    # The raw value as the database sent it: only ever compared with another read the same way.
    return (str(changed), int(count or 0))


def _stamp(organization_id: int) -> tuple[str, int]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {_stamp_sql()}", [organization_id, organization_id])
        changed, count = cursor.fetchone()
    return _stamp_of(changed, count)


def compiled_workflows(
    organization_id: int, *, stamp: tuple[Any, ...] | None = None
) -> list[CompiledWorkflow]:
    """The organization's enabled workflows in order; reloaded when any workflow changed
    (``stamp``: the latest ``updated_at`` and the number of the organization's workflows, when
    the caller read it already)."""
    if stamp is None:
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


# What a condition row says, by language and row: describing a tag or an inbox condition
# reads names from the database, and every run's reason names its conditions. Kept a few
# minutes (a renamed tag shows under its new name in later reasons after that).
TEXT_TTL_SECONDS = 300.0
TEXT_CACHE_SIZE = 10_000
_texts: dict[tuple[str, str], tuple[float, str]] = {}


def _describe(row: dict[str, Any]) -> str:
    kind = CONDITIONS.get(str(row.get("field", "")))
    if kind is None:
        return str(row.get("field", ""))
    if kind.describe is not None:
        return kind.describe(str(row.get("op", "")), row.get("value"))
    return f"{kind.label} {row.get('op', '')} {row.get('value', '')}".strip()


def condition_text(row: dict[str, Any]) -> str:
    key = (get_language() or "", repr((row.get("field"), row.get("op"), row.get("value"))))
    now = time.monotonic()
    cached = _texts.get(key)
    if cached is not None and cached[0] > now:
        return cached[1]
    text = _describe(row)
    if len(_texts) >= TEXT_CACHE_SIZE:
        _texts.clear()
    _texts[key] = (now + TEXT_TTL_SECONDS, text)
    return text


@dataclass(frozen=True)
class Verdict:
    matched: bool
    reason: str  # the conditions that held (matched) or the first that did not


# Why a workflow did not match, by the row (or ANY group) that failed: kept by a batch of one
# organization (one language), where the same row fails for most events.
Reasons = dict[int, tuple[object, str]]


def _not_met(row: dict[str, Any]) -> str:
    return _("not met: %(condition)s") % {"condition": condition_text(row)}


def _none_of(group: tuple[dict[str, Any], ...]) -> str:
    texts = " / ".join(condition_text(row) for row in group)
    return _("none of: %(conditions)s") % {"conditions": texts}


def _reason(reasons: Reasons | None, item: Any, describe: Any) -> str:
    if reasons is None:
        return str(describe(item))
    known = reasons.get(id(item))
    if known is None or known[0] is not item:
        known = reasons[id(item)] = (item, describe(item))
    return known[1]


def conditions_evaluate(
    workflow: CompiledWorkflow, ctx: EvalContext, *, reasons: Reasons | None = None
) -> Verdict:
    """ALL conditions, and at least one condition of every ANY group. ``reasons``: a dict
    the caller keeps while it evaluates many events in one language, for the texts of the
    conditions that did not hold."""
    held: list[dict[str, Any]] = []
    for row in workflow.all_conditions:
        if not condition_holds(ctx, row):
            return Verdict(False, _reason(reasons, row, _not_met))
        held.append(row)
    for group in workflow.any_groups:
        hit = next((row for row in group if condition_holds(ctx, row)), None)
        if hit is None:
            return Verdict(False, _reason(reasons, group, _none_of))
        held.append(hit)
    return Verdict(True, "; ".join(condition_text(row) for row in held) or _("no conditions"))


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
    """Runs (or, dry, describes) the actions in order; one failure never stops the others.

    A database error worth retrying (``RETRYABLE_ERRORS``) is not an action's failure: it
    propagates, the workflow's transaction (run row and effects) rolls back and the task is
    retried."""
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
        except RETRYABLE_ERRORS:
            raise
        except ActionSkipped as exc:
            entry.update(ok=False, skipped=True, error=str(exc))
        except Exception as exc:
            logger.warning("workflow %s action %s failed", workflow.id, key, exc_info=True)
            entry.update(ok=False, error=str(exc) or exc.__class__.__name__)
        results.append(entry)
    return results


def _verdict(
    workflow: CompiledWorkflow, ctx: EvalContext, reasons: Reasons | None = None
) -> tuple[Verdict | None, str]:
    """The verdict, or None and why the conditions could not be evaluated. A bug in a
    condition is the run's failure, recorded once; only database errors worth retrying
    propagate (the task retries them)."""
    try:
        return conditions_evaluate(workflow, ctx, reasons=reasons), ""
    except RETRYABLE_ERRORS:
        raise
    except ConditionError as exc:
        return None, str(exc)
    except Exception as exc:
        logger.warning("workflow %s: a condition failed", workflow.id, exc_info=True)
        return None, _("a condition could not be evaluated: %(error)s") % {
            "error": f"{exc.__class__.__name__}: {exc}"
        }


def _loop_protected(workflow: CompiledWorkflow, ctx: EvalContext) -> bool:
    return ctx.by_workflow == workflow.id or ctx.depth >= MAX_DEPTH


def _loop_reason() -> str:
    return _("loop protection: this change was made by a workflow")


def triage(
    workflow: CompiledWorkflow, ctx: EvalContext, reasons: Reasons | None = None
) -> tuple[Verdict | None, str, str]:
    """Whether the workflow acts on the context: ``(verdict, "", "")`` when it matched,
    otherwise ``(None, outcome, reason)`` of the run that does not act (loop-protected,
    conditions that failed, or not matched)."""
    if _loop_protected(workflow, ctx):
        return None, Outcome.SKIPPED, _loop_reason()
    verdict, error = _verdict(workflow, ctx, reasons)
    if verdict is None:
        return None, Outcome.FAILED, error
    if verdict.matched:
        return verdict, "", ""
    return None, Outcome.NOT_MATCHED, verdict.reason


def _claim(workflow: CompiledWorkflow, **unique: Any) -> WorkflowRun | None:
    """The run row, or None when this workflow already ran for this event/period. Inside the
    caller's transaction: a concurrent claim of the same row waits for it, then finds it."""
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


def _act(
    workflow: CompiledWorkflow, ctx: EvalContext, verdict: Verdict, unique: dict[str, Any]
) -> WorkflowRun | None:
    """Claims the run and runs the actions in one transaction: the run row and the effects
    commit together, or neither does."""
    with transaction.atomic():
        run = _claim(workflow, **unique)
        if run is None:
            return None
        results = actions_run(workflow, ctx, verdict.reason)
        run.outcome, run.reason, run.actions = _outcome(results), verdict.reason, results
        run.save(update_fields=["outcome", "reason", "actions"])
        return run


def _unique(ctx: EvalContext, event: Event | None, period_at: datetime | None) -> dict[str, Any]:
    unique: dict[str, Any] = {"ticket": ctx.ticket}
    if event is not None:
        unique["event"] = event
    else:
        unique["period_at"] = period_at
    return unique


def workflow_run(
    workflow: CompiledWorkflow,
    ctx: EvalContext,
    *,
    event: Event | None = None,
    period_at: datetime | None = None,
) -> WorkflowRun | None:
    """Evaluates one workflow on one context and acts on a match, exactly once per event (or
    per ticket and period); returns the run, or None when it had already run."""
    unique = _unique(ctx, event, period_at)
    with override(ctx.organization.default_language):
        if _loop_protected(workflow, ctx):
            verdict, error = None, _loop_reason()
            outcome = Outcome.SKIPPED
        else:
            verdict, error = _verdict(workflow, ctx)
            outcome = Outcome.FAILED
        if verdict is not None and verdict.matched:
            return _act(workflow, ctx, verdict, unique)
        with transaction.atomic():
            run = _claim(workflow, **unique)
            if run is None:
                return None
            if verdict is not None:
                outcome, error = Outcome.NOT_MATCHED, verdict.reason
            run.outcome, run.reason = outcome, error
            run.save(update_fields=["outcome", "reason"])
            return run


def _workflows_run_for_event(
    workflows: list[CompiledWorkflow], ctx: EvalContext, event: Event
) -> list[tuple[int, str, str]]:
    """Every listening workflow of one event: all conditions are evaluated first (pure, in
    memory), then each matching workflow claims its run and acts in its own transaction.
    Returns the runs that did not act (not matched, loop-protected, failed conditions), as
    ``(workflow id, outcome, reason)``, for the caller to write in one statement."""
    done: set[int] = set()
    if event.attempts > 1:  # a retry or a duplicate: skip what already ran
        done = set(
            WorkflowRun.objects.for_organization(event.organization_id)
            .filter(event=event)
            .values_list("workflow_id", flat=True)
        )
    quiet: list[tuple[int, str, str]] = []
    matched: list[tuple[CompiledWorkflow, Verdict]] = []
    with override(ctx.organization.default_language):
        for workflow in workflows:
            if workflow.id in done:
                continue
            verdict, outcome, reason = triage(workflow, ctx)
            if verdict is not None:
                matched.append((workflow, verdict))
            else:
                quiet.append((workflow.id, outcome, reason))
        for workflow, verdict in matched:
            _act(workflow, ctx, verdict, {"ticket": ctx.ticket, "event": event})
    return quiet


# A run that did not act, as the batch writer takes it: (workflow id, event id, ticket id,
# outcome, reason).
QuietRun = tuple[int, int, int | None, str, str]


def runs_finish(*, organization_id: int, event_ids: list[int], runs: list[QuietRun]) -> None:
    """Writes the runs that did not act (leaving out those a previous delivery already wrote)
    and marks the events processed, together: on PostgreSQL in one statement without model
    instances (``unnest`` of five arrays), whatever the number of events and workflows — with
    50 workflows an event writes 50 rows, and building and adapting 50 instances per event
    cost more than the rest of its evaluation."""
    if not event_ids and not runs:
        return
    now = timezone.now()
    events = Event.objects.for_organization(organization_id).filter(pk__in=event_ids)
    if connection.vendor != "postgresql" or not runs:
        with transaction.atomic():
            WorkflowRun.objects.bulk_create(
                [
                    WorkflowRun(
                        organization_id=organization_id,
                        workflow_id=workflow_id,
                        event_id=event_id,
                        ticket_id=ticket_id,
                        outcome=outcome,
                        reason=reason,
                        created_at=now,
                    )
                    for workflow_id, event_id, ticket_id, outcome, reason in runs
                ],
                ignore_conflicts=True,
            )
            if event_ids:
                events.update(processed_at=now)
        return
    given = {"organization_id": organization_id, "created_at": now}
    from_rows = ("workflow_id", "event_id", "ticket_id", "outcome", "reason")
    columns, values, params = [], [], []
    for field in WorkflowRun._meta.concrete_fields:
        if field.primary_key:
            continue
        columns.append(f'"{field.column}"')
        if field.attname in from_rows:
            values.append(f"t.{field.attname}")
            continue
        value = given[field.attname] if field.attname in given else field.get_default()
        values.append("%s")
        params.append(field.get_db_prep_save(value, connection))
    # A data-modifying WITH runs whether or not the INSERT reads it. The identifiers are the
    # models' own.
    # The ids go as array literals (one string each, joined in C rather than quoted element
    # by element); outcomes and reasons repeat (the same condition fails for most events):
    # each distinct text is sent once, the rows refer to it by position.
    sql = (
        f'WITH "processed" AS (UPDATE "{Event._meta.db_table}" SET "processed_at" = %s '  # noqa: S608
        'WHERE "organization_id" = %s AND "id" = ANY(%s::bigint[])) '
        f'INSERT INTO "{WorkflowRun._meta.db_table}" ({", ".join(columns)}) '
        f"SELECT {', '.join(values)} FROM (SELECT u.workflow_id, u.event_id, u.ticket_id, "
        "(%s::text[])[u.outcome_at] AS outcome, (%s::text[])[u.reason_at] AS reason "
        "FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[], %s::int[], %s::int[]) "
        "AS u(workflow_id, event_id, ticket_id, outcome_at, reason_at)) AS t "
        "ON CONFLICT DO NOTHING"
    )
    outcomes: dict[str, int] = {}
    texts: dict[str, int] = {}
    workflow_ids, run_event_ids, ticket_ids, outcome_at, reason_at = [], [], [], [], []
    for workflow_id, event_id, ticket_id, outcome, reason in runs:
        workflow_ids.append(workflow_id)
        run_event_ids.append(event_id)
        ticket_ids.append("NULL" if ticket_id is None else ticket_id)
        outcome_at.append(outcomes.setdefault(outcome, len(outcomes) + 1))
        reason_at.append(texts.setdefault(reason, len(texts) + 1))
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            [
                now,
                organization_id,
                _ints(event_ids),
                *params,
                list(outcomes),
                list(texts),
                _ints(workflow_ids),
                _ints(run_event_ids),
                _ints(ticket_ids),
                _ints(outcome_at),
                _ints(reason_at),
            ],
        )


def _ints(values: list[Any]) -> str:
    """A PostgreSQL array literal of integers (and NULLs)."""
    return "{" + ",".join(map(str, values)) + "}"


def _event_start(organization_id: int, event_id: int) -> tuple[Event, tuple[str, int]] | None:
    """Counts the attempt and reads the event and the organization's workflow stamp, in one
    statement; None when the event is gone or already processed."""
    table = Event._meta.db_table
    columns = ", ".join(f'"{field.column}"' for field in Event._meta.concrete_fields)
    sql = (  # one round trip; the identifiers are the model's own
        f'UPDATE "{table}" SET "attempts" = "attempts" + 1 '  # noqa: S608
        f'WHERE "id" = %s AND "organization_id" = %s AND "processed_at" IS NULL '
        f"RETURNING {columns}, {_stamp_sql()}"
    )
    params = [event_id, organization_id, organization_id, organization_id]
    events = list(Event.all_objects.raw(sql, params, translations={}))
    if not events:
        return None
    event = events[0]
    return event, _stamp_of(event.workflows_changed, event.workflows_count)  # type: ignore[attr-defined]


def event_failed(*, organization_id: int, event_id: int, error: BaseException) -> None:
    """Keeps the last error on the event (for whoever looks at a stuck one); best effort."""
    try:
        Event.objects.for_organization(organization_id).filter(pk=event_id).update(
            last_error=f"{error.__class__.__name__}: {error}"[:2000]
        )
    except Exception:  # the database may be what failed
        logger.warning("could not record the error of event %s", event_id, exc_info=True)


def event_process(*, organization_id: int, event_id: int) -> str:
    """Evaluates every listening workflow for one event and marks it processed. Safe to run
    twice, or twice at once: each workflow's run row is unique per event.

    An event that no workflow acts on costs a fixed handful of queries whatever the number of
    workflows: the attempt count with the workflow stamp, the ticket and message of the
    context (and what its conditions look up, each once), and one statement writing every
    run and the processed mark."""
    started = _event_start(organization_id, event_id)
    if started is None:
        return "already"
    event, stamp = started
    if event.attempts > MAX_ATTEMPTS:
        # A poison event (each try killed the worker, or kept hitting a database error):
        # acknowledged without running; it stays unprocessed with its last error for a person.
        event_failed(
            organization_id=organization_id,
            event_id=event_id,
            error=RuntimeError(f"gave up after {MAX_ATTEMPTS} attempts; {event.last_error}"),
        )
        return "gave_up"
    quiet: list[tuple[int, str, str]] = []
    ticket_id = event.ticket_id
    if not event.payload.get("automated"):
        workflows = listening(compiled_workflows(organization_id, stamp=stamp), event.name)
        ctx = context_for_event(event) if workflows else None
        if ctx is not None:
            quiet = _workflows_run_for_event(workflows, ctx, event)
    runs_finish(
        organization_id=organization_id,
        event_ids=[event.pk],
        runs=[(wf, event.pk, ticket_id, outcome, reason) for wf, outcome, reason in quiet],
    )
    return "processed"


def listening(workflows: list[CompiledWorkflow], event_name: str) -> list[CompiledWorkflow]:
    """The event workflows that listen to ``event_name``, in order."""
    return [
        workflow
        for workflow in workflows
        if workflow.trigger == Trigger.EVENT and event_name in workflow.listens_to
    ]


def events_requeue_stale(*, older_than_seconds: float = 30, limit: int = 1000) -> int:
    """Beat: every organization with events still unprocessed a while after they were written
    (broker down at commit, worker killed mid-drain) gets a drain again; the run rows make a
    repeat harmless. No second drain is sent while one is pending (``drain_enqueue``: its key
    lives a minute), and events given up after ``MAX_ATTEMPTS`` are left alone. Returns the
    number of drains sent."""
    from automations.engine.events import DrainEnqueued, drain_enqueue

    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    organizations = list(
        Event.all_objects.filter(
            processed_at__isnull=True, created_at__lt=cutoff, attempts__lte=MAX_ATTEMPTS
        )
        .order_by()
        .values_list("organization_id", flat=True)
        .distinct()[:limit]
    )
    return sum(drain_enqueue(org) == DrainEnqueued.SENT for org in organizations)

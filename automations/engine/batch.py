"""The drain: all of an organization's waiting events, evaluated in batches by one task.

``events_drain`` loops: it **claims** up to ``batch_size`` unprocessed events of the
organization in created order (one ``UPDATE … RETURNING`` that counts the attempt and reads the
workflows' stamp), builds all their contexts in a fixed number of queries
(``contexts_for_events``), evaluates every listening workflow on every event in memory, lets
each matching workflow act exactly as the single-event path does (``_act``: its own
transaction, the run row unique per workflow and event), then writes every run that did not
act and marks the events processed in **one** statement (``runs_finish``). What a batch costs
in queries does not depend on its size, nor on the number of workflows.

Guarantees, as for the single-event path (``evaluate.event_process``):

- A workflow runs once per event: the unique run row is the arbiter, so two drains, or a drain
  and a per-event task, on the same event act once.
- Matching workflows act before the batch is marked processed: a drain that dies mid-batch
  leaves its events unprocessed, the runs of the workflows that acted committed with their
  effects and the rest rolled back; the next drain (or the beat's requeue scan) takes them
  again and skips what already ran.
- An event taken again (``attempts`` > 0 before the claim) is claimed **on its own**, so that
  an event that kills its worker, or keeps failing, uses up its own attempts, not those of the
  events batched with it; after ``MAX_ATTEMPTS`` it is given up (left unprocessed, with its
  last error).
- The events of one ticket are handled in created order: within a batch, the events of a
  ticket that follow one on which a workflow acted are evaluated again, in a next round, after
  those actions (as if each event had been processed alone, one after the other).
- One drain per organization at a time (PostgreSQL: a session advisory lock): a drain that
  finds another one running leaves, and the running one looks for what is left after it lets
  go of the lock, and enqueues a drain for it.
- A drain stops after ``time_budget`` seconds (between batches) and enqueues its continuation,
  so that one busy organization does not hold a worker process for long.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import F, Value
from django.db.models.functions import Concat, Left
from django.utils.translation import override

from automations.engine.context import EvalContext, contexts_for_events
from automations.engine.evaluate import (
    MAX_ATTEMPTS,
    CompiledWorkflow,
    QuietRun,
    Reasons,
    Verdict,
    _act,
    _stamp,
    _stamp_of,
    _stamp_sql,
    compiled_workflows,
    listening,
    runs_finish,
    triage,
)
from automations.engine.events import drain_enqueue, drain_pending_forget
from automations.models import Event, WorkflowRun

logger = logging.getLogger(__name__)

BATCH_SIZE = 200
TIME_BUDGET_SECONDS = 2.0
# The advisory lock's first key: "one drain of organization N" is (LOCK_SPACE, N).
LOCK_SPACE = 0x57464452  # "WFDR"

_local = threading.local()


def _draining() -> set[int]:
    """The organizations drained in this thread right now (eager Celery runs a drain enqueued
    by a drain's own action inside it: the running drain's next claim sees its events)."""
    orgs: set[int] | None = getattr(_local, "orgs", None)
    if orgs is None:
        orgs = _local.orgs = set()
    return orgs


# --- one drain per organization -------------------------------------------------------------


def _lock(organization_id: int) -> bool:
    if connection.vendor != "postgresql":
        return True  # SQLite serialises writers anyway; no concurrent drains to keep apart
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [LOCK_SPACE, organization_id])
        return bool(cursor.fetchone()[0])


def _unlock(organization_id: int) -> None:
    if connection.vendor != "postgresql":
        return
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [LOCK_SPACE, organization_id])
    except Exception:  # the connection is gone, and its lock with it
        logger.warning("could not release the drain lock of %s", organization_id, exc_info=True)


def _claimable(organization_id: int) -> bool:
    return (
        Event.objects.for_organization(organization_id)
        .filter(processed_at__isnull=True, attempts__lte=MAX_ATTEMPTS)
        .exists()
    )


# --- claiming -------------------------------------------------------------------------------


def _claim_sql() -> str:
    table = Event._meta.db_table
    columns = ", ".join(f'"{field.column}"' for field in Event._meta.concrete_fields)
    # The head of the organization's queue, locked; of it, the events up to the first one
    # taken before (attempts > 0), or that one alone when it comes first. The identifiers are
    # the model's own.
    return (
        f'UPDATE "{table}" SET "attempts" = "attempts" + 1 WHERE "id" IN ('  # noqa: S608
        'SELECT "id" FROM (SELECT "id", row_number() OVER w AS "position", '
        'count(*) FILTER (WHERE "attempts" > 0) OVER w AS "retried" FROM ('
        f'SELECT "id", "attempts", "created_at" FROM "{table}" WHERE "organization_id" = %s '
        'AND "processed_at" IS NULL AND "attempts" <= %s ORDER BY "created_at", "id" '
        'LIMIT %s FOR UPDATE) AS "head" WINDOW w AS (ORDER BY "created_at", "id")) AS "ranked" '
        'WHERE "retried" = 0 OR "position" = 1) '
        f"RETURNING {columns}, {_stamp_sql()}"
    )


def _claim(organization_id: int, batch_size: int) -> tuple[list[Event], tuple[Any, ...]]:
    """Counts an attempt on the next events of the organization and returns them in created
    order, with the workflows' stamp; on PostgreSQL in one statement."""
    if connection.vendor == "postgresql":
        params = [organization_id, MAX_ATTEMPTS, batch_size, organization_id, organization_id]
        events = list(Event.all_objects.raw(_claim_sql(), params, translations={}))
        if not events:
            return [], ()
        first = events[0]
        stamp = _stamp_of(first.workflows_changed, first.workflows_count)  # type: ignore[attr-defined]
        events.sort(key=lambda event: (event.created_at, event.pk))
        return events, stamp
    with transaction.atomic():
        head = list(
            Event.objects.for_organization(organization_id)
            .filter(processed_at__isnull=True, attempts__lte=MAX_ATTEMPTS)
            .order_by("created_at", "id")
            .values_list("pk", "attempts")[:batch_size]
        )
        if not head:
            return [], ()
        ids = [head[0][0]]
        if head[0][1] == 0:
            ids = []
            for pk, attempts in head:
                if attempts > 0:
                    break
                ids.append(pk)
        scoped = Event.objects.for_organization(organization_id).filter(pk__in=ids)
        scoped.update(attempts=F("attempts") + 1)
        events = list(scoped.order_by("created_at", "id"))
    return events, _stamp(organization_id)


# --- a batch --------------------------------------------------------------------------------


class _Failure:
    """Which events a failure concerns: the one being evaluated or acted on, else the batch."""

    def __init__(self, events: list[Event]) -> None:
        self.events = events
        self.current: Event | None = None

    def ids(self) -> list[int]:
        return [self.current.pk] if self.current is not None else [e.pk for e in self.events]


def _give_up(organization_id: int, events: list[Event]) -> None:
    """Keeps "gave up" in front of each event's last error, in one statement."""
    given_up = f"RuntimeError: gave up after {MAX_ATTEMPTS} attempts; "
    Event.objects.for_organization(organization_id).filter(
        pk__in=[event.pk for event in events]
    ).update(last_error=Left(Concat(Value(given_up), F("last_error")), 2000))


def _done_runs(organization_id: int, events: list[Event]) -> dict[int, set[int]]:
    """The workflows that already ran, by event, for events taken again (a retry, or a drain
    that died mid-batch): one query, none for a batch of fresh events."""
    again = [event.pk for event in events if event.attempts > 1]
    done: dict[int, set[int]] = {}
    if again:
        rows = (
            WorkflowRun.objects.for_organization(organization_id)
            .filter(event_id__in=again)
            .values_list("event_id", "workflow_id")
        )
        for event_id, workflow_id in rows:
            done.setdefault(event_id, set()).add(workflow_id)
    return done


def _round(
    organization_id: int,
    events: list[Event],
    workflows: list[CompiledWorkflow],
    memos: dict[datetime, dict[Any, Any]],
    failure: _Failure,
    reasons: Reasons,
) -> tuple[list[Event], list[Event]]:
    """Evaluates and acts on ``events``; returns those finished (now marked processed) and
    those deferred to the next round (the later events of a ticket a workflow acted on)."""
    by_name: dict[str, list[CompiledWorkflow]] = {}
    for event in events:
        if event.name not in by_name:
            by_name[event.name] = listening(workflows, event.name)
    wanted = [e for e in events if by_name[e.name] and not (e.payload or {}).get("automated")]
    contexts = contexts_for_events(wanted, organization_id=organization_id, memos=memos)
    done = _done_runs(organization_id, wanted)
    finished: list[Event] = []
    deferred: list[Event] = []
    quiet: list[QuietRun] = []
    acting: list[tuple[Event, EvalContext, list[tuple[CompiledWorkflow, Verdict]]]] = []
    blocked: set[int] = set()  # tickets on which a workflow acts in this round
    language = next(iter(contexts.values())).organization.default_language if contexts else None
    with override(language):
        for event in events:
            if event.ticket_id in blocked:
                deferred.append(event)
                continue
            finished.append(event)
            ctx = contexts.get(event.pk)
            if ctx is None:  # automated, nobody listens, or the ticket is gone
                continue
            failure.current = event
            skip = done.get(event.pk, set())
            matched: list[tuple[CompiledWorkflow, Verdict]] = []
            for workflow in by_name[event.name]:
                if workflow.id in skip:
                    continue
                verdict, outcome, reason = triage(workflow, ctx, reasons)
                if verdict is not None:
                    matched.append((workflow, verdict))
                else:
                    quiet.append((workflow.id, event.pk, event.ticket_id, outcome, reason))
            if matched:
                acting.append((event, ctx, matched))
                blocked.add(ctx.ticket.pk)
        for event, ctx, matched in acting:
            failure.current = event
            for workflow, verdict in matched:
                _act(workflow, ctx, verdict, {"ticket": ctx.ticket, "event": event})
    failure.current = None
    runs_finish(organization_id=organization_id, event_ids=[e.pk for e in finished], runs=quiet)
    return finished, deferred


def _batch(
    organization_id: int,
    events: list[Event],
    stamp: tuple[Any, ...],
    memos: dict[datetime, dict[Any, Any]],
) -> int:
    """Processes claimed events; returns how many were marked processed."""
    given_up = [event for event in events if event.attempts > MAX_ATTEMPTS]
    if given_up:
        # Poison events (each try killed the worker, or kept hitting a database error): left
        # unprocessed with their last error, for a person.
        _give_up(organization_id, given_up)
        events = [event for event in events if event.attempts <= MAX_ATTEMPTS]
    workflows = compiled_workflows(organization_id, stamp=stamp)
    failure = _Failure(events)
    reasons: Reasons = {}  # the texts of conditions that did not hold, for this batch
    processed = 0
    try:
        while events:
            failure.events = events
            finished, events = _round(organization_id, events, workflows, memos, failure, reasons)
            processed += len(finished)
    except Exception as exc:
        _failed(organization_id, failure.ids(), exc)
        raise
    return processed


def _failed(organization_id: int, event_ids: list[int], error: BaseException) -> None:
    """Keeps the error on the events it concerns (for whoever looks at a stuck one); best
    effort: the database may be what failed."""
    try:
        Event.objects.for_organization(organization_id).filter(pk__in=event_ids).update(
            last_error=f"{error.__class__.__name__}: {error}"[:2000]
        )
    except Exception:
        logger.warning("could not record the error of events %s", event_ids, exc_info=True)


# --- the drain ------------------------------------------------------------------------------


def events_drain(
    *,
    organization_id: int,
    batch_size: int = BATCH_SIZE,
    time_budget: float = TIME_BUDGET_SECONDS,
) -> int:
    """Processes the organization's waiting events, a batch at a time, until none is left or
    ``time_budget`` seconds have passed (then a continuation is enqueued); returns how many
    events it marked processed.

    First of all it forgets the organization's pending-drain key: an event committed from now
    on enqueues a new drain, one committed before is seen by this drain's claims."""
    drain_pending_forget(organization_id)
    draining = _draining()
    if organization_id in draining:
        return 0
    if not _lock(organization_id):
        return 0  # another drain runs; it looks for what is left when it lets go
    draining.add(organization_id)
    processed = 0
    memos: dict[datetime, dict[Any, Any]] = {}
    deadline = time.monotonic() + time_budget
    try:
        while True:
            events, stamp = _claim(organization_id, batch_size)
            if not events:
                break
            processed += _batch(organization_id, events, stamp, memos)
            if time.monotonic() >= deadline:
                break
    finally:
        draining.discard(organization_id)
        _unlock(organization_id)
    # What a drain refused by the lock came for, or what the time budget left.
    if _claimable(organization_id):
        drain_enqueue(organization_id)
    return processed

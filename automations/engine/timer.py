"""Time-based workflows: checked every minute by beat, one SQL query per workflow.

For each enabled workflow with trigger "time" (a platform scan over every organization, then
everything per organization), ``timer_candidates`` builds one query over the organization's
tickets:

- each condition becomes SQL through its ``to_q`` — the AND of the ALL rows, and for each ANY
  group the OR of its rows;
- conditions about the moment only (day of week, hour, working hours of an agent or a team,
  ``automations.conditions.INSTANT``) are evaluated once, at ``now``, before the query: one
  that fails in ALL (or a whole ANY group that fails) means no query at all this minute; one
  that holds drops out of the SQL;
- a condition without an SQL form (message does not contain, email is not, working hours of
  the ticket's own team), or an ANY group with such a row, does not narrow the query: it is
  decided in Python on each candidate, like every other condition (``workflow_run`` always
  evaluates the whole workflow again on the ticket). A candidate it rejects gets a "not
  matched" run for its period, so the next scan does not look at it again before the ticket's
  next customer reply;
- tickets that already have a run of this workflow for their current period are excluded in
  the same query (``NOT EXISTS`` on the ``run_once_per_period`` unique index), and the rest are
  taken oldest period first, at most ``batch_size`` per workflow and scan (the next minute takes
  the next batch).

Cost: on PostgreSQL the query walks the index ``ticket_timer_period`` (organization, reply
status, period, …; ``tickets`` migration 0003) in period order, index-only, and probes the run
index once per ticket it passes. The first scan after a workflow is enabled stops after one
batch (about a millisecond over 100,000 tickets); once every qualifying ticket has its run, a
scan still passes each of them once (about 2 µs each: some 40–80 ms for 40,000 tickets that
are unanswered and old). Candidates are then loaded in one query and evaluated with a memo
shared by the batch (a team's working hours at ``now`` are read once).

A ticket's **period** starts at its last customer message (its creation when it has none); a
workflow acts at most once per ticket and period. A new customer reply starts a new period,
so the ticket qualifies again as soon as the conditions hold again: 24 hours after the reply
for "last customer reply more than 24 hours", at once for "ticket created more than 24 hours"
(the ticket is still that old) if it is still unanswered.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone

from automations.conditions import INSTANT
from automations.engine.context import TICKET_RELATED, context_for_ticket
from automations.engine.evaluate import compiled_from, workflow_run
from automations.engine.registry import CONDITIONS, ConditionError, conditions_of
from automations.models import Trigger, Workflow, WorkflowRun
from helpdesk.models import Organization
from tickets.models import Ticket

logger = logging.getLogger(__name__)

BATCH_SIZE = 500

# What one row or group contributes to the scan: decided for every ticket (True/False), a
# filter, or None (decided per candidate in Python).
Filter = bool | Q | None


def _row_filter(organization: Organization, row: dict[str, Any], now: datetime) -> Filter:
    key = str(row.get("field", ""))
    kind = CONDITIONS.get(key)
    if kind is None:
        raise ConditionError(f"unknown condition {key!r}")
    op, value = str(row.get("op", "")), row.get("value")
    if op not in kind.operators:
        raise ConditionError(f"{key}: unknown operator {op!r}")
    instant = INSTANT.get(key)
    if instant is not None:
        held = instant(organization, op, value, now)
        if held is not None:
            return held
    if kind.to_q is not None:
        return kind.to_q(op, value, now)
    return None


def _group_filter(organization: Organization, group: list[dict[str, Any]], now: datetime) -> Filter:
    """The OR of the rows: True if one always holds, None if one can only be told in Python
    (then the group cannot narrow the query), False if none can ever hold."""
    q: Q | None = None
    undecided = False
    for row in group:
        part = _row_filter(organization, row, now)
        if part is True:
            return True
        if part is None:
            undecided = True
        elif isinstance(part, Q):
            q = part if q is None else q | part
    if undecided:
        return None
    return q if q is not None else False


def timer_filter(workflow: Workflow, now: datetime) -> Q | None:
    """The workflow's conditions as one filter over ``Ticket`` at ``now``; None when they
    cannot hold on any ticket at this moment (a day, hour or working-hours condition fails)."""
    organization = workflow.organization
    all_rows, any_groups = conditions_of(workflow.conditions)
    q = Q()
    parts = [_row_filter(organization, row, now) for row in all_rows]
    parts += [_group_filter(organization, group, now) for group in any_groups]
    for part in parts:
        if part is False:
            return None
        if isinstance(part, Q):
            q &= part
    return q


def _period() -> Coalesce:
    return Coalesce("last_customer_message_at", "created_at")


def timer_candidates(
    workflow: Workflow, now: datetime, *, batch_size: int = BATCH_SIZE
) -> QuerySet[Ticket, dict[str, Any]]:
    """The scan's one query for ``workflow`` at ``now``: ``{"pk", "period"}`` of at most
    ``batch_size`` tickets that may match and have no run of this workflow for their current
    period, oldest period first. Empty (no query) when a moment condition fails."""
    tickets = Ticket.objects.for_organization(workflow.organization_id)
    q = timer_filter(workflow, now)
    if q is None:
        return tickets.none().values("pk")
    # Platform read of the run table: the workflow (hence its runs) belongs to the
    # organization the outer query is scoped to.
    already = WorkflowRun.all_objects.filter(
        workflow_id=workflow.pk,
        ticket_id=OuterRef("pk"),
        period_at=Coalesce(OuterRef("last_customer_message_at"), OuterRef("created_at")),
    )
    return (
        tickets.filter(q, merged_into__isnull=True)
        .filter(~Exists(already))
        .annotate(period=_period())
        .order_by("period", "pk")
        .values("pk", "period")[:batch_size]
    )


def timer_workflow_scan(workflow: Workflow, now: datetime, *, batch_size: int = BATCH_SIZE) -> int:
    """One batch of one workflow: each candidate evaluated and acted on in its own transaction
    (``workflow_run``), at most once per period thanks to its unique run row. Returns the
    number of runs recorded."""
    candidates = list(timer_candidates(workflow, now, batch_size=batch_size))
    if not candidates:
        return 0
    compiled = compiled_from(workflow)
    tickets = (
        Ticket.objects.for_organization(workflow.organization_id)
        .select_related(*TICKET_RELATED)
        .in_bulk([row["pk"] for row in candidates])
    )
    runs = 0
    memo: dict[Any, Any] = {}  # e.g. a team's working hours at ``now``, once for the batch
    for row in candidates:
        ticket = tickets.get(row["pk"])
        if ticket is None:
            continue
        if (ticket.last_customer_message_at or ticket.created_at) != row["period"]:
            continue  # a customer replied meanwhile: the next scan looks at the new period
        ctx = context_for_ticket(ticket, at=now, memo=memo)
        if workflow_run(compiled, ctx, period_at=row["period"]) is not None:
            runs += 1
    return runs


def timer_scan(now: datetime | None = None, batch_size: int = BATCH_SIZE) -> int:
    """Beat, every minute: every enabled time-based workflow of every organization, one batch
    each. A workflow that fails is logged and the others still run. Returns the number of
    runs recorded."""
    now = now or timezone.now()
    workflows = (
        Workflow.all_objects.filter(enabled=True, trigger=Trigger.TIME)
        .select_related("organization")
        .order_by("organization_id", "position", "pk")
    )
    runs = 0
    for workflow in workflows:
        try:
            runs += timer_workflow_scan(workflow, now, batch_size=batch_size)
        except Exception:
            logger.exception("timer scan of workflow %s failed", workflow.pk)
    return runs

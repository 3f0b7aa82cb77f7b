"""Reads for the workflow screens: the list (one query whatever its length), permission-checked
fetches that 404 across tenants, the run log (keyset pages), and the dry run ("test against
recent tickets") that evaluates a workflow without acting."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import OuterRef, Q, Subquery
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _

from automations.engine.context import TICKET_RELATED, context_for_ticket
from automations.engine.evaluate import actions_run, compiled_from, conditions_evaluate
from automations.engine.registry import ConditionError, listens_to
from automations.models import Outcome, Trigger, Workflow, WorkflowRun
from helpdesk.models import Membership
from tickets.models import Ticket

# Runs where the conditions matched and actions were attempted.
ACTED = (Outcome.DONE, Outcome.PARTIAL, Outcome.FAILED)
FAILED = (Outcome.PARTIAL, Outcome.FAILED)
# A workflow is shown as failing when this many of its latest acting runs all failed.
FAILING_AFTER = 3
DRY_RUN_TICKETS = 200
RUN_PAGE = 50


def _require_manager(actor: Membership) -> None:
    if not actor.can_manage:
        raise PermissionDenied


def workflow_list(*, actor: Membership, query: str = "") -> list[Workflow]:
    """The organization's workflows in order, each with ``last_run_at`` (its latest run that
    acted) and ``failing`` (its last three acting runs failed): one query."""
    _require_manager(actor)
    org = actor.organization_id
    acted = (
        WorkflowRun.objects.for_organization(org)
        .filter(workflow=OuterRef("pk"), outcome__in=ACTED)
        .order_by("-created_at", "-id")
    )
    workflows = Workflow.objects.for_organization(org).annotate(
        last_run_at=Subquery(acted.values("created_at")[:1]),
        **{
            f"recent_{i}": Subquery(acted.values("outcome")[i : i + 1])
            for i in range(FAILING_AFTER)
        },
    )
    query = " ".join((query or "").split())
    if query:
        workflows = workflows.filter(Q(name__icontains=query) | Q(description__icontains=query))
    rows = list(workflows.order_by("position", "id"))
    for workflow in rows:
        recent = [getattr(workflow, f"recent_{i}") for i in range(FAILING_AFTER)]
        workflow.failing = all(outcome in FAILED for outcome in recent)  # type: ignore[attr-defined]
    return rows


def access_workflow(*, actor: Membership, workflow_id: int) -> Workflow:
    _require_manager(actor)
    return get_object_or_404(
        Workflow.objects.for_organization(actor.organization_id), pk=workflow_id
    )


def access_run(*, actor: Membership, run_id: int) -> WorkflowRun:
    _require_manager(actor)
    return get_object_or_404(
        WorkflowRun.objects.for_organization(actor.organization_id).select_related(
            "workflow", "ticket", "event"
        ),
        pk=run_id,
    )


# --- the run log ----------------------------------------------------------------------------


@dataclass(frozen=True)
class RunPage:
    runs: list[WorkflowRun]
    next_cursor: str  # empty on the last page


def _cursor_of(run: WorkflowRun) -> str:
    return f"{run.created_at.isoformat()}_{run.pk}"


def _parse_cursor(cursor: str) -> tuple[datetime, int] | None:
    stamp, _sep, pk = (cursor or "").rpartition("_")
    try:
        at = datetime.fromisoformat(stamp)
        return (at, int(pk)) if at.tzinfo is not None else None
    except ValueError:
        return None


def run_list(
    *,
    actor: Membership,
    workflow: Workflow,
    cursor: str = "",
    outcome: str = "",
    limit: int = RUN_PAGE,
) -> RunPage:
    """The workflow's runs, newest first, a keyset page at a time (``cursor`` is the last
    run of the previous page); ``outcome`` filters ("acted" for every run that acted)."""
    _require_manager(actor)
    if workflow.organization_id != actor.organization_id:
        raise PermissionDenied
    runs = WorkflowRun.objects.for_organization(actor.organization_id).filter(workflow=workflow)
    if outcome == "acted":
        runs = runs.filter(outcome__in=ACTED)
    elif outcome in Outcome.values:
        runs = runs.filter(outcome=outcome)
    after = _parse_cursor(cursor)
    if after is not None:
        at, pk = after
        runs = runs.filter(Q(created_at__lt=at) | Q(created_at=at, pk__lt=pk))
    page = list(runs.select_related("ticket").order_by("-created_at", "-id")[: limit + 1])
    more = len(page) > limit
    page = page[:limit]
    return RunPage(runs=page, next_cursor=_cursor_of(page[-1]) if more and page else "")


# --- dry run --------------------------------------------------------------------------------


@dataclass
class DryRunRow:
    ticket: Ticket
    matched: bool
    reason: str
    actions: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class DryRun:
    event_name: str
    checked: int
    rows: list[DryRunRow]

    @property
    def matches(self) -> list[DryRunRow]:
        return [row for row in self.rows if row.matched]


def dry_run_event(workflow: Workflow) -> str:
    """What a dry run pretends happened: "time" for timer workflows, else the first event
    the workflow listens to."""
    if workflow.trigger == Trigger.TIME:
        return "time"
    events = sorted(listens_to(workflow.conditions))
    return events[0] if events else "time"


def workflow_dry_run(
    *, actor: Membership, workflow: Workflow, limit: int = DRY_RUN_TICKETS
) -> DryRun:
    """Evaluates ``workflow`` (saved or not, already cleaned) on the organization's latest
    ``limit`` tickets as they are now, and describes what its actions would do on each match.
    Nothing is written: actions only describe themselves, and the whole evaluation runs in a
    transaction that is rolled back."""
    _require_manager(actor)
    if workflow.organization_id != actor.organization_id:
        raise PermissionDenied
    event_name = dry_run_event(workflow)
    compiled = compiled_from(workflow)
    tickets = list(
        Ticket.objects.for_organization(actor.organization_id)
        .select_related(*TICKET_RELATED)
        .order_by("-created_at", "-id")[:limit]
    )
    rows: list[DryRunRow] = []
    with transaction.atomic():
        for ticket in tickets:
            ctx = context_for_ticket(ticket, event_name=event_name)
            try:
                verdict = conditions_evaluate(compiled, ctx)
            except ConditionError as exc:
                rows.append(DryRunRow(ticket=ticket, matched=False, reason=str(exc)))
                continue
            if not verdict.matched:
                rows.append(DryRunRow(ticket=ticket, matched=False, reason=verdict.reason))
                continue
            described = actions_run(compiled, ctx, verdict.reason, dry_run=True)
            rows.append(
                DryRunRow(ticket=ticket, matched=True, reason=verdict.reason, actions=described)
            )
        transaction.set_rollback(True)
    return DryRun(event_name=event_name, checked=len(tickets), rows=rows)


def event_label(name: str) -> str:
    """What a dry run or the list says about an event (translated at call time)."""
    labels = {
        "ticket.created": _("a ticket is created"),
        "message.received": _("a customer message arrives"),
        "message.sent": _("a message is sent"),
        "ticket.assigned": _("a ticket is assigned"),
        "tag.added": _("a tag is added"),
        "status.changed": _("the status changes"),
        "type.changed": _("the ticket type changes"),
        "return.created": _("a return is created"),
        "time": _("checked every minute"),
    }
    return str(labels.get(name, name))

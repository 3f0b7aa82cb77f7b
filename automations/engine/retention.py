"""Retention of run rows: every event writes one run per listening workflow (50 workflows, 50
rows), and nearly all of them say "not matched". Those are kept for
``settings.WORKFLOW_NOT_MATCHED_RUNS_DAYS`` days (for the run log), then deleted by a beat task
in capped batches. Runs that acted (done, failed), were skipped, or belong to a time-based
workflow's period (they keep it from acting twice on a ticket) are kept."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from automations.models import Outcome, Workflow, WorkflowRun

PRUNE_BATCH = 5000
# A call deletes at most this many batches; the next call (beat) goes on.
PRUNE_MAX_BATCHES = 20


def runs_prune(*, days: int | None = None, batch: int = PRUNE_BATCH) -> int:
    """Deletes the not-matched event runs older than the retention, workflow by workflow (on
    the ``(workflow, -created_at)`` index), at most ``PRUNE_MAX_BATCHES`` batches of ``batch``
    rows per call; returns how many were deleted."""
    keep_days = settings.WORKFLOW_NOT_MATCHED_RUNS_DAYS if days is None else days
    cutoff = timezone.now() - timedelta(days=keep_days)
    deleted = 0
    batches = 0
    workflows = Workflow.all_objects.order_by("id").values_list("id", "organization_id")
    for workflow_id, organization_id in workflows:
        while batches < PRUNE_MAX_BATCHES:
            old = (
                WorkflowRun.objects.for_organization(organization_id)
                .filter(
                    workflow_id=workflow_id,
                    created_at__lt=cutoff,
                    outcome=Outcome.NOT_MATCHED,
                    event_id__isnull=False,
                )
                .order_by()
                .values_list("pk", flat=True)[:batch]
            )
            ids = list(old)
            if not ids:
                break
            batches += 1
            WorkflowRun.objects.for_organization(organization_id).filter(pk__in=ids).delete()
            deleted += len(ids)
            if len(ids) < batch:
                break
    return deleted

"""Workflows, the event outbox they run from, their runs, and per-organization settings.

Conditions and actions are stored as JSON rows (``{"field", "op", "value"}`` and
``{"type", "params"}``); ``automations.conditions`` and ``automations.actions`` hold the
registry that gives them meaning, and ``automations.engine`` evaluates them in a worker.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from helpdesk.models import Team, TenantModel
from tickets.models import Ticket


class Trigger(models.TextChoices):
    EVENT = "event", _("When something happens")
    TIME = "time", _("On a timer (checked every minute)")


class Workflow(TenantModel):
    name = models.CharField(_("name"), max_length=100)
    description = models.TextField(_("description"))
    enabled = models.BooleanField(_("enabled"), default=False)
    position = models.PositiveIntegerField(_("order"), default=0)
    # Derived from the conditions by ``workflow_save`` (the beat scan queries it).
    trigger = models.CharField(_("trigger"), max_length=10, choices=Trigger.choices)
    conditions = models.JSONField(_("conditions"), default=dict, blank=True)
    actions = models.JSONField(_("actions"), default=list, blank=True)
    template_key = models.CharField(max_length=50, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["position", "id"]
        verbose_name = _("workflow")
        verbose_name_plural = _("workflows")
        indexes = [
            models.Index(fields=["organization", "enabled", "trigger"], name="workflow_enabled")
        ]

    def __str__(self) -> str:
        return self.name


class AutomationSettings(TenantModel):
    """One row per organization: the optional translation and AI backends, and the limits."""

    translate_url = models.URLField(
        _("translation service URL"),
        blank=True,
        help_text=_("A LibreTranslate-compatible API, e.g. https://translate.example.com"),
    )
    translate_api_key = models.CharField(_("translation API key"), max_length=200, blank=True)
    ai_enabled = models.BooleanField(_("AI messages (experimental)"), default=False)
    ai_base_url = models.URLField(
        _("AI endpoint URL"),
        blank=True,
        help_text=_("An OpenAI-compatible API, e.g. https://api.openai.com/v1"),
    )
    ai_api_key = models.CharField(_("AI API key"), max_length=300, blank=True)
    ai_model = models.CharField(_("AI model"), max_length=100, blank=True)
    max_automated_per_ticket_per_hour = models.PositiveSmallIntegerField(
        _("automated messages per ticket per hour, at most"), default=5
    )

    class Meta:
        verbose_name = _("automation settings")
        verbose_name_plural = _("automation settings")
        constraints = [
            models.UniqueConstraint(fields=["organization"], name="automation_settings_unique")
        ]

    def __str__(self) -> str:
        return f"automation settings of {self.organization_id}"


class Event(TenantModel):
    """The outbox: written in the same transaction as the change it records, processed by the
    evaluator after commit, re-enqueued by beat if it is still unprocessed."""

    name = models.CharField(max_length=50)
    ticket = models.ForeignKey(
        Ticket, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    payload = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    processed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(
                fields=["created_at"],
                name="event_unprocessed",
                condition=Q(processed_at__isnull=True),
            ),
            models.Index(fields=["organization", "-created_at"], name="event_org_time"),
        ]

    def __str__(self) -> str:
        return f"{self.name} #{self.pk}"


class Outcome(models.TextChoices):
    NOT_MATCHED = "not_matched", _("Conditions not met")
    DONE = "done", _("Done")
    PARTIAL = "partial", _("Some actions failed")
    FAILED = "failed", _("Failed")
    SKIPPED = "skipped", _("Skipped")


class WorkflowRun(TenantModel):
    """One evaluation of one workflow: per event, or per ticket and qualifying period for
    time-based workflows. The unique constraints make a retried evaluation a no-op.

    Every event writes one row per listening workflow (50 workflows: 50 rows), so a row must
    be cheap to write. Its ``workflow``, ``event`` and ``ticket`` have **no database
    foreign-key constraint** and no index of their own (the composite indexes below lead with
    each of them): the three checks per row cost more than inserting it. The trade-off: the
    database does not refuse a run whose workflow, event or ticket is gone. Deletions through
    Django still cascade (workflow, event) and clear (ticket) as before, since Django, not the
    database, carries out ``on_delete``; what can be left is a row written by an evaluation
    racing with such a deletion, pointing at nothing — it shows in no run log (the workflow
    is gone) or without its ticket (``ticket`` is read with an outer join). The organization
    keeps its constraint (tenancy)."""

    workflow = models.ForeignKey(
        Workflow,
        on_delete=models.CASCADE,
        related_name="runs",
        db_constraint=False,
        db_index=False,
    )
    event = models.ForeignKey(
        Event,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="runs",
        db_constraint=False,
        db_index=False,
    )
    ticket = models.ForeignKey(
        Ticket,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="workflow_runs",
        db_constraint=False,
        db_index=False,
    )
    # Time-based runs: the ticket's qualifying moment (its last customer message, or its
    # creation); a new customer reply starts a new period.
    period_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=12, choices=Outcome.choices)
    reason = models.TextField(blank=True)
    actions = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # Event first: it also serves the look-ups of an event's runs.
            models.UniqueConstraint(
                fields=["event", "workflow"],
                name="run_once_per_event",
                condition=Q(event__isnull=False),
            ),
            models.UniqueConstraint(
                fields=["workflow", "ticket", "period_at"],
                name="run_once_per_period",
                condition=Q(period_at__isnull=False),
            ),
        ]
        indexes = [
            # Also the look-ups by workflow and by ticket (a deleted ticket's runs are cleared).
            models.Index(fields=["workflow", "-created_at"], name="run_workflow_time"),
            models.Index(fields=["ticket", "-created_at"], name="run_ticket_time"),
        ]

    def __str__(self) -> str:
        return f"{self.workflow_id} {self.outcome}"


class WebhookStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENDING = "sending", _("Sending")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Failed")


class WebhookDelivery(TenantModel):
    """One webhook call of a workflow: the exact body and signature are fixed when the action
    runs, so every attempt sends the same bytes with the same ``X-Helpdesk-Delivery`` id."""

    delivery_id = models.UUIDField(default=uuid.uuid4, editable=False, unique=True)
    workflow = models.ForeignKey(
        Workflow, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    run = models.ForeignKey(
        WorkflowRun,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="webhook_deliveries",
    )
    ticket = models.ForeignKey(
        Ticket, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    url = models.URLField(max_length=2000)
    body = models.TextField()
    signature = models.CharField(max_length=100)
    status = models.CharField(max_length=10, choices=WebhookStatus.choices)
    attempts = models.PositiveSmallIntegerField(default=0)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    # When the next attempt is due (a retry's backoff), or when the current one started.
    due_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        indexes = [
            models.Index(fields=["workflow", "-created_at"], name="webhook_workflow_time"),
            # The requeue scan reads only the (few) deliveries in flight.
            models.Index(
                fields=["status", "due_at"],
                name="webhook_in_flight",
                condition=Q(status__in=["queued", "sending"]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.delivery_id} {self.status}"


class RoundRobinSlot(TenantModel):
    """When round robin last gave a team's member a ticket. Picks lock the chosen row
    (``SELECT … FOR UPDATE SKIP LOCKED``), so concurrent picks hand out different people."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    last_assigned_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["team", "user"], name="round_robin_slot_unique")
        ]

    def __str__(self) -> str:
        return f"{self.team_id}:{self.user_id}"

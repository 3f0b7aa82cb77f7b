from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from helpdesk.models.tenancy import TenantModel, validate_time_zone


class Team(TenantModel):
    name = models.CharField(_("name"), max_length=100)
    display_name = models.CharField(
        _("display name"),
        max_length=100,
        blank=True,
        help_text=_("What customers see. Leave empty to use the name."),
    )
    time_zone = models.CharField(
        _("time zone"),
        max_length=64,
        blank=True,
        validators=[validate_time_zone],
        help_text=_("Leave empty to use the organization's time zone."),
    )
    create_ticket_for_missed_calls = models.BooleanField(
        _("create ticket for missed calls"), default=False
    )
    ring_last_advisor = models.BooleanField(
        _("ring last advisor"),
        default=False,
        help_text=_("Ring the assignee of the caller's open ticket from the last 7 days first."),
    )
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        through="TeamMember",
        related_name="teams",
        blank=True,
        verbose_name=_("members"),
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["name"]
        verbose_name = _("team")
        verbose_name_plural = _("teams")
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="team_name_unique"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def public_name(self) -> str:
        return self.display_name or self.name

    def effective_time_zone(self) -> str:
        return self.time_zone or self.organization.time_zone


class TeamMember(TenantModel):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    added_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["user__name", "user__email"]
        verbose_name = _("team member")
        verbose_name_plural = _("team members")
        constraints = [
            models.UniqueConstraint(fields=["team", "user"], name="team_member_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.team}"

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from helpdesk.models.teams import Team
from helpdesk.models.tenancy import TenantModel

MAX_SCHEDULES_PER_TEAM = 25


class ScheduleKind(models.TextChoices):
    OPEN = "open", _("Open: ring advisors")
    CLOSED = "closed", _("Closed: after hours (e.g. a holiday)")


class Recurrence(models.TextChoices):
    WEEKLY = "weekly", _("Weekly")
    YEARLY = "yearly", _("Every year on these dates")


class Weekday(models.IntegerChoices):
    MONDAY = 0, _("Monday")
    TUESDAY = 1, _("Tuesday")
    WEDNESDAY = 2, _("Wednesday")
    THURSDAY = 3, _("Thursday")
    FRIDAY = 4, _("Friday")
    SATURDAY = 5, _("Saturday")
    SUNDAY = 6, _("Sunday")


class Slot(models.TextChoices):
    PRIMARY = "primary", _("Primary")
    SECONDARY = "secondary", _("Secondary")


class Schedule(TenantModel):
    """A ring schedule: when the team is open and whom to ring first.

    Where several enabled schedules cover an instant, the most recently created one wins, so a
    holiday schedule added later overrides business hours.
    """

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="schedules")
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(
        _("kind"), max_length=10, choices=ScheduleKind.choices, default=ScheduleKind.OPEN
    )
    enabled = models.BooleanField(_("enabled"), default=True)
    starts_on = models.DateField(_("starts on"))
    ends_on = models.DateField(_("ends on"), null=True, blank=True)
    recurrence = models.CharField(
        _("recurrence"), max_length=10, choices=Recurrence.choices, default=Recurrence.WEEKLY
    )
    interval_weeks = models.PositiveSmallIntegerField(
        _("repeat every N weeks"), default=1, help_text=_("1 = every week, 2 = every other week.")
    )
    advisors = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="ScheduleAdvisor", related_name="+", blank=True
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("schedule")
        verbose_name_plural = _("schedules")
        indexes = [models.Index(fields=["team", "enabled"], name="schedule_team_enabled")]

    def __str__(self) -> str:
        return self.name


class ScheduleRange(TenantModel):
    """One weekly time range. An end at or before the start runs past midnight; 00:00–00:00 is
    the whole day."""

    schedule = models.ForeignKey(Schedule, on_delete=models.CASCADE, related_name="ranges")
    weekday = models.PositiveSmallIntegerField(_("day"), choices=Weekday.choices)
    start_time = models.TimeField(_("from"))
    end_time = models.TimeField(_("until"))

    class Meta:
        ordering = ["weekday", "start_time"]
        verbose_name = _("time range")
        verbose_name_plural = _("time ranges")

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.start_time:%H:%M}–{self.end_time:%H:%M}"


class ScheduleAdvisor(TenantModel):
    schedule = models.ForeignKey(Schedule, on_delete=models.CASCADE, related_name="slots")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    slot = models.CharField(_("slot"), max_length=10, choices=Slot.choices)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["slot", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["schedule", "user"], name="schedule_advisor_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.slot})"

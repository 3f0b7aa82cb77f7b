from __future__ import annotations

from typing import Any, cast

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from helpdesk.models import Recurrence, Schedule, ScheduleKind, Slot, Team, User, Weekday
from helpdesk.services.schedules import MAX_RANGES_PER_SCHEDULE, RangeSpec

EXTRA_RANGE_ROWS = 3
TIME_FORMAT = "%H:%M"


class AdvisorField(forms.ModelMultipleChoiceField):
    widget = forms.CheckboxSelectMultiple

    def label_from_instance(self, obj: User) -> str:  # type: ignore[override]
        return obj.display_name


class ScheduleForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    kind = forms.ChoiceField(
        label=_("Kind"), choices=ScheduleKind.choices, initial=ScheduleKind.OPEN
    )
    enabled = forms.BooleanField(label=_("Enabled"), required=False, initial=True)
    starts_on = forms.DateField(
        label=_("Starts on"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    ends_on = forms.DateField(
        label=_("Ends on"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text=_("Leave empty to repeat with no end. Required for every-year schedules."),
    )
    recurrence = forms.ChoiceField(
        label=_("Repeats"), choices=Recurrence.choices, initial=Recurrence.WEEKLY
    )
    interval_weeks = forms.IntegerField(
        label=_("Repeat every N weeks"),
        min_value=1,
        max_value=52,
        initial=1,
        help_text=_("1 = every week, 2 = every other week (weekly schedules only)."),
    )
    primary = AdvisorField(
        label=_("Primary advisors"),
        queryset=User.objects.none(),
        required=False,
        help_text=_("Rung first."),
    )
    secondary = AdvisorField(
        label=_("Secondary advisors"),
        queryset=User.objects.none(),
        required=False,
        help_text=_("Rung when nobody on the primary slot answers."),
    )

    def __init__(self, *args: Any, team: Team, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Only the team's members can be advisors.
        members = User.objects.filter(teams=team).order_by("name", "email")
        self.fields["primary"].queryset = members  # type: ignore[attr-defined]
        self.fields["secondary"].queryset = members  # type: ignore[attr-defined]

    @staticmethod
    def initial_for(schedule: Schedule) -> dict[str, object]:
        slots = list(schedule.slots.all())
        return {
            "name": schedule.name,
            "kind": schedule.kind,
            "enabled": schedule.enabled,
            "starts_on": schedule.starts_on,
            "ends_on": schedule.ends_on,
            "recurrence": schedule.recurrence,
            "interval_weeks": schedule.interval_weeks,
            "primary": [s.user_id for s in slots if s.slot == Slot.PRIMARY],
            "secondary": [s.user_id for s in slots if s.slot == Slot.SECONDARY],
        }

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        primary = {user.pk for user in cleaned.get("primary", [])}
        secondary = {user.pk for user in cleaned.get("secondary", [])}
        if primary & secondary:
            self.add_error(
                "secondary",
                _("A person can be on the primary or the secondary slot, not both."),
            )
        return cleaned


class RangeForm(forms.Form):
    """One weekly range row. A row left blank is ignored."""

    weekday = forms.TypedChoiceField(
        label=_("Day"),
        choices=[("", "—"), *Weekday.choices],
        coerce=int,
        empty_value=None,
        required=False,
    )
    start_time = forms.TimeField(
        label=_("From"),
        required=False,
        widget=forms.TimeInput(attrs={"type": "time"}, format=TIME_FORMAT),
    )
    end_time = forms.TimeField(
        label=_("Until"),
        required=False,
        widget=forms.TimeInput(attrs={"type": "time"}, format=TIME_FORMAT),
        help_text=_("At or before “from”: runs past midnight. 00:00–00:00: the whole day."),
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        values = [cleaned.get(name) for name in ("weekday", "start_time", "end_time")]
        given = [value is not None for value in values]
        if any(given) and not all(given):
            raise ValidationError(_("Fill in the day, from and until, or leave the row empty."))
        return cleaned

    def spec(self) -> RangeSpec | None:
        data = self.cleaned_data
        if data.get("DELETE") or data.get("weekday") is None:
            return None
        return RangeSpec(
            weekday=data["weekday"], start_time=data["start_time"], end_time=data["end_time"]
        )


class BaseRangeFormSet(forms.BaseFormSet):
    def specs(self) -> list[RangeSpec]:
        return [spec for form in self.forms if (spec := form.spec()) is not None]


RangeFormSet = cast(
    "type[BaseRangeFormSet]",
    forms.formset_factory(
        RangeForm,
        formset=BaseRangeFormSet,
        extra=EXTRA_RANGE_ROWS,
        can_delete=True,
        max_num=MAX_RANGES_PER_SCHEDULE,
        validate_max=True,
    ),
)


def range_initial(schedule: Schedule) -> list[dict[str, object]]:
    return [
        {"weekday": item.weekday, "start_time": item.start_time, "end_time": item.end_time}
        for item in schedule.ranges.all()
    ]

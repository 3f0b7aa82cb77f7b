from __future__ import annotations

import zoneinfo
from functools import cache
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from helpdesk.models import Membership, Organization, Team
from helpdesk.selectors.teams import team_member_candidates


@cache
def _zone_names() -> tuple[str, ...]:
    # Every zone the model's validator accepts, so editing a team never loses its zone.
    return tuple(sorted(zoneinfo.available_timezones()))


class TeamForm(forms.Form):
    """The team's own settings; the service validates and saves them."""

    name = forms.CharField(label=_("Name"), max_length=100)
    display_name = forms.CharField(
        label=_("Display name"),
        max_length=100,
        required=False,
        help_text=_("What customers see. Leave empty to use the name."),
    )
    time_zone = forms.ChoiceField(label=_("Time zone"), required=False)
    create_ticket_for_missed_calls = forms.BooleanField(
        label=_("Create a ticket for missed calls"), required=False
    )
    ring_last_advisor = forms.BooleanField(
        label=_("Ring last advisor"),
        required=False,
        help_text=_("Ring the assignee of the caller's open ticket from the last 7 days first."),
    )

    def __init__(self, *args: Any, organization: Organization, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        default = _("The organization's time zone (%(zone)s)") % {"zone": organization.time_zone}
        self.fields["time_zone"].choices = [("", default)] + [  # type: ignore[attr-defined]
            (name, name) for name in _zone_names()
        ]

    @classmethod
    def initial_for(cls, team: Team) -> dict[str, object]:
        return {name: getattr(team, name) for name in cls.base_fields}


class MembershipChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Membership) -> str:  # type: ignore[override]
        if obj.user.name:
            return f"{obj.user.name} <{obj.user.email}>"
        return obj.user.email


class TeamMemberAddForm(forms.Form):
    """Whom to add: only members of the team's organization who are not on the team yet."""

    membership = MembershipChoiceField(
        label=_("Person"), queryset=Membership.objects.none(), empty_label=_("Choose someone")
    )

    def __init__(self, *args: Any, team: Team, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["membership"].queryset = team_member_candidates(team=team)  # type: ignore[attr-defined]

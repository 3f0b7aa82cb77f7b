"""Forms of the manager screens. They collect input (field names are the services' keyword
arguments) and offer only the organization's own teams, groups and accounts; the services in
``tickets.services.manage`` validate and write."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from helpdesk.models import Membership, Organization, Team
from tickets.models import (
    CannedResponse,
    Channel,
    CustomStatus,
    CustomTicketType,
    Inbox,
    InboxGroup,
    IntegrationAccount,
    Status,
    Tag,
)
from tickets.selectors.manage import (
    inbox_group_choices,
    integration_account_choices,
    team_choices,
)
from tickets.services.manage import POSITION_MAX


class ServiceForm(forms.Form):
    """A form that shows a service's ValidationError on the fields it names."""

    def add_service_error(self, error: ValidationError) -> None:
        if not hasattr(error, "error_dict"):
            self.add_error(None, error)
            return
        for key, messages in error.error_dict.items():
            self.add_error(key if key in self.fields else None, messages)

    @classmethod
    def initial_from(cls, obj: object) -> dict[str, object]:
        return {name: getattr(obj, name) for name in cls.base_fields if hasattr(obj, name)}


class TeamChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Team) -> str:  # type: ignore[override]
        return obj.name


class InboxForm(ServiceForm):
    name = forms.CharField(label=_("Name"), max_length=100)
    team = TeamChoiceField(label=_("Team"), queryset=Team.objects.none(), empty_label=None)
    channel = forms.ChoiceField(label=_("Channel"), choices=Channel.choices)
    address = forms.CharField(
        label=_("Address"),
        max_length=254,
        required=False,
        help_text=_(
            "The email address or phone number this inbox receives on. Optional for web "
            "forms, the mobile app, chat and integrations."
        ),
    )
    group = forms.ModelChoiceField(
        label=_("Inbox group"),
        queryset=InboxGroup.objects.none(),
        required=False,
        empty_label=_("No group"),
    )
    integration_account = forms.ModelChoiceField(
        label=_("Integration account"),
        queryset=IntegrationAccount.objects.none(),
        required=False,
        empty_label=_("None"),
    )
    active = forms.BooleanField(
        label=_("Active"),
        required=False,
        initial=True,
        help_text=_(
            "An inactive inbox receives nothing: its form and endpoints answer “not found”."
        ),
    )

    def __init__(self, *args: Any, organization: Organization, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = team_choices(organization=organization)  # type: ignore[attr-defined]
        self.fields["group"].queryset = inbox_group_choices(organization=organization)  # type: ignore[attr-defined]
        self.fields["integration_account"].queryset = integration_account_choices(  # type: ignore[attr-defined]
            organization=organization
        )

    @classmethod
    def for_inbox(cls, inbox: Inbox) -> dict[str, object]:
        return {
            "name": inbox.name,
            "team": inbox.team_id,
            "channel": inbox.channel,
            "address": inbox.address,
            "group": inbox.group_id,
            "integration_account": inbox.integration_account_id,
            "active": inbox.active,
        }


class InboxGroupForm(ServiceForm):
    name = forms.CharField(label=_("Name"), max_length=100)


class TagForm(ServiceForm):
    name = forms.CharField(label=_("Name"), max_length=50)
    color = forms.CharField(
        label=_("Colour"),
        initial="#e8ebf0",
        max_length=7,
        widget=forms.TextInput(attrs={"type": "color"}),
    )

    @classmethod
    def for_tag(cls, tag: Tag) -> dict[str, object]:
        return {"name": tag.name, "color": tag.color}


class CustomStatusForm(ServiceForm):
    name = forms.CharField(label=_("Name"), max_length=50)
    base_status = forms.ChoiceField(
        label=_("Counts as"),
        choices=Status.choices,
        help_text=_(
            "Filters, reports and workflows treat a ticket in this status as having this "
            "base status."
        ),
    )
    position = forms.IntegerField(
        label=_("Position"),
        min_value=0,
        max_value=POSITION_MAX,
        initial=0,
        help_text=_("Statuses are listed from the lowest position."),
    )
    active = forms.BooleanField(
        label=_("Active"),
        required=False,
        initial=True,
        help_text=_("Only active statuses can be chosen on tickets."),
    )

    @classmethod
    def for_status(cls, status: CustomStatus) -> dict[str, object]:
        return {
            "name": status.name,
            "base_status": status.base_status,
            "position": status.position,
            "active": status.active,
        }


class TicketTypeForm(ServiceForm):
    name = forms.CharField(label=_("Name"), max_length=50)
    key = forms.SlugField(
        label=_("Key"),
        max_length=40,
        help_text=_(
            "Letters, digits, hyphens and underscores; what workflows and integrations use. "
            "It cannot be changed later."
        ),
    )
    active = forms.BooleanField(
        label=_("Active"),
        required=False,
        initial=True,
        help_text=_("Only active types can be chosen on tickets."),
    )

    def __init__(self, *args: Any, ticket_type: CustomTicketType | None = None, **kwargs: Any):
        if ticket_type is not None:
            kwargs.setdefault(
                "initial",
                {"name": ticket_type.name, "key": ticket_type.key, "active": ticket_type.active},
            )
        super().__init__(*args, **kwargs)
        if ticket_type is not None:
            self.fields["key"].disabled = True
            self.fields["key"].help_text = _("The key cannot be changed.")


class IntegrationAccountForm(ServiceForm):
    name = forms.CharField(label=_("Name"), max_length=100)
    kind = forms.ChoiceField(label=_("Kind"), choices=IntegrationAccount.Kind.choices)
    provider = forms.CharField(
        label=_("Provider"),
        max_length=50,
        required=False,
        help_text=_("The platform, for example Allegro, Amazon or Shopify."),
    )


class CannedResponseForm(ServiceForm):
    title = forms.CharField(label=_("Title"), max_length=100)
    body = forms.CharField(
        label=_("Text"),
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text=_(
            "These placeholders are filled in when the response is used: {customer_name} "
            "(the customer's name), {agent_name} (the name of the agent who sends it), "
            "{team_name} (the team's name customers see), {ticket_number} (the ticket's number)."
        ),
    )
    team = TeamChoiceField(
        label=_("Who can use it"),
        queryset=Team.objects.none(),
        required=False,
        empty_label=_("Only me"),
        help_text=_("Only you, or every member of a team."),
    )

    def __init__(self, *args: Any, actor: Membership, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if actor.can_manage:
            self.fields["team"].queryset = team_choices(organization=actor.organization_id)  # type: ignore[attr-defined]
        else:
            # Agents keep personal responses only.
            del self.fields["team"]

    @classmethod
    def for_response(cls, response: CannedResponse) -> dict[str, object]:
        return {"title": response.title, "body": response.body, "team": response.team_id}

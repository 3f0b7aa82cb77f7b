from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.forms import SetPasswordForm
from django.utils.translation import gettext_lazy as _

from helpdesk.models import Organization, Role, User


class OrganizationForm(forms.ModelForm):
    class Meta:
        model = Organization
        fields = ["name", "company_name", "time_zone", "default_language", "country"]


class InvitationForm(forms.Form):
    email = forms.EmailField(label=_("Email address"))
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices, initial=Role.AGENT)


class RoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)


class SignupForm(SetPasswordForm):
    """Account creation for an invited person: their name and a password."""

    name = forms.CharField(label=_("Your name"), max_length=200)
    field_order = ["name", "new_password1", "new_password2"]

    def __init__(self, email: str, *args: Any, **kwargs: Any) -> None:
        super().__init__(User(email=email), *args, **kwargs)

"""Customer forms: they collect input; the services validate and write it."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from helpdesk.models import Customer, CustomField, FieldType
from helpdesk.phones import region_calling_code
from helpdesk.services.custom_fields import TEXT_MAX_LENGTH
from helpdesk.services.customers import CUSTOM_FIELD_ERROR_PREFIX

# Email addresses cannot contain spaces, commas or semicolons, so any of them separates two;
# phone numbers may contain spaces, so only line breaks, commas and semicolons separate them.
_EMAIL_SEPARATORS = re.compile(r"[\s,;]+")
_PHONE_SEPARATORS = re.compile(r"[\r\n,;]+")
CUSTOM_FIELD_PREFIX = "cf_"


def custom_form_field(field: CustomField) -> forms.Field:
    """The typed input for one custom field definition; empty is always allowed."""
    common: dict[str, Any] = {"label": field.label, "required": False}
    # Numbers and dates arrive as typed: the service validates them, so that its messages (which
    # quote the input) are the ones people see, whichever way a value comes in.
    match field.field_type:
        case FieldType.NUMBER:
            return forms.CharField(widget=forms.NumberInput(attrs={"step": "any"}), **common)
        case FieldType.DATE:
            return forms.CharField(
                widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
                help_text=_("yyyy-mm-dd"),
                **common,
            )
        case FieldType.CHOICE:
            choices = [("", "—"), *((choice, choice) for choice in field.choices)]
            return forms.ChoiceField(choices=choices, **common)
        case FieldType.BOOLEAN:
            return forms.BooleanField(**common)
    return forms.CharField(max_length=TEXT_MAX_LENGTH, **common)


class CustomerForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200, required=False)
    emails = forms.CharField(
        label=_("Email addresses"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "autocomplete": "off"}),
        help_text=_("One per line."),
    )
    phones = forms.CharField(
        label=_("Phone numbers"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "autocomplete": "off"}),
    )
    language = forms.ChoiceField(label=_("Language"), required=False)
    company = forms.CharField(label=_("Company"), max_length=200, required=False)
    notes = forms.CharField(
        label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 4})
    )

    def __init__(
        self,
        *args: Any,
        custom_fields: Iterable[CustomField],
        country: str,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.custom_field_definitions = list(custom_fields)
        language_field = self.fields["language"]
        assert isinstance(language_field, forms.ChoiceField)
        language_field.choices = [("", "—"), *((c, str(n)) for c, n in settings.LANGUAGES)]
        code = region_calling_code(country)
        if code is not None:
            self.fields["phones"].help_text = _(
                "One per line. Numbers without an international prefix are read as "
                "%(country)s numbers (+%(code)s)."
            ) % {"country": country.upper(), "code": code}
        else:
            self.fields["phones"].help_text = _("One per line, with the international prefix (+…).")
        for definition in self.custom_field_definitions:
            self.fields[CUSTOM_FIELD_PREFIX + definition.key] = custom_form_field(definition)

    @classmethod
    def initial_for(cls, customer: Customer) -> dict[str, object]:
        initial: dict[str, object] = {
            "name": customer.name,
            "emails": "\n".join(row.email for row in customer.emails.all()),
            "phones": "\n".join(row.display for row in customer.phones.all()),
            "language": customer.language,
            "company": customer.company,
            "notes": customer.notes,
        }
        for key, value in (customer.custom_fields or {}).items():
            initial[CUSTOM_FIELD_PREFIX + key] = value
        return initial

    def clean_emails(self) -> list[str]:
        return [item for item in _EMAIL_SEPARATORS.split(self.cleaned_data["emails"]) if item]

    def clean_phones(self) -> list[str]:
        items = _PHONE_SEPARATORS.split(self.cleaned_data["phones"])
        return [item.strip() for item in items if item.strip()]

    def main_field_rows(self) -> list[forms.BoundField]:
        return [self[name] for name in self.fields if not name.startswith(CUSTOM_FIELD_PREFIX)]

    def custom_field_rows(self) -> list[forms.BoundField]:
        return [self[CUSTOM_FIELD_PREFIX + d.key] for d in self.custom_field_definitions]

    def service_kwargs(self) -> dict[str, Any]:
        """The cleaned input as the customer services' keyword arguments."""
        data = self.cleaned_data
        return {
            "name": data["name"],
            "emails": data["emails"],
            "phones": data["phones"],
            "language": data["language"],
            "company": data["company"],
            "notes": data["notes"],
            # Every definition is given, so that a cleared input removes the stored value.
            "custom_fields": {
                d.key: data.get(CUSTOM_FIELD_PREFIX + d.key) for d in self.custom_field_definitions
            },
        }

    def add_service_error(self, error: ValidationError) -> None:
        """Shows a service's ValidationError next to the inputs it is about."""
        if not hasattr(error, "error_dict"):
            self.add_error(None, error)
            return
        for key, messages in error.error_dict.items():
            name = key
            if key.startswith(CUSTOM_FIELD_ERROR_PREFIX):
                name = CUSTOM_FIELD_PREFIX + key.removeprefix(CUSTOM_FIELD_ERROR_PREFIX)
            self.add_error(name if name in self.fields else None, messages)

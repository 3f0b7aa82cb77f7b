"""Custom field definition form: it collects input; the services validate and write it."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from helpdesk.models import CustomField, FieldType
from helpdesk.services.custom_fields import KEY_MAX_LENGTH, LABEL_MAX_LENGTH, POSITION_MAX


class CustomFieldForm(forms.Form):
    label = forms.CharField(label=_("Label"), max_length=LABEL_MAX_LENGTH)
    key = forms.SlugField(
        label=_("Key"),
        max_length=KEY_MAX_LENGTH,
        help_text=_(
            "Letters, digits, hyphens and underscores; used in integrations and placeholders. "
            "It cannot be changed later."
        ),
    )
    field_type = forms.ChoiceField(
        label=_("Type"),
        choices=FieldType.choices,
        help_text=_("It cannot be changed later."),
    )
    choices = forms.CharField(
        label=_("Choices"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("For choice fields only: one choice per line."),
    )
    show_in_chat = forms.BooleanField(
        label=_("Show in the chat panel"),
        required=False,
        help_text=_("Agents see it next to a live chat."),
    )
    position = forms.IntegerField(
        label=_("Position"),
        required=False,
        min_value=0,
        max_value=POSITION_MAX,
        help_text=_("Fields are listed from the lowest position. Leave empty to add it last."),
    )

    def __init__(self, *args: Any, field: CustomField | None = None, **kwargs: Any) -> None:
        if field is not None:
            kwargs.setdefault(
                "initial",
                {
                    "label": field.label,
                    "key": field.key,
                    "field_type": field.field_type,
                    "choices": "\n".join(field.choices),
                    "show_in_chat": field.show_in_chat,
                    "position": field.position,
                },
            )
        super().__init__(*args, **kwargs)
        self.editing = field is not None
        if self.editing:
            self.fields["key"].disabled = True
            self.fields["field_type"].disabled = True
            self.fields["position"].required = True
            self.fields["position"].help_text = _("Fields are listed from the lowest position.")

    def clean_choices(self) -> list[str]:
        lines = self.cleaned_data["choices"].splitlines()
        return [line.strip() for line in lines if line.strip()]

    def add_service_error(self, error: ValidationError) -> None:
        if not hasattr(error, "error_dict"):
            self.add_error(None, error)
            return
        for key, messages in error.error_dict.items():
            self.add_error(key if key in self.fields else None, messages)

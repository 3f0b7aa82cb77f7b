"""The automation settings form. API keys are write-only: never rendered back, and an empty
field keeps the stored key."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from automations.models import AutomationSettings
from automations.services import CAP_MAX


class AutomationSettingsForm(forms.Form):
    translate_url = forms.CharField(
        label=_("Translation service URL"),
        required=False,
        max_length=200,
        widget=forms.URLInput,
        help_text=_("A LibreTranslate-compatible API, e.g. https://translate.example.com"),
    )
    translate_api_key = forms.CharField(
        label=_("Translation API key"),
        required=False,
        max_length=200,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
    )
    clear_translate_api_key = forms.BooleanField(
        label=_("Remove the stored translation API key"), required=False
    )
    ai_enabled = forms.BooleanField(
        label=_("AI messages (experimental)"),
        required=False,
        help_text=_("Lets workflows send replies written by a language model."),
    )
    ai_base_url = forms.CharField(
        label=_("AI endpoint URL"),
        required=False,
        max_length=200,
        widget=forms.URLInput,
        help_text=_("An OpenAI-compatible API, e.g. https://api.openai.com/v1"),
    )
    ai_api_key = forms.CharField(
        label=_("AI API key"),
        required=False,
        max_length=300,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
    )
    clear_ai_api_key = forms.BooleanField(label=_("Remove the stored AI API key"), required=False)
    ai_model = forms.CharField(label=_("AI model"), required=False, max_length=100)
    max_automated_per_ticket_per_hour = forms.IntegerField(
        label=_("Automated messages per ticket per hour, at most"),
        min_value=1,
        max_value=CAP_MAX,
        help_text=_("Stops runaway automation: further automated messages are skipped."),
    )

    def __init__(self, *args: Any, current: AutomationSettings, **kwargs: Any) -> None:
        kwargs.setdefault(
            "initial",
            {
                "translate_url": current.translate_url,
                "ai_enabled": current.ai_enabled,
                "ai_base_url": current.ai_base_url,
                "ai_model": current.ai_model,
                "max_automated_per_ticket_per_hour": current.max_automated_per_ticket_per_hour,
            },
        )
        super().__init__(*args, **kwargs)
        for name, stored in (
            ("translate_api_key", current.translate_api_key),
            ("ai_api_key", current.ai_api_key),
        ):
            self.fields[name].help_text = (
                _("A key is stored. Leave empty to keep it.")
                if stored
                else _("No key is stored. Leave empty if the service needs none.")
            )

    def add_service_error(self, error: ValidationError) -> None:
        if not hasattr(error, "error_dict"):
            self.add_error(None, error)
            return
        for key, messages in error.error_dict.items():
            self.add_error(key if key in self.fields else None, messages)

"""The public web form, and the same fields for the JSON endpoint. The service
(``tickets.services.intake``) validates again and writes; these forms give people field-by-field
messages first, including the phone number and attachment checks."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _

from helpdesk.phones import phone_normalize
from tickets.models import Inbox
from tickets.services.attachments import (
    AttachmentUpload,
    attachment_clean_name,
    attachment_validate,
)
from tickets.services.intake import (
    EMAIL_MAX_LENGTH,
    MESSAGE_MAX_LENGTH,
    NAME_MAX_LENGTH,
    SUBJECT_MAX_LENGTH,
    form_max_attachments,
)

# The honeypot's name: bots fill in fields that look like a website address.
HONEYPOT_FIELD = "website"


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files from one ``<input type=file multiple>``, cleaned to a list."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[UploadedFile]:
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data if item]
        return [single(data, initial)] if data else []


class TicketFieldsForm(forms.Form):
    """What a customer tells us; shared by the HTML form and the JSON endpoint."""

    name = forms.CharField(
        label=_("Your name"),
        max_length=NAME_MAX_LENGTH,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    email = forms.EmailField(
        label=_("Email address"),
        max_length=EMAIL_MAX_LENGTH,
        help_text=_("We reply to this address."),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    phone = forms.CharField(
        label=_("Phone number (optional)"),
        required=False,
        max_length=64,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
    )
    subject = forms.CharField(label=_("Subject"), max_length=SUBJECT_MAX_LENGTH)
    message = forms.CharField(
        label=_("Message"),
        max_length=MESSAGE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 8}),
    )

    def __init__(self, *args: Any, inbox: Inbox, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.inbox = inbox

    def clean_phone(self) -> str:
        phone: str = self.cleaned_data["phone"].strip()
        if phone:
            phone_normalize(phone, region=self.inbox.organization.country)
        return phone

    def add_service_error(self, error: ValidationError) -> None:
        if not hasattr(error, "error_dict"):
            self.add_error(None, error)
            return
        for key, messages in error.error_dict.items():
            self.add_error(key if key in self.fields else None, messages)


class WebTicketForm(TicketFieldsForm):
    """The HTML form: the ticket fields, files, a honeypot and the signed form token."""

    attachments = MultipleFileField(label=_("Attachments (optional)"), required=False)
    # Hidden from people by CSS and from screen readers by aria-hidden; bots fill it in.
    website = forms.CharField(
        label=_("Leave this field empty"),
        required=False,
        widget=forms.TextInput(attrs={"tabindex": "-1", "autocomplete": "off"}),
    )
    token = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, inbox: Inbox, **kwargs: Any) -> None:
        super().__init__(*args, inbox=inbox, **kwargs)
        limit = filesizeformat(settings.ATTACHMENT_MAX_BYTES)
        self.fields["attachments"].help_text = _(
            "Up to %(count)s files of at most %(size)s each."
        ) % {"count": form_max_attachments(), "size": limit}

    def clean_attachments(self) -> list[AttachmentUpload]:
        files: list[UploadedFile] = self.cleaned_data["attachments"]
        if len(files) > form_max_attachments():
            raise ValidationError(
                _("Attach at most %(count)s files."),
                code="too_many",
                params={"count": form_max_attachments()},
            )
        uploads: list[AttachmentUpload] = []
        errors: list[ValidationError] = []
        for file in files:
            name = attachment_clean_name(file.name or "")
            if (file.size or 0) > settings.ATTACHMENT_MAX_BYTES:
                # Refused before reading it into memory.
                errors.append(
                    ValidationError(
                        _("“%(name)s” is %(size)s; attachments can be at most %(limit)s."),
                        code="too_large",
                        params={
                            "name": name,
                            "size": filesizeformat(file.size or 0),
                            "limit": filesizeformat(settings.ATTACHMENT_MAX_BYTES),
                        },
                    )
                )
                continue
            upload = AttachmentUpload(
                filename=name, content=file.read(), content_type=file.content_type or ""
            )
            try:
                attachment_validate(upload)
            except ValidationError as exc:
                errors.append(exc)
                continue
            uploads.append(upload)
        if errors:
            raise ValidationError(errors)
        return uploads

    @property
    def honeypot_filled(self) -> bool:
        return bool((self.data.get(HONEYPOT_FIELD) or "").strip())


class ApiTicketForm(TicketFieldsForm):
    """The JSON endpoint's fields (the view checks that each value is text first)."""

    honeypot = forms.CharField(required=False)

    FIELDS = ("name", "email", "phone", "subject", "message", "honeypot")

"""Forms of the ticket page and of "New ticket". They only parse input; services decide."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from helpdesk.models import Customer, Organization, Team, User
from tickets.models import Channel, CustomStatus, Priority, Status
from tickets.services.attachments import AttachmentUpload, attachment_clean_name
from tickets.services.manual import FirstEntry as FirstMessage

# --- attachments --------------------------------------------------------------------------


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Any number of files (the service enforces the count and the per-file limits)."""

    widget = MultipleFileInput

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[UploadedFile]:
        if not data:
            return []
        items = data if isinstance(data, list | tuple) else [data]
        return [super(MultipleFileField, self).clean(item, initial) for item in items]


def _too_large(upload: UploadedFile) -> ValidationError:
    # The same words as the attachments service; checked here too so that an oversized file
    # is refused from its declared size, before it is read into memory.
    limit = settings.ATTACHMENT_MAX_BYTES
    return ValidationError(
        gettext("“%(name)s” is %(size)s; attachments can be at most %(limit)s.")
        % {
            "name": attachment_clean_name(upload.name or ""),
            "size": filesizeformat(upload.size or 0),
            "limit": filesizeformat(limit),
        },
        code="too_large",
    )


def uploads_from(files: Sequence[UploadedFile]) -> list[AttachmentUpload]:
    return [
        AttachmentUpload(
            filename=upload.name or "",
            content=upload.read(),
            content_type=upload.content_type or "",
        )
        for upload in files
    ]


class ComposeForm(forms.Form):
    """A reply to the customer or an internal note, with attachments."""

    body = forms.CharField(
        label=_("Message"), widget=forms.Textarea(attrs={"rows": 6}), required=False
    )
    attachments = MultipleFileField(label=_("Attachments"))

    def __init__(self, *args: Any, prefix_id: str = "reply", **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", f"{prefix_id}-%s")
        super().__init__(*args, **kwargs)

    def clean_attachments(self) -> list[UploadedFile]:
        files: list[UploadedFile] = self.cleaned_data.get("attachments") or []
        errors = [_too_large(f) for f in files if (f.size or 0) > settings.ATTACHMENT_MAX_BYTES]
        if errors:
            raise ValidationError(errors)
        return files

    def uploads(self) -> list[AttachmentUpload]:
        return uploads_from(self.cleaned_data.get("attachments") or [])


# --- side panel ---------------------------------------------------------------------------


class AssignForm(forms.Form):
    assignee = forms.ChoiceField(label=_("Assignee"), required=False)

    def __init__(
        self,
        *args: Any,
        candidates: Sequence[tuple[User, bool]],
        team: Team | None,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("auto_id", "assign-%s")
        super().__init__(*args, **kwargs)
        self.users = {str(user.pk): user for user, _on_team in candidates}
        on_team = [(str(u.pk), u.display_name) for u, member in candidates if member]
        others = [(str(u.pk), u.display_name) for u, member in candidates if not member]
        choices: list[Any] = [("", gettext("Unassigned"))]
        if team is not None and on_team:
            choices.append((gettext("Team %(team)s") % {"team": team.name}, on_team))
            if others:
                choices.append((gettext("Everyone else"), others))
        else:
            choices.extend(on_team + others)
        self.fields["assignee"].choices = choices  # type: ignore[attr-defined]

    def clean_assignee(self) -> User | None:
        value = self.cleaned_data.get("assignee") or ""
        return self.users.get(value) if value else None


CUSTOM_STATUS_PREFIX = "custom-"


class StatusForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"))

    def __init__(self, *args: Any, custom_statuses: Sequence[CustomStatus], **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "status-%s")
        super().__init__(*args, **kwargs)
        self.custom = {f"{CUSTOM_STATUS_PREFIX}{item.pk}": item for item in custom_statuses}
        choices: list[Any] = list(Status.choices)
        if custom_statuses:
            choices = [
                (gettext("Statuses"), list(Status.choices)),
                (
                    gettext("Our statuses"),
                    [(key, item.name) for key, item in self.custom.items()],
                ),
            ]
        self.fields["status"].choices = choices  # type: ignore[attr-defined]

    @staticmethod
    def value_for(status: str, custom_status_id: int | None) -> str:
        if custom_status_id is not None:
            return f"{CUSTOM_STATUS_PREFIX}{custom_status_id}"
        return status

    def chosen(self) -> tuple[str, CustomStatus | None]:
        value = self.cleaned_data["status"]
        custom = self.custom.get(value)
        if custom is not None:
            return custom.base_status, custom
        return value, None


class TypeForm(forms.Form):
    ticket_type = forms.ChoiceField(label=_("Type"))

    def __init__(self, *args: Any, type_choices: Sequence[tuple[str, str]], **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "type-%s")
        super().__init__(*args, **kwargs)
        self.fields["ticket_type"].choices = list(type_choices)  # type: ignore[attr-defined]


class PriorityForm(forms.Form):
    priority = forms.TypedChoiceField(label=_("Priority"), choices=Priority.choices, coerce=int)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "priority-%s")
        super().__init__(*args, **kwargs)


class TeamChoiceForm(forms.Form):
    team = forms.ModelChoiceField(
        label=_("Team"), queryset=Team.objects.none(), required=False, empty_label=_("No team")
    )

    def __init__(
        self, *args: Any, teams: Sequence[Team], organization: Organization, **kwargs: Any
    ) -> None:
        kwargs.setdefault("auto_id", "team-%s")
        super().__init__(*args, **kwargs)
        field = self.fields["team"]
        field.queryset = Team.objects.for_organization(organization).order_by("name")  # type: ignore[attr-defined]
        # The choices come from the list the page already loaded (no second query to render).
        field.choices = [("", field.empty_label)] + [(t.pk, t.name) for t in teams]  # type: ignore[attr-defined]


class TagAddForm(forms.Form):
    name = forms.CharField(label=_("Add a tag"), max_length=50)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "tag-%s")
        super().__init__(*args, **kwargs)
        self.fields["name"].widget.attrs.update({"list": "tag-suggestions", "autocomplete": "off"})


# --- merge --------------------------------------------------------------------------------


class MergeDirection:
    INTO_OTHER = "into_other"
    INTO_THIS = "into_this"


class MergeForm(forms.Form):
    other = forms.IntegerField(
        label=_("Other ticket's number"),
        min_value=1,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    direction = forms.ChoiceField(
        label=_("Which ticket goes on"),
        widget=forms.RadioSelect,
        required=False,
    )

    def __init__(self, *args: Any, number: int, other: int | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "merge-%s")
        super().__init__(*args, **kwargs)
        other_label = f"#{other}" if other else gettext("the other ticket")
        self.fields["direction"].choices = [  # type: ignore[attr-defined]
            (
                MergeDirection.INTO_OTHER,
                gettext(
                    "Merge this ticket (#%(this)s) into %(other)s: this one is closed and its "
                    "messages move there"
                )
                % {"this": number, "other": other_label},
            ),
            (
                MergeDirection.INTO_THIS,
                gettext(
                    "Merge %(other)s into this ticket (#%(this)s): that one is closed and its "
                    "messages move here"
                )
                % {"this": number, "other": other_label},
            ),
        ]


# --- new ticket ---------------------------------------------------------------------------


def customer_label(customer: Customer) -> str:
    """The name and first address or number of a customer found by the search (prefetched)."""
    contacts = [e.email for e in customer.emails.all()] + [p.display for p in customer.phones.all()]
    name = str(customer)
    return f"{name} ({contacts[0]})" if contacts else name


class TicketCreateForm(forms.Form):
    subject = forms.CharField(label=_("Subject"), max_length=255)
    customer = forms.ModelChoiceField(
        label=_("Customer"),
        queryset=Customer.objects.none(),
        required=False,
        widget=forms.RadioSelect,
    )
    customer_email = forms.EmailField(label=_("Customer's email address"), required=False)
    customer_phone = forms.CharField(
        label=_("Customer's phone number"), max_length=40, required=False
    )
    customer_name = forms.CharField(label=_("Customer's name"), max_length=200, required=False)
    team = forms.ModelChoiceField(
        label=_("Team"), queryset=Team.objects.none(), required=False, empty_label=_("No team")
    )
    channel = forms.ChoiceField(label=_("Channel"), choices=Channel.choices)
    first_kind = forms.ChoiceField(
        label=_("First entry"),
        widget=forms.RadioSelect,
        initial=FirstMessage.CUSTOMER,
        choices=[
            (FirstMessage.CUSTOMER, _("What the customer wrote or said")),
            (FirstMessage.REPLY, _("A message to the customer (sent on the channel)")),
            (FirstMessage.NOTE, _("An internal note")),
        ],
    )
    body = forms.CharField(
        label=_("Text"), widget=forms.Textarea(attrs={"rows": 6}), required=False
    )
    attachments = MultipleFileField(label=_("Attachments"))

    def __init__(
        self,
        *args: Any,
        organization: Organization,
        customers: Sequence[Customer] = (),
        teams: Sequence[Team] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        customer_field = self.fields["customer"]
        customer_field.queryset = Customer.objects.for_organization(organization)  # type: ignore[attr-defined]
        customer_field.choices = [(c.pk, customer_label(c)) for c in customers]  # type: ignore[attr-defined]
        team_field = self.fields["team"]
        team_field.queryset = Team.objects.for_organization(organization).filter(  # type: ignore[attr-defined]
            pk__in=[t.pk for t in teams]
        )
        team_field.choices = [("", team_field.empty_label)] + [(t.pk, t.name) for t in teams]  # type: ignore[attr-defined]

    def clean_attachments(self) -> list[UploadedFile]:
        files: list[UploadedFile] = self.cleaned_data.get("attachments") or []
        errors = [_too_large(f) for f in files if (f.size or 0) > settings.ATTACHMENT_MAX_BYTES]
        if errors:
            raise ValidationError(errors)
        return files

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        has_contact = data.get("customer_email") or (data.get("customer_phone") or "").strip()
        if data.get("customer") is None and not has_contact:
            raise ValidationError(
                _("Choose a customer, or give their email address or phone number."),
                code="no_customer",
            )
        if not (data.get("body") or "").strip() and not data.get("attachments"):
            self.add_error("body", _("Write the first message or note."))
        return data

    def uploads(self) -> list[AttachmentUpload]:
        return uploads_from(self.cleaned_data.get("attachments") or [])

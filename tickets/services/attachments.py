"""Attachments: checked against the size and type limits, stored through Django's storage API
under an unguessable name, and served only to members of the owning organization."""

from __future__ import annotations

import mimetypes
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePath

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

from tickets.models import Attachment, Message


@dataclass(frozen=True)
class AttachmentUpload:
    filename: str
    content: bytes
    content_type: str = ""
    content_id: str = ""


def attachment_clean_name(filename: str) -> str:
    """The last path segment, without control characters; never empty."""
    name = PurePath(filename.replace("\\", "/")).name
    name = "".join(ch for ch in name if ch.isprintable()).strip()
    return name[:255] or _("attachment")


def attachment_validate(upload: AttachmentUpload) -> None:
    limit = settings.ATTACHMENT_MAX_BYTES
    name = attachment_clean_name(upload.filename)
    if len(upload.content) > limit:
        raise ValidationError(
            _("“%(name)s” is %(size)s; attachments can be at most %(limit)s.")
            % {
                "name": name,
                "size": filesizeformat(len(upload.content)),
                "limit": filesizeformat(limit),
            },
            code="too_large",
        )
    extension = PurePath(name).suffix.lower().lstrip(".")
    if extension in settings.ATTACHMENT_BLOCKED_EXTENSIONS:
        raise ValidationError(
            _("“%(name)s” is a .%(extension)s file; such files cannot be attached.")
            % {"name": name, "extension": extension},
            code="blocked_type",
        )


def attachments_store(*, message: Message, uploads: Sequence[AttachmentUpload]) -> list[Attachment]:
    if len(uploads) > settings.ATTACHMENT_MAX_COUNT:
        raise ValidationError(
            _("At most %(count)d attachments per message.")
            % {"count": settings.ATTACHMENT_MAX_COUNT},
            code="too_many",
        )
    for upload in uploads:
        attachment_validate(upload)
    stored = []
    for upload in uploads:
        name = attachment_clean_name(upload.filename)
        content_type = (
            upload.content_type or mimetypes.guess_type(name)[0] or "application/octet-stream"
        )
        attachment = Attachment(
            organization_id=message.organization_id,
            message=message,
            filename=name,
            content_type=content_type[:100],
            size=len(upload.content),
            content_id=upload.content_id[:255],
        )
        attachment.file.save(name, ContentFile(upload.content), save=False)
        attachment.save()
        stored.append(attachment)
    return stored

"""The inbound-mail webhook: a mail provider (or a relay) POSTs one raw RFC 5322 message to
``/hooks/email/<inbox secret>/``."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import DatabaseError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from tickets.email.inbound import email_ingest
from tickets.email.selectors import inbox_for_email_hook

logger = logging.getLogger(__name__)


def _declared_length(request: HttpRequest) -> int | None:
    try:
        return int(request.META.get("CONTENT_LENGTH") or "")
    except ValueError:
        return None


@csrf_exempt
@require_POST
def inbound_email_hook(request: HttpRequest, secret: str) -> HttpResponse:
    """202 with ``{"state", "ticket"}`` once the mail is stored (failed mail too: it is kept
    and reported, sending it again would not help); 503 when it could not even be stored, so
    the sender tries again."""
    inbox = inbox_for_email_hook(secret=secret)
    if inbox is None:
        raise Http404
    limit = settings.INBOUND_EMAIL_MAX_BYTES
    too_large = JsonResponse(
        {"error": _("The mail is larger than %(limit)d bytes.") % {"limit": limit}}, status=413
    )
    declared = _declared_length(request)
    if declared is not None and declared > limit:
        return too_large
    # Read the stream directly: ``request.body`` caps at DATA_UPLOAD_MAX_MEMORY_SIZE, and the
    # mail limit is its own setting.
    raw = request.read(limit + 1)
    if len(raw) > limit:
        return too_large
    if not raw.strip():
        return JsonResponse({"error": _("The request has no mail in its body.")}, status=400)
    try:
        inbound = email_ingest(inbox=inbox, raw=raw)
    except (DatabaseError, OSError):
        logger.exception("inbound mail for inbox %s could not be stored", inbox.pk)
        response = JsonResponse(
            {"error": _("The mail could not be stored; send it again later.")}, status=503
        )
        response["Retry-After"] = "60"
        return response
    ticket = inbound.message.ticket.number if inbound.message is not None else None
    return JsonResponse({"state": inbound.state, "ticket": ticket}, status=202)

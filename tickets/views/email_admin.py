"""Manager screens for the mail an inbox received: the list (failed mail first of all: that is
where problems are reported), the raw download, and processing a failed mail again."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from helpdesk.views.base import TenantRequest, render_page_or_partial, require_manager
from tickets.email.inbound import inbound_email_retry
from tickets.email.selectors import (
    access_inbound_email,
    inbound_email_in_inbox,
    inbound_email_list,
)
from tickets.models import InboundEmail
from tickets.selectors import access_inbox

PAGE_SIZE = 50


@require_manager
@require_GET
def inbox_mail_list(request: TenantRequest, inbox_id: int) -> HttpResponse:
    inbox = access_inbox(actor=request.membership, inbox_id=inbox_id)
    state = request.GET.get("state", "")
    if state not in InboundEmail.State.values:
        state = ""
    before = None
    if request.GET.get("before", "").isdigit():
        before = inbound_email_in_inbox(inbox=inbox, inbound_email_id=int(request.GET["before"]))
    rows = inbound_email_list(inbox=inbox, state=state, before=before, limit=PAGE_SIZE + 1)
    return render_page_or_partial(
        request,
        "tickets/email/inbox_mail.html",
        {
            "inbox": inbox,
            "rows": rows[:PAGE_SIZE],
            "next_before": rows[PAGE_SIZE - 1].pk if len(rows) > PAGE_SIZE else None,
            "state": state,
            "states": InboundEmail.State.choices,
            "paged": before is not None,
        },
        partial="results",
    )


@require_GET
def inbound_email_raw(request: TenantRequest, inbound_email_id: int) -> FileResponse:
    if not request.membership.can_manage:
        raise PermissionDenied
    inbound = access_inbound_email(actor=request.membership, inbound_email_id=inbound_email_id)
    try:
        handle = inbound.raw.open("rb")
    except (FileNotFoundError, ValueError):
        raise Http404 from None
    return FileResponse(
        handle,
        as_attachment=True,
        filename=f"inbound-email-{inbound.pk}.eml",
        content_type="message/rfc822",
    )


@require_manager
@require_POST
def inbound_email_retry_view(request: TenantRequest, inbound_email_id: int) -> HttpResponse:
    inbound = access_inbound_email(actor=request.membership, inbound_email_id=inbound_email_id)
    try:
        inbound = inbound_email_retry(actor=request.membership, inbound_email=inbound)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        if inbound.state == InboundEmail.State.FAILED:
            messages.error(
                request, _("The mail failed again: %(error)s") % {"error": _(inbound.error)}
            )
        else:
            messages.success(request, _("The mail was processed."))
    url = reverse(
        "inbox-mail-list", kwargs={"org": request.organization.slug, "inbox_id": inbound.inbox_id}
    )
    return redirect(f"{url}?state={InboundEmail.State.FAILED}")

"""The public web form (HTML) and the JSON endpoint of an inbox, reached without signing in.

The inbox's secret in the URL is the credential. There is no session and no ambient authority
to protect, and the form is made to be embedded in the business's own site (where a third-party
iframe gets no cookies), so these views are exempt from CSRF and may be framed; the signed form
token takes the CSRF token's place against replayed and scripted submissions.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import translation
from django.utils.translation import get_supported_language_variant, ngettext
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from tickets.forms.intake import ApiTicketForm, WebTicketForm
from tickets.models import Channel, Inbox
from tickets.ratelimit import RateLimitState, client_ip, rate_limit_hit, rate_limit_peek
from tickets.selectors.manage import inbox_by_secret
from tickets.services.intake import (
    TokenState,
    WebSubmission,
    api_max_request_bytes,
    form_max_request_bytes,
    form_token_check,
    form_token_claim,
    form_token_issue,
    form_token_settle,
    rate_limits,
    web_ticket_create,
)

# Spam gets the same answer as a person, so a bot learns nothing from it.
SPAM_REASONS = frozenset({TokenState.TOO_FAST, TokenState.INVALID})


def _activate_language(request: HttpRequest) -> None:
    """``?lang=pl`` picks the form's language; otherwise the browser's (LocaleMiddleware)."""
    wanted = request.GET.get("lang", "").strip().lower().replace("_", "-")
    if not wanted:
        return
    try:
        code = get_supported_language_variant(wanted)
    except LookupError:
        return
    translation.activate(code)
    request.LANGUAGE_CODE = code


def _content_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


def _rate_limited(inbox: Inbox, request: HttpRequest, *, count: bool) -> RateLimitState | None:
    """The limit the client is over (None when it is not). ``count`` records this request."""
    per_client, per_inbox = rate_limits()
    check = rate_limit_hit if count else rate_limit_peek
    over: RateLimitState | None = None
    for rule, key in ((per_client, f"{inbox.pk}:{client_ip(request)}"), (per_inbox, str(inbox.pk))):
        state = check(rule, key)
        if not state.allowed and (over is None or state.retry_after > over.retry_after):
            over = state
    return over


def _retry_message(state: RateLimitState) -> str:
    minutes = max(1, (state.retry_after + 59) // 60)
    return ngettext(
        "Too many messages were sent from here in a short time. Please try again in "
        "%(minutes)s minute.",
        "Too many messages were sent from here in a short time. Please try again in "
        "%(minutes)s minutes.",
        minutes,
    ) % {"minutes": minutes}


def _metadata(request: HttpRequest) -> dict[str, object]:
    return {
        "ip": client_ip(request),
        "user_agent": request.META.get("HTTP_USER_AGENT", "")[:300],
        "page": request.META.get("HTTP_REFERER", "")[:500],
    }


def _submission(request: HttpRequest, data: dict[str, Any]) -> WebSubmission:
    return WebSubmission(
        name=data["name"],
        email=data["email"],
        phone=data.get("phone") or "",
        subject=data["subject"],
        message=data["message"],
        attachments=data.get("attachments") or (),
        language=translation.get_language() or "",
        metadata=_metadata(request),
    )


# --- the HTML form ------------------------------------------------------------------------


def _context(inbox: Inbox, **extra: Any) -> dict[str, Any]:
    return {
        "inbox": inbox,
        "company": inbox.organization.public_name,
        "team_name": inbox.team.public_name,
        **extra,
    }


def _form_page(
    request: HttpRequest, inbox: Inbox, form: WebTicketForm, status: int = 200
) -> HttpResponse:
    return render(request, "tickets/forms/form.html", _context(inbox, form=form), status=status)


def _thanks(request: HttpRequest, inbox: Inbox, number: int | None) -> HttpResponse:
    context = _context(
        inbox,
        number=number,
        name=request.POST.get("name", "")[:200],
        subject=request.POST.get("subject", "")[:255],
    )
    return render(request, "tickets/forms/thanks.html", context)


def _notice(
    request: HttpRequest, inbox: Inbox, *, title: str, text: str, status: int
) -> HttpResponse:
    context = _context(inbox, title=title, text=text, back_url=request.get_full_path())
    return render(request, "tickets/forms/notice.html", context, status=status)


def _too_many(request: HttpRequest, inbox: Inbox, over: RateLimitState) -> HttpResponse:
    response = _notice(
        request, inbox, title=_("Please wait a moment"), text=_retry_message(over), status=429
    )
    response["Retry-After"] = str(over.retry_after)
    return response


@csrf_exempt
@xframe_options_exempt
@never_cache  # each showing carries its own form token; a shared cached copy would clash
@require_http_methods(["GET", "POST"])
def web_form(request: HttpRequest, secret: str) -> HttpResponse:
    inbox = inbox_by_secret(secret=secret, channels=(Channel.WEB_FORM,))
    if inbox is None:
        raise Http404
    _activate_language(request)
    if request.method == "GET":
        form = WebTicketForm(inbox=inbox, initial={"token": form_token_issue(inbox=inbox)})
        return _form_page(request, inbox, form)

    if _content_length(request) > form_max_request_bytes():
        return _notice(
            request,
            inbox,
            title=_("Your message is too large"),
            text=_(
                "The attached files are too large together. Please send fewer or smaller files."
            ),
            status=413,
        )
    over = _rate_limited(inbox, request, count=False)
    if over is not None:
        return _too_many(request, inbox, over)

    form = WebTicketForm(request.POST, request.FILES, inbox=inbox)
    token = form_token_check(inbox=inbox, token=request.POST.get("token", ""))
    if form.honeypot_filled or token.state in SPAM_REASONS:
        _rate_limited(inbox, request, count=True)
        return _thanks(request, inbox, None)
    if token.state == TokenState.EXPIRED:
        data = request.POST.copy()
        data["token"] = form_token_issue(inbox=inbox)
        form = WebTicketForm(data, inbox=inbox)
        form.is_valid()
        form.add_error(
            None,
            _("This form was open for a long time. Please check your message and send it again."),
        )
        return _form_page(request, inbox, form, status=400)
    if not form.is_valid():
        return _form_page(request, inbox, form, status=400)

    claimed, number = form_token_claim(nonce=token.nonce)
    if not claimed:  # sent before: a reload or a double click
        return _thanks(request, inbox, number)
    over = _rate_limited(inbox, request, count=True)
    if over is not None:
        form_token_settle(nonce=token.nonce, number=None)
        return _too_many(request, inbox, over)
    try:
        created = web_ticket_create(inbox=inbox, submission=_submission(request, form.cleaned_data))
    except ValidationError as error:
        form_token_settle(nonce=token.nonce, number=None)
        form.add_service_error(error)
        return _form_page(request, inbox, form, status=400)
    except BaseException:
        form_token_settle(nonce=token.nonce, number=None)
        raise
    form_token_settle(nonce=token.nonce, number=created.ticket.number)
    return _thanks(request, inbox, created.ticket.number)


# --- the JSON endpoint --------------------------------------------------------------------


def _json_error(message: str, status: int, **headers: str) -> JsonResponse:
    response = JsonResponse({"error": message}, status=status)
    for name, value in headers.items():
        response[name] = value
    return response


def _json_errors(errors: dict[str, list[str]]) -> JsonResponse:
    return JsonResponse({"errors": errors}, status=400)


@csrf_exempt
def web_form_api(request: HttpRequest, secret: str) -> HttpResponse:
    """``POST`` a JSON object ``{"name", "email", "phone"?, "subject", "message"}``; answers
    201 ``{"ticket": number, "customer": id}``."""
    inbox = inbox_by_secret(secret=secret)
    if inbox is None:
        return _json_error(_("There is no such form."), 404)
    if request.method != "POST":
        return _json_error(_("Use POST."), 405, Allow="POST")
    if request.content_type != "application/json":
        return _json_error(_("Send the ticket as JSON (Content-Type: application/json)."), 415)
    limit = api_max_request_bytes()
    too_large = _("The request is larger than %(size)s bytes.") % {"size": limit}
    if _content_length(request) > limit:
        return _json_error(too_large, 413)
    body = request.read(limit + 1)
    if len(body) > limit:
        return _json_error(too_large, 413)
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):
        return _json_error(_("The body is not valid JSON."), 400)
    if not isinstance(payload, dict):
        return _json_error(_("The body must be a JSON object."), 400)

    over = _rate_limited(inbox, request, count=False)
    if over is not None:
        return _json_error(_retry_message(over), 429, **{"Retry-After": str(over.retry_after)})

    not_text = {
        name: [_("Send this as text.")]
        for name in ApiTicketForm.FIELDS
        if payload.get(name) is not None and not isinstance(payload[name], str)
    }
    if not_text:
        return _json_errors(not_text)
    if (payload.get("honeypot") or "").strip():
        _rate_limited(inbox, request, count=True)
        return JsonResponse({"ticket": None, "customer": None}, status=201)
    data = {name: payload[name] for name in ApiTicketForm.FIELDS if payload.get(name) is not None}
    form = ApiTicketForm(data, inbox=inbox)
    if not form.is_valid():
        return _json_errors(
            {key: [str(m) for m in messages] for key, messages in form.errors.items()}
        )
    over = _rate_limited(inbox, request, count=True)
    if over is not None:
        return _json_error(_retry_message(over), 429, **{"Retry-After": str(over.retry_after)})
    try:
        created = web_ticket_create(inbox=inbox, submission=_submission(request, form.cleaned_data))
    except ValidationError as error:
        if hasattr(error, "error_dict"):
            return _json_errors(dict(error.message_dict))
        return _json_errors({"__all__": error.messages})
    return JsonResponse(
        {"ticket": created.ticket.number, "customer": created.customer.pk}, status=201
    )

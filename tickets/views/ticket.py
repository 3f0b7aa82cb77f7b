"""The ticket page and its actions, "New ticket", and attachment downloads.

Every action is a plain POST that redirects back to the page (or answers 400 with the page and
the form's errors), and with htmx answers the panels it changed as out-of-band swaps: ``head``
(subject, status, badges), ``timeline``, ``side`` (properties, tags, customer card), ``reply``
and ``note`` (the two composers, only re-rendered by their own actions so a draft survives
the others). Viewers see the page without forms; every POST needs an agent (403 otherwise).
"""

from __future__ import annotations

import mimetypes
from collections.abc import Callable, Iterable
from typing import Any

from django.contrib import messages
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.forms import Form
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from helpdesk.models import Membership, Role, Team, TeamMember
from helpdesk.selectors.customers import customer_list
from helpdesk.views.base import TenantRequest, require_agent
from tickets.forms.ticket import (
    AssignForm,
    ComposeForm,
    MergeDirection,
    MergeForm,
    PriorityForm,
    StatusForm,
    TagAddForm,
    TeamChoiceForm,
    TicketCreateForm,
    TypeForm,
)
from tickets.models import Ticket
from tickets.selectors import (
    access_attachment,
    access_canned_response,
    access_message,
    access_tag,
    access_ticket_by_number,
    canned_response_visible,
)
from tickets.selectors.timeline import (
    assignee_candidates,
    customer_card,
    status_choices,
    status_label,
    tag_names,
    team_choices,
    ticket_tag_links,
    ticket_timeline,
    type_choices,
    type_label,
)
from tickets.services.canned import canned_response_render
from tickets.services.manual import ticket_open_by_agent
from tickets.services.messages import message_send, note_add
from tickets.services.resend import message_resend
from tickets.services.tickets import (
    tag_get_or_create,
    ticket_add_tag,
    ticket_assign,
    ticket_merge,
    ticket_remove_tag,
    ticket_set_priority,
    ticket_set_status,
    ticket_set_team,
    ticket_set_type,
)

DETAIL = "tickets/ticket/detail.html"
PANELS = "tickets/ticket/panels.html"
ALL_PANELS = frozenset({"head", "timeline", "side", "reply", "note"})
PROPERTY_PANELS = frozenset({"head", "timeline", "side"})

# Content types a browser may be told a download is; anything else (HTML, SVG, XML, scripts)
# goes out as application/octet-stream. Downloads are always attachments, never inline.
SAFE_CONTENT_TYPE_PREFIXES = ("image/", "audio/", "video/")
SAFE_CONTENT_TYPES = frozenset(
    {
        "application/pdf",
        "application/zip",
        "application/msword",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.ms-excel",
        "text/plain",
        "text/csv",
        "message/rfc822",
    }
)
UNSAFE_CONTENT_TYPES = frozenset({"image/svg+xml"})


def apply_errors(form: Form, error: ValidationError) -> None:
    """Shows a service's ValidationError on the form's fields (or above the form)."""
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else NON_FIELD_ERRORS, errors)
    else:
        form.add_error(None, error)


ATTACHMENT_ERROR_CODES = frozenset({"too_large", "blocked_type", "too_many"})


def apply_compose_errors(form: ComposeForm | TicketCreateForm, error: ValidationError) -> None:
    """Like ``apply_errors``, with the attachment limits' errors shown on the file field."""
    if not hasattr(error, "error_dict") and all(
        e.code in ATTACHMENT_ERROR_CODES for e in error.error_list
    ):
        form.add_error("attachments", error)
    else:
        apply_errors(form, error)


def _ticket(request: TenantRequest, number: int) -> Ticket:
    return access_ticket_by_number(actor=request.membership, number=number)


def _detail_url(request: TenantRequest, ticket: Ticket) -> str:
    return reverse(
        "ticket-detail", kwargs={"org": request.organization.slug, "number": ticket.number}
    )


# --- page context -------------------------------------------------------------------------


def _side_forms(
    request: TenantRequest,
    ticket: Ticket,
    types: list[tuple[str, str]],
    bound: dict[str, Any],
) -> dict[str, Any]:
    """The property forms with the ticket's current values; a form in ``bound`` (the one of
    a failed action, with its errors) takes the place of its fresh one."""
    organization_id = ticket.organization_id
    custom_statuses = status_choices(organization_id=organization_id)
    teams = team_choices(organization_id=organization_id)
    forms: dict[str, Any] = {
        "assign_form": AssignForm(
            initial={"assignee": str(ticket.assignee_id or "")},
            candidates=assignee_candidates(ticket=ticket),
            team=ticket.team,
        ),
        "status_form": StatusForm(
            initial={"status": StatusForm.value_for(ticket.status, ticket.custom_status_id)},
            custom_statuses=custom_statuses,
        ),
        "type_form": TypeForm(initial={"ticket_type": ticket.ticket_type}, type_choices=types),
        "priority_form": PriorityForm(initial={"priority": ticket.priority}),
        "team_form": TeamChoiceForm(
            initial={"team": ticket.team_id},
            teams=teams,
            organization=request.organization,
        ),
        "tag_form": TagAddForm(),
        "tag_names": tag_names(organization_id=organization_id),
    }
    return {**forms, **{k: v for k, v in bound.items() if k in forms}}


def _context(
    request: TenantRequest,
    ticket: Ticket,
    *,
    panels: Iterable[str] = ALL_PANELS,
    **data: Any,
) -> dict[str, Any]:
    panels = frozenset(panels)
    membership = request.membership
    can_write = membership.can_write
    context: dict[str, Any] = {"ticket": ticket, "panels": panels, "can_write": can_write}
    context.update({k: v for k, v in data.items() if k in ("notice", "error")})
    types: list[tuple[str, str]] = []
    if panels & {"head", "side"}:
        types = type_choices(organization_id=ticket.organization_id)
        context["status_label"] = status_label(ticket)
        context["type_label"] = type_label(ticket=ticket, choices=types)
    if "head" in panels:
        context["merged_tickets"] = list(
            ticket.merged_tickets.order_by("number").only("pk", "number", "organization_id")
        )
    if "timeline" in panels:
        context["entries"] = ticket_timeline(ticket=ticket)
    if "side" in panels:
        context["tag_links"] = ticket_tag_links(ticket=ticket)
        context["card"] = customer_card(actor=membership, ticket=ticket)
        if can_write:
            context.update(_side_forms(request, ticket, types, data))
    if can_write and "reply" in panels:
        context["reply_form"] = data.get("reply_form") or ComposeForm(prefix_id="reply")
        context["canned_responses"] = list(canned_response_visible(actor=membership))
    if can_write and "note" in panels:
        context["note_form"] = data.get("note_form") or ComposeForm(prefix_id="note")
    return context


def _answer(
    request: TenantRequest,
    ticket: Ticket,
    *,
    panels: Iterable[str] = PROPERTY_PANELS,
    status: int = 200,
    notice: str = "",
    error: str = "",
    **data: Any,
) -> HttpResponse:
    """The panels an action changed (htmx), the page with the errors (400), or a redirect."""
    ticket.refresh_from_db()
    if request.htmx:
        context = _context(request, ticket, panels=panels, notice=notice, error=error, **data)
        context["oob"] = True
        return render(request, PANELS, context, status=status)
    if status >= 400:
        context = _context(request, ticket, notice=notice, error=error, **data)
        return render(request, DETAIL, context, status=status)
    if notice:
        messages.success(request, notice)
    return redirect(_detail_url(request, ticket))


# --- the page -----------------------------------------------------------------------------


@require_GET
def ticket_detail(request: TenantRequest, number: int) -> HttpResponse:
    ticket = _ticket(request, number)
    return render(request, DETAIL, _context(request, ticket))


# --- composing ----------------------------------------------------------------------------


@require_agent
@require_POST
def ticket_reply(request: TenantRequest, number: int) -> HttpResponse:
    ticket = _ticket(request, number)
    form = ComposeForm(request.POST, request.FILES, prefix_id="reply")
    if form.is_valid():
        try:
            message_send(
                ticket=ticket,
                body_text=form.cleaned_data["body"],
                actor=request.membership,
                attachments=form.uploads(),
            )
        except ValidationError as error:
            apply_compose_errors(form, error)
        else:
            return _answer(
                request,
                ticket,
                panels=PROPERTY_PANELS | {"reply"},
                notice=_("Reply queued for sending."),
            )
    return _answer(request, ticket, panels={"reply"}, status=400, reply_form=form)


@require_agent
@require_POST
def ticket_note(request: TenantRequest, number: int) -> HttpResponse:
    ticket = _ticket(request, number)
    form = ComposeForm(request.POST, request.FILES, prefix_id="note")
    if form.is_valid():
        try:
            note_add(
                actor=request.membership,
                ticket=ticket,
                body_text=form.cleaned_data["body"],
                attachments=form.uploads(),
            )
        except ValidationError as error:
            apply_compose_errors(form, error)
        else:
            return _answer(
                request, ticket, panels={"timeline", "note"}, notice=_("Internal note added.")
            )
    return _answer(request, ticket, panels={"note"}, status=400, note_form=form)


@require_agent
@require_GET
def ticket_canned(request: TenantRequest, number: int, canned_response_id: int) -> HttpResponse:
    """A canned response filled in for this ticket: the reply box with it added after what
    was typed (htmx sends the draft along), or the page with the reply box prefilled."""
    ticket = _ticket(request, number)
    response = access_canned_response(
        actor=request.membership, canned_response_id=canned_response_id
    )
    text = canned_response_render(response=response, ticket=ticket, agent=request.membership)
    draft = request.GET.get("body", "").rstrip()
    body = f"{draft}\n\n{text}" if draft else text
    form = ComposeForm(initial={"body": body}, prefix_id="reply")
    if request.htmx:
        return render(request, "tickets/ticket/reply_body.html", {"reply_form": form})
    return render(request, DETAIL, _context(request, ticket, reply_form=form))


@require_agent
@require_POST
def ticket_message_resend(request: TenantRequest, number: int, message_id: int) -> HttpResponse:
    ticket = _ticket(request, number)
    message = access_message(actor=request.membership, message_id=message_id)
    if message.ticket_id != ticket.pk:
        raise Http404
    try:
        message_resend(actor=request.membership, message=message)
    except ValidationError as exc:
        return _answer(request, ticket, status=400, error=" ".join(exc.messages))
    return _answer(request, ticket, notice=_("The message was queued to be sent again."))


# --- properties ---------------------------------------------------------------------------


def _property_save(
    request: TenantRequest,
    ticket: Ticket,
    form: Form,
    *,
    form_name: str,
    save: Callable[[], object],
    notice: str,
) -> HttpResponse:
    """A property form of the ticket page: saved through ``save`` (a service) when valid, then
    the page with ``notice``; otherwise the form again with its errors (HTTP 400)."""
    if form.is_valid():
        try:
            save()
        except ValidationError as error:
            apply_errors(form, error)
        else:
            return _answer(request, ticket, notice=notice)
    forms: dict[str, Any] = {form_name: form}
    return _answer(request, ticket, status=400, **forms)


@require_agent
@require_POST
def ticket_assign_view(request: TenantRequest, number: int) -> HttpResponse:
    ticket = _ticket(request, number)
    form = AssignForm(request.POST, candidates=assignee_candidates(ticket=ticket), team=ticket.team)
    return _property_save(
        request,
        ticket,
        form,
        form_name="assign_form",
        save=lambda: ticket_assign(
            actor=request.membership, ticket=ticket, assignee=form.cleaned_data["assignee"]
        ),
        notice=_("Assignee saved."),
    )


@require_agent
@require_POST
def ticket_status_view(request: TenantRequest, number: int) -> HttpResponse:
    ticket = _ticket(request, number)
    form = StatusForm(
        request.POST, custom_statuses=status_choices(organization_id=ticket.organization_id)
    )

    def save() -> None:
        status, custom = form.chosen()
        ticket_set_status(
            actor=request.membership, ticket=ticket, status=status, custom_status=custom
        )

    return _property_save(
        request, ticket, form, form_name="status_form", save=save, notice=_("Status saved.")
    )


@require_agent
@require_POST
def ticket_type_view(request: TenantRequest, number: int) -> HttpResponse:
    ticket = _ticket(request, number)
    form = TypeForm(request.POST, type_choices=type_choices(organization_id=ticket.organization_id))
    return _property_save(
        request,
        ticket,
        form,
        form_name="type_form",
        save=lambda: ticket_set_type(
            actor=request.membership, ticket=ticket, ticket_type=form.cleaned_data["ticket_type"]
        ),
        notice=_("Type saved."),
    )


@require_agent
@require_POST
def ticket_priority_view(request: TenantRequest, number: int) -> HttpResponse:
    ticket = _ticket(request, number)
    form = PriorityForm(request.POST)
    return _property_save(
        request,
        ticket,
        form,
        form_name="priority_form",
        save=lambda: ticket_set_priority(
            actor=request.membership, ticket=ticket, priority=form.cleaned_data["priority"]
        ),
        notice=_("Priority saved."),
    )


@require_agent
@require_POST
def ticket_team_view(request: TenantRequest, number: int) -> HttpResponse:
    ticket = _ticket(request, number)
    form = TeamChoiceForm(
        request.POST,
        teams=team_choices(organization_id=ticket.organization_id),
        organization=request.organization,
    )
    if form.is_valid():
        try:
            ticket_set_team(actor=request.membership, ticket=ticket, team=form.cleaned_data["team"])
        except ValidationError as error:
            apply_errors(form, error)
        else:
            if not _still_visible(request.membership, ticket):
                # An agent who moved the ticket to a team they are not on can no longer see it.
                messages.success(request, _("Ticket #%(number)s moved.") % {"number": number})
                return _leave(request)
            return _answer(request, ticket, notice=_("Team saved."))
    return _answer(request, ticket, status=400, team_form=form)


def _still_visible(actor: Membership, ticket: Ticket) -> bool:
    if actor.role != Role.AGENT or ticket.team_id is None or ticket.assignee_id == actor.user_id:
        return True
    return (
        TeamMember.objects.for_organization(actor.organization_id)
        .filter(team_id=ticket.team_id, user_id=actor.user_id)
        .exists()
    )


def _leave(request: TenantRequest) -> HttpResponse:
    url = reverse("ticket-list", kwargs={"org": request.organization.slug})
    if request.htmx:
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return redirect(url)


@require_agent
@require_POST
def ticket_tag_add(request: TenantRequest, number: int) -> HttpResponse:
    ticket = _ticket(request, number)
    form = TagAddForm(request.POST)
    if form.is_valid():
        try:
            tag = tag_get_or_create(
                organization=request.organization, name=form.cleaned_data["name"]
            )
            added = ticket_add_tag(actor=request.membership, ticket=ticket, tag=tag)
        except ValidationError as error:
            form.add_error("name", error.messages)
        else:
            notice = (
                _("Tag “%(tag)s” added.") if added else _("The ticket already has “%(tag)s”.")
            ) % {"tag": tag.name}
            return _answer(request, ticket, notice=notice)
    return _answer(request, ticket, status=400, tag_form=form)


@require_agent
@require_POST
def ticket_tag_remove(request: TenantRequest, number: int, tag_id: int) -> HttpResponse:
    ticket = _ticket(request, number)
    tag = access_tag(actor=request.membership, tag_id=tag_id)
    removed = ticket_remove_tag(actor=request.membership, ticket=ticket, tag=tag)
    notice = (
        _("Tag “%(tag)s” removed.") if removed else _("The ticket does not have “%(tag)s”.")
    ) % {"tag": tag.name}
    return _answer(request, ticket, notice=notice)


# --- merge --------------------------------------------------------------------------------


@require_agent
@require_http_methods(["GET", "POST"])
def ticket_merge_view(request: TenantRequest, number: int) -> HttpResponse:
    """Step 1 asks for the other ticket's number; step 2 shows both tickets and asks which one
    goes on; the POST merges in the chosen direction."""
    ticket = _ticket(request, number)
    data: Any = None
    if request.method == "POST":
        data = request.POST
    elif "other" in request.GET:
        data = request.GET
    other_number = _int_or_none(data.get("other")) if data is not None else None
    form = MergeForm(data, number=ticket.number, other=other_number)
    other: Ticket | None = None
    if data is not None and form.is_valid():
        other = _merge_partner(request, ticket, form)
    if request.method == "POST" and other is not None:
        direction = form.cleaned_data.get("direction")
        if not direction:
            form.add_error("direction", _("Choose which ticket goes on."))
        else:
            source, target = (
                (ticket, other) if direction == MergeDirection.INTO_OTHER else (other, ticket)
            )
            try:
                ticket_merge(actor=request.membership, source=source, target=target)
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(
                    request,
                    _("Ticket #%(source)s was merged into ticket #%(target)s.")
                    % {"source": source.number, "target": target.number},
                )
                return redirect(_detail_url(request, target))
    return render(
        request,
        "tickets/ticket/merge.html",
        {"ticket": ticket, "form": form, "other": other},
        status=400 if form.errors else 200,
    )


def _int_or_none(value: object) -> int | None:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return None


def _merge_partner(request: TenantRequest, ticket: Ticket, form: MergeForm) -> Ticket | None:
    number = form.cleaned_data["other"]
    if number == ticket.number:
        form.add_error("other", _("A ticket cannot be merged into itself."))
        return None
    if ticket.merged_into_id is not None:
        form.add_error(None, _("This ticket was already merged into another one."))
        return None
    try:
        other = access_ticket_by_number(actor=request.membership, number=number)
    except Http404:
        form.add_error("other", _("There is no ticket #%(number)s.") % {"number": number})
        return None
    if other.merged_into_id is not None:
        form.add_error("other", _("That ticket was itself merged into another one."))
        return None
    return other


# --- new ticket ---------------------------------------------------------------------------

CUSTOMER_SEARCH_LIMIT = 10


def _creatable_teams(actor: Membership) -> list[Team]:
    teams = Team.objects.for_organization(actor.organization_id).order_by("name")
    if actor.role == Role.AGENT:
        mine = TeamMember.objects.for_organization(actor.organization_id).filter(
            user_id=actor.user_id
        )
        teams = teams.filter(pk__in=mine.values("team_id"))
    return list(teams)


@require_agent
@require_http_methods(["GET", "POST"])
def ticket_create_view(request: TenantRequest) -> HttpResponse:
    """An agent opens a ticket by hand. The customer is picked from a search (``q``), given by
    id (``customer``, e.g. from the customer's card), or found or created by email/phone."""
    actor = request.membership
    query = request.GET.get("q", "").strip()
    found = list(customer_list(actor=actor, query=query)[:CUSTOMER_SEARCH_LIMIT]) if query else []
    chosen = _int_or_none(request.POST.get("customer") or request.GET.get("customer"))
    if chosen is not None and chosen not in {c.pk for c in found}:
        found += list(customer_list(actor=actor).filter(pk=chosen))
    data = request.POST if request.method == "POST" else None
    initial_customer = chosen if chosen is not None else (found[0].pk if len(found) == 1 else None)
    form = _create_form(request, found, data, initial_customer)
    if request.htmx and request.method == "GET" and "q" in request.GET:
        context = {"form": form, "found": found, "query": query}
        return render(request, "tickets/ticket/create.html#customer-results", context)
    if request.method == "POST" and form.is_valid():
        try:
            ticket = _create(request, form)
        except ValidationError as error:
            apply_compose_errors(form, error)
        else:
            messages.success(request, _("Ticket #%(number)s created.") % {"number": ticket.number})
            return redirect(_detail_url(request, ticket))
    return render(
        request,
        "tickets/ticket/create.html",
        {"form": form, "found": found, "query": query},
        status=400 if form.is_bound else 200,
    )


def _create_form(
    request: TenantRequest, found: list[Any], data: Any, customer_id: int | None
) -> TicketCreateForm:
    teams = _creatable_teams(request.membership)
    initial: dict[str, Any] = {"channel": "email", "customer": customer_id}
    if request.membership.default_team_id in {t.pk for t in teams}:
        initial["team"] = request.membership.default_team_id
    return TicketCreateForm(
        data,
        request.FILES if data is not None else None,
        initial=initial,
        organization=request.organization,
        customers=found,
        teams=teams,
    )


def _create(request: TenantRequest, form: TicketCreateForm) -> Ticket:
    data = form.cleaned_data
    return ticket_open_by_agent(
        actor=request.membership,
        subject=data["subject"],
        channel=data["channel"],
        team=data["team"],
        body=data["body"],
        first_entry=data["first_kind"],
        customer=data["customer"],
        customer_email=data["customer_email"],
        customer_phone=data["customer_phone"],
        customer_name=data["customer_name"],
        attachments=form.uploads(),
    )


# --- attachments --------------------------------------------------------------------------


def safe_content_type(content_type: str, filename: str) -> str:
    """What the download says it is: a harmless type as stored, else octet-stream."""
    value = (content_type or "").split(";")[0].strip().lower()
    if not value:
        value = (mimetypes.guess_type(filename)[0] or "").lower()
    if value in UNSAFE_CONTENT_TYPES:
        return "application/octet-stream"
    if value in SAFE_CONTENT_TYPES or value.startswith(SAFE_CONTENT_TYPE_PREFIXES):
        return value
    return "application/octet-stream"


@require_GET
def attachment_download(request: TenantRequest, attachment_id: int) -> FileResponse:
    attachment = access_attachment(actor=request.membership, attachment_id=attachment_id)
    try:
        handle = attachment.file.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=attachment.filename,
        content_type=safe_content_type(attachment.content_type, attachment.filename),
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cross-Origin-Resource-Policy"] = "same-origin"
    patch_cache_control(response, private=True, max_age=3600)
    return response

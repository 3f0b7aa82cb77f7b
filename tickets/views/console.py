"""The agent console's ticket list: filters, search, "Load more", bulk actions.

One view renders the whole page, the results (``#ticket-results``, for the htmx filter bar)
or one more page of rows (``#ticket-table``, for "Load more"); everything also works as plain
GET links and a POST form without JavaScript.
"""

from __future__ import annotations

from collections.abc import Iterable
from html import escape
from typing import Any
from urllib.parse import parse_qsl, urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import dateformat
from django.utils.cache import patch_vary_headers
from django.utils.formats import get_format
from django.utils.safestring import SafeString, mark_safe
from django.utils.timezone import localtime
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from helpdesk.models import Membership, Organization, Role, User
from helpdesk.views.base import TenantRequest, require_agent
from tickets.models import Channel, Priority, ReplyStatus, Status, Ticket
from tickets.selectors import ticket_visible
from tickets.selectors.list import (
    ASSIGNEE_MINE,
    ASSIGNEE_UNASSIGNED,
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    STATUS_ACTIVE,
    STATUS_ALL,
    TicketFilters,
    ticket_filter_options,
    ticket_list_page,
)
from tickets.services.tickets import tag_get_or_create, tickets_bulk_update

TEMPLATE = "tickets/console/list.html"
BULK_ACTIONS = ("assign", "unassign", "status", "tag")
# At most this many tickets in one bulk action (a page of the list at its largest).
BULK_MAX = MAX_PAGE_SIZE


class RowRenderer:
    """Renders rows of the list (for the page, "Load more" and live updates).

    In Python rather than a template partial: a row repeats a dozen labels and a few lookups
    for each of up to 200 tickets, and Django's template engine spent several times as long
    on that (see docs/benchmarks.md). Every value shown is escaped here, with ``html.escape``
    (which also escapes quotes: safe inside attributes).
    """

    def __init__(self, *, organization: Organization, can_bulk: bool, live: bool = False) -> None:
        self.can_bulk = can_bulk
        self.not_answered = f' <span class="tag bad">{escape(_("Not answered"))}</span>'
        self.unassigned = f'<span class="muted">{escape(_("Unassigned"))}</span>'
        self.select = _("Select ticket #%(number)s")
        self.select_html = (
            '<td class="ticket-select"><input type="checkbox" name="ticket" value="{pk}" '
            'form="ticket-bulk" id="ticket-select-{pk}" aria-label="{label}"></td>'
        )
        self.statuses = {value: str(label) for value, label in Status.choices}
        self.priorities = {value: str(label) for value, label in Priority.choices}
        self.channels = {value: str(label) for value, label in Channel.choices}
        self.datetime_format = get_format("SHORT_DATETIME_FORMAT")
        # "/app/<org>/tickets/<number>/", reversed once instead of once per row.
        probe = reverse("ticket-detail", kwargs={"org": organization.slug, "number": 0})
        self.detail_prefix = probe[: -len("0/")] if probe.endswith("/0/") else None
        self.organization = organization

        def label(text: str) -> str:
            # Escaped once here, and kept literal by str.format.
            return escape(str(text)).replace("{", "{{").replace("}", "}}")

        self.row_html = (
            f'<tr id="ticket-row-{{pk}}" class="ticket-row{" is-live" if live else ""}">'
            "{select}"
            f'<td data-label="{label(_("Number"))}" class="ticket-number">#{{number}}</td>'
            f'<td data-label="{label(_("Subject"))}" class="ticket-subject">'
            '<a href="{url}">{subject}</a>{not_answered}</td>'
            f'<td data-label="{label(_("Customer"))}">{{customer}}</td>'
            f'<td data-label="{label(_("Status"))}">'
            '<span class="tag status-{status}">{status_label}</span></td>'
            f'<td data-label="{label(_("Priority"))}" class="priority-{{priority}}">'
            "{priority_label}</td>"
            f'<td data-label="{label(_("Assignee"))}">{{assignee}}</td>'
            f'<td data-label="{label(_("Team"))}">{{team}}</td>'
            f'<td data-label="{label(_("Tags"))}">{{tags}}</td>'
            f'<td data-label="{label(_("Channel"))}">{{channel}}</td>'
            f'<td data-label="{label(_("Updated"))}" class="nowrap">'
            '<time datetime="{iso}">{updated}</time></td>'
            "</tr>"
        )

    def detail_url(self, ticket: Ticket) -> str:
        if self.detail_prefix is None:
            return reverse(
                "ticket-detail", kwargs={"org": self.organization.slug, "number": ticket.number}
            )
        return f"{self.detail_prefix}{ticket.number}/"

    def __call__(self, ticket: Ticket) -> SafeString:
        # Plain str.format with every value escaped by ``escape`` (html.escape, quotes too):
        # the same output as format_html at a fraction of its cost per value.
        select = (
            self.select_html.format(
                pk=ticket.pk, label=escape(self.select % {"number": ticket.number})
            )
            if self.can_bulk
            else ""
        )
        customer = ticket.customer
        if customer is None:
            customer_html = "—"
        else:
            email = getattr(ticket, "customer_email", "") or ""
            customer_html = escape(customer.name or "—")
            if email:
                customer_html += f'<br><span class="muted customer-email">{escape(email)}</span>'
        tags = " ".join(f'<span class="tag">{escape(tag.name)}</span>' for tag in ticket.tags.all())
        updated = localtime(ticket.updated_at)
        if ticket.custom_status:
            status_label = ticket.custom_status.name
        else:
            status_label = self.statuses.get(ticket.status, ticket.status)
        return mark_safe(
            self.row_html.format(
                pk=ticket.pk,
                select=select,
                number=ticket.number,
                url=escape(self.detail_url(ticket)),
                subject=escape(ticket.subject),
                not_answered=(
                    self.not_answered if ticket.reply_status == ReplyStatus.NOT_ANSWERED else ""
                ),
                customer=customer_html,
                status=escape(ticket.status),
                status_label=escape(status_label),
                priority=int(ticket.priority),
                priority_label=escape(self.priorities.get(ticket.priority, "")),
                assignee=(
                    escape(ticket.assignee.display_name) if ticket.assignee else self.unassigned
                ),
                team=escape(ticket.team.name) if ticket.team else "—",
                tags=tags or "—",
                channel=escape(self.channels.get(ticket.source, ticket.source)),
                iso=updated.isoformat(),
                updated=escape(dateformat.format(updated, self.datetime_format)),
            )
        )

    def rows(self, tickets: Iterable[Ticket]) -> SafeString:
        # Each row is already safe (escaped in __call__); joined, they stay so.
        return mark_safe("".join(self(ticket) for ticket in tickets))


def _page_size(value: str | None) -> int:
    if value and value.isdigit():
        return max(1, min(int(value), MAX_PAGE_SIZE))
    return DEFAULT_PAGE_SIZE


def _is_partial(request: TenantRequest) -> bool:
    # A history restore (back button after the cache expired) wants the whole page.
    return bool(request.htmx) and not request.htmx.history_restore_request


def _status_choices() -> list[tuple[str, str]]:
    return [
        (STATUS_ACTIVE, _("Open (new, open or pending)")),
        *[(str(value), str(label)) for value, label in Status.choices],
        (STATUS_ALL, _("Any status")),
    ]


def _list_context(
    request: TenantRequest, filters: TicketFilters, *, cursor: str | None = None
) -> dict[str, Any]:
    membership = request.membership
    page_size = _page_size(request.GET.get("size"))
    page = ticket_list_page(actor=membership, filters=filters, cursor=cursor, page_size=page_size)
    renderer = RowRenderer(organization=request.organization, can_bulk=membership.can_write)
    list_url = reverse("ticket-list", kwargs={"org": request.organization.slug})
    query = filters.as_query()
    if page_size != DEFAULT_PAGE_SIZE:
        query["size"] = str(page_size)
    canonical_url = f"{list_url}?{urlencode(query)}" if query else list_url
    more_url = None
    if page.next_cursor:
        more_url = f"{list_url}?{urlencode({**query, 'cursor': page.next_cursor})}"
    return {
        "filters": filters,
        "page": page,
        "cursor": cursor,
        "list_url": list_url,
        "more_url": more_url,
        "canonical_url": canonical_url,
        "filters_query": filters.querystring(),
        "ws_url": _ws_url(request, filters),
        "can_bulk": membership.can_write,
        "rows_html": renderer.rows(page.rows),
    }


def _ws_url(request: TenantRequest, filters: TicketFilters) -> str:
    path = f"/ws/app/{request.organization.slug}/tickets/"
    query = filters.querystring()
    return f"{path}?{query}" if query else path


def _full_context(request: TenantRequest, context: dict[str, Any]) -> dict[str, Any]:
    options = ticket_filter_options(actor=request.membership)
    filters: TicketFilters = context["filters"]
    return {
        **context,
        "options": options,
        "current": {
            name: "" if getattr(filters, name) is None else str(getattr(filters, name))
            for name in ("team", "tag", "inbox")
        },
        "status_choices": _status_choices(),
        "base_status_choices": Status.choices,
        "channel_choices": Channel.choices,
        "assignee_mine": ASSIGNEE_MINE,
        "assignee_unassigned": ASSIGNEE_UNASSIGNED,
    }


def _respond(request: TenantRequest, context: dict[str, Any], status: int = 200) -> HttpResponse:
    if _is_partial(request) and request.htmx.target == "ticket-table":
        response = render(request, f"{TEMPLATE}#more", context, status=status)
    elif _is_partial(request) and request.htmx.target == "ticket-results":
        response = render(request, f"{TEMPLATE}#results", context, status=status)
        # The address bar shows the filters that apply, not every empty field of the form.
        response["HX-Push-Url"] = context["canonical_url"]
    else:
        response = render(request, TEMPLATE, _full_context(request, context), status=status)
    patch_vary_headers(response, ["HX-Request", "HX-Target"])
    return response


@require_GET
def ticket_list(request: TenantRequest) -> HttpResponse:
    filters = TicketFilters.from_query(request.GET)
    context = _list_context(request, filters, cursor=request.GET.get("cursor") or None)
    return _respond(request, context)


def _bulk_assignee(membership: Membership, value: str) -> User:
    pk = int(value) if value.isdigit() else None
    member = (
        Membership.objects.for_organization(membership.organization_id)
        .exclude(role=Role.VIEWER)
        .select_related("user")
        .filter(user_id=pk)
        .first()
        if pk is not None
        else None
    )
    if member is None:
        raise ValidationError(_("Choose who to assign the tickets to."))
    return member.user


@require_agent
@require_POST
def ticket_bulk(request: TenantRequest) -> HttpResponse:
    """Assign, unassign, set a status or add a tag on the chosen tickets. Ids the actor cannot
    see (another team's, another organization's) are ignored: nothing happens to them."""
    membership = request.membership
    filters = TicketFilters.from_query(dict(parse_qsl(request.POST.get("filters", ""))))
    ids = [int(v) for v in request.POST.getlist("ticket") if v.isdigit()][:BULK_MAX]
    action = request.POST.get("action", "")
    error = ""
    changed = 0
    try:
        if action not in BULK_ACTIONS:
            raise ValidationError(_("Choose what to do with the selected tickets."))
        if not ids:
            raise ValidationError(_("Select at least one ticket."))
        tickets = list(ticket_visible(actor=membership).filter(pk__in=ids).order_by("id"))
        kwargs: dict[str, Any] = {}
        if action == "assign":
            kwargs["assignee"] = _bulk_assignee(membership, request.POST.get("assignee", ""))
        elif action == "unassign":
            kwargs["unassign"] = True
        elif action == "status":
            status = request.POST.get("status", "")
            if status not in Status.values:
                raise ValidationError(_("Choose a status."))
            kwargs["status"] = status
        elif tickets:  # a new tag is only made when it lands on a ticket
            kwargs["tag"] = tag_get_or_create(
                organization=request.organization, name=request.POST.get("tag", "")
            )
        changed = tickets_bulk_update(actor=membership, tickets=tickets, **kwargs)
    except ValidationError as exc:
        error = " ".join(exc.messages)
    list_url = reverse("ticket-list", kwargs={"org": request.organization.slug})
    notice = (
        ngettext("%(count)d ticket updated.", "%(count)d tickets updated.", changed)
        % {"count": changed}
        if not error
        else ""
    )
    if _is_partial(request):
        # The bulk form swaps the results: show them as they are now, with the outcome.
        context = _list_context(request, filters)
        context.update({"bulk_error": error, "bulk_notice": notice})
        return render(request, f"{TEMPLATE}#results", context, status=400 if error else 200)
    if error:
        context = _list_context(request, filters)
        context["bulk_error"] = error
        return _respond(request, context, status=400)
    messages.success(request, notice)
    query = filters.querystring()
    return HttpResponseRedirect(f"{list_url}?{query}" if query else list_url)

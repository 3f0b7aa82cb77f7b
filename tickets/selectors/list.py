"""The agent console's ticket list: filters, search and keyset pagination.

The list is ordered by ``-updated_at, -id`` and paged by keyset (the last row's
``(updated_at, id)`` in an opaque signed cursor), never by offset and never with an exact
``COUNT(*)``: over 100,000 tickets a count costs more than the whole page may. One page is a
fixed number of queries whatever its size: the tickets with their customer, assignee, team and
custom status (one join, with the customer's first email address as a subquery), and their
tags (one prefetch).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any
from urllib.parse import urlencode

from django.core import signing
from django.db.models import CharField, OuterRef, Prefetch, Q, QuerySet, Subquery, Value

from helpdesk.models import Customer, CustomerEmail, Membership, Role, Team
from tickets.models import (
    ACTIVE_STATUSES,
    Channel,
    CustomTicketType,
    Inbox,
    Status,
    SystemType,
    Tag,
    Ticket,
)
from tickets.selectors import ticket_visible

# The default view: tickets that still need work (new, open, pending).
STATUS_ACTIVE = "active"
STATUS_ALL = "all"
ASSIGNEE_MINE = "mine"
ASSIGNEE_UNASSIGNED = "unassigned"

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
# Up to this many customers matching a search are looked up by id (see ``_search``).
SEARCH_MAX_CUSTOMERS = 500

_CURSOR_SALT = "tickets.list.cursor"
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_NUMBER = re.compile(r"^#?\s*(\d{1,9})$")

# The query-string names of the filters (``type`` is ``ticket_type`` in Python).
_PARAM_NAMES = {"ticket_type": "type"}
_ROW_RELATED = ("customer", "assignee", "team", "custom_status")
# The columns a row shows (``ticket_rows``): a customer's notes and custom fields, a user's
# password hash and the like are not read for the list.
_ROW_FIELDS = (
    "organization_id",
    "number",
    "subject",
    "status",
    "priority",
    "source",
    "reply_status",
    "updated_at",
    "customer__name",
    "assignee__name",
    "assignee__email",
    "team__name",
    "custom_status__name",
)


def _int_or_none(value: str | None) -> int | None:
    if value is None:
        return None
    value = value.strip()
    if not value.isdigit() or len(value) > 18:
        return None
    return int(value)


@dataclass(frozen=True)
class TicketFilters:
    """What the console's filter bar asks for. Unknown or malformed values are ignored (an
    old bookmark still opens), and ids are only ever used inside the actor's organization."""

    status: str = STATUS_ACTIVE
    team: int | None = None
    assignee: str = ""
    tag: int | None = None
    channel: str = ""
    inbox: int | None = None
    ticket_type: str = ""
    q: str = ""

    @classmethod
    def from_query(cls, data: Mapping[str, Any]) -> TicketFilters:
        def get(name: str) -> str:
            value = data.get(name)
            return value.strip() if isinstance(value, str) else ""

        status = get("status") or STATUS_ACTIVE
        if status not in {STATUS_ACTIVE, STATUS_ALL, *Status.values}:
            status = STATUS_ACTIVE
        assignee = get("assignee")
        if assignee not in {ASSIGNEE_MINE, ASSIGNEE_UNASSIGNED} and _int_or_none(assignee) is None:
            assignee = ""
        channel = get("channel")
        if channel not in Channel.values:
            channel = ""
        return cls(
            status=status,
            team=_int_or_none(get("team")),
            assignee=assignee,
            tag=_int_or_none(get("tag")),
            channel=channel,
            inbox=_int_or_none(get("inbox")),
            ticket_type=get("type")[:40],
            q=" ".join(get("q").split())[:200],
        )

    def as_query(self) -> dict[str, str]:
        """The filters that differ from the default view, as query-string parameters."""
        default = TicketFilters()
        params: dict[str, str] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value != getattr(default, f.name) and value not in (None, ""):
                params[_PARAM_NAMES.get(f.name, f.name)] = str(value)
        return params

    def querystring(self) -> str:
        return urlencode(self.as_query())

    @property
    def is_default(self) -> bool:
        return self == TicketFilters()

    def but(self, **changes: Any) -> TicketFilters:
        return replace(self, **changes)


@dataclass(frozen=True)
class TicketPage:
    rows: list[Ticket]
    next_cursor: str | None
    has_more: bool


@dataclass(frozen=True)
class Option:
    value: str
    label: str
    extra: str = ""


@dataclass
class FilterOptions:
    """The choices of the filter bar and the bulk form, read in one query."""

    teams: list[Option] = field(default_factory=list)
    inboxes: list[Option] = field(default_factory=list)
    tags: list[Option] = field(default_factory=list)
    types: list[Option] = field(default_factory=list)
    members: list[Option] = field(default_factory=list)


def cursor_encode(ticket: Ticket) -> str:
    delta = ticket.updated_at - _EPOCH
    micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    return signing.dumps([micros, ticket.pk], salt=_CURSOR_SALT)


def cursor_decode(cursor: str | None) -> tuple[dt.datetime, int] | None:
    """``(updated_at, id)`` of the row a page starts after; None for a missing or forged one."""
    if not cursor:
        return None
    try:
        micros, pk = signing.loads(cursor, salt=_CURSOR_SALT)
        return _EPOCH + dt.timedelta(microseconds=int(micros)), int(pk)
    except (signing.BadSignature, TypeError, ValueError, OverflowError):
        return None


def _search(queryset: QuerySet[Ticket], actor: Membership, q: str) -> QuerySet[Ticket]:
    """Part of the subject, of the customer's name or of one of the customer's email
    addresses (a ticket number is handled by ``ticket_list_queryset``)."""
    organization_id = actor.organization_id
    # The matching customers first (one small query, trigram-indexed on PostgreSQL), then the
    # tickets as "subject matches OR customer is one of these": with the ids as a literal list
    # the planner can combine the subject's trigram index and the (organization, customer)
    # index, or walk the list's order and stop after a page, whichever is cheaper.
    names = (
        Customer.objects.for_organization(organization_id)
        .filter(name__icontains=q)
        .values_list("pk", flat=True)
        .order_by()
    )
    emails = (
        CustomerEmail.objects.for_organization(organization_id)
        .filter(email__icontains=q)
        .values_list("customer_id", flat=True)
        .order_by()
    )
    customer_ids = list(names.union(emails)[: SEARCH_MAX_CUSTOMERS + 1])
    if len(customer_ids) > SEARCH_MAX_CUSTOMERS:
        # A very common fragment: let the database join instead of shipping the ids around.
        by_customer = Q(customer_id__in=names) | Q(customer_id__in=emails)
    else:
        by_customer = Q(customer_id__in=customer_ids)
    return queryset.filter(Q(subject__icontains=q) | by_customer)


def ticket_list_queryset(*, actor: Membership, filters: TicketFilters) -> QuerySet[Ticket]:
    """The tickets the actor may see that match ``filters``, newest change first (what a row
    shows is added by ``ticket_rows``). A number (``123`` or ``#123``) finds that ticket."""
    tickets = ticket_visible(actor=actor)
    number = _NUMBER.match(filters.q)
    if number:
        # A ticket number names one ticket: found whatever the other filters say.
        return tickets.filter(number=int(number.group(1)))
    if filters.status == STATUS_ACTIVE:
        tickets = tickets.filter(status__in=ACTIVE_STATUSES)
    elif filters.status != STATUS_ALL:
        tickets = tickets.filter(status=filters.status)
    if filters.team is not None:
        tickets = tickets.filter(team_id=filters.team)
    if filters.assignee == ASSIGNEE_MINE:
        tickets = tickets.filter(assignee_id=actor.user_id)
    elif filters.assignee == ASSIGNEE_UNASSIGNED:
        tickets = tickets.filter(assignee__isnull=True)
    elif filters.assignee:
        tickets = tickets.filter(assignee_id=int(filters.assignee))
    if filters.tag is not None:
        tickets = tickets.filter(ticket_tags__tag_id=filters.tag)
    if filters.channel:
        tickets = tickets.filter(source=filters.channel)
    if filters.inbox is not None:
        tickets = tickets.filter(inbox_id=filters.inbox)
    if filters.ticket_type:
        tickets = tickets.filter(ticket_type=filters.ticket_type)
    if filters.q:
        tickets = _search(tickets, actor, filters.q)
    return tickets.order_by("-updated_at", "-id")


def ticket_rows(queryset: QuerySet[Ticket]) -> QuerySet[Ticket]:
    """What a row of the list shows, in a fixed number of queries: the ticket with its
    customer, assignee, team and custom status (one join, only the columns shown), the
    customer's first email address (``customer_email``, a subquery) and the tags (one
    prefetch)."""
    first_email = (
        CustomerEmail.objects.filter(
            organization_id=OuterRef("organization_id"), customer_id=OuterRef("customer_id")
        )
        .order_by("id")
        .values("email")[:1]
    )
    return (
        queryset.select_related(*_ROW_RELATED)
        .only(*_ROW_FIELDS)
        .annotate(customer_email=Subquery(first_email))
        .prefetch_related(Prefetch("tags", queryset=Tag.objects.order_by("name").only("name")))
    )


def ticket_list_page(
    *,
    actor: Membership,
    filters: TicketFilters,
    cursor: str | None,
    page_size: int = DEFAULT_PAGE_SIZE,
) -> TicketPage:
    page_size = max(1, min(page_size, MAX_PAGE_SIZE))
    tickets = ticket_list_queryset(actor=actor, filters=filters)
    after = cursor_decode(cursor)
    if after is not None:
        updated_at, pk = after
        # ``updated_at <= x`` first: it bounds the index range scan, the rest filters the ties.
        tickets = tickets.filter(
            Q(updated_at__lte=updated_at) & (Q(updated_at__lt=updated_at) | Q(pk__lt=pk))
        )
    # One row more than the page tells whether there is a next page, without counting.
    rows = list(ticket_rows(tickets)[: page_size + 1])
    has_more = len(rows) > page_size
    rows = rows[:page_size]
    next_cursor = cursor_encode(rows[-1]) if has_more and rows else None
    return TicketPage(rows=rows, next_cursor=next_cursor, has_more=has_more)


def ticket_list_row(
    *, actor: Membership, filters: TicketFilters, ticket_id: int
) -> tuple[Ticket | None, bool]:
    """One ticket as a row of the list, for live updates: ``(ticket, visible)``. The ticket is
    None when it does not match ``filters``; ``visible`` says whether the actor may see it at
    all (an invisible ticket must not even be mentioned to them)."""
    matching = ticket_rows(
        ticket_list_queryset(actor=actor, filters=filters).filter(pk=ticket_id)
    ).first()
    if matching is not None:
        return matching, True
    return None, ticket_visible(actor=actor).filter(pk=ticket_id).exists()


def ticket_filter_options(*, actor: Membership) -> FilterOptions:
    """Teams, inboxes, tags, ticket types and assignable members of the actor's organization,
    in one UNION query (the list page's query budget is small and fixed)."""
    org = actor.organization_id

    def text(value: str) -> Value:
        return Value(value, output_field=CharField())

    teams = (
        Team.objects.for_organization(org)
        .annotate(kind=text("team"), extra=text(""))
        .values_list("kind", "id", "name", "extra")
        .order_by()
    )
    inboxes = (
        Inbox.objects.for_organization(org)
        .annotate(kind=text("inbox"))
        .values_list("kind", "id", "name", "channel")
        .order_by()
    )
    tags = (
        Tag.objects.for_organization(org)
        .annotate(kind=text("tag"))
        .values_list("kind", "id", "name", "color")
        .order_by()
    )
    types = (
        CustomTicketType.objects.for_organization(org)
        .filter(active=True)
        .annotate(kind=text("type"))
        .values_list("kind", "id", "name", "key")
        .order_by()
    )
    members = (
        Membership.objects.for_organization(org)
        .exclude(role=Role.VIEWER)
        .annotate(kind=text("member"))
        .values_list("kind", "user_id", "user__name", "user__email")
        .order_by()
    )
    options = FilterOptions()
    for kind, pk, name, extra in teams.union(inboxes, tags, types, members, all=True):
        if kind == "team":
            options.teams.append(Option(str(pk), name))
        elif kind == "inbox":
            options.inboxes.append(Option(str(pk), name, extra))
        elif kind == "tag":
            options.tags.append(Option(str(pk), name, extra))
        elif kind == "type":
            options.types.append(Option(extra, name))
        else:
            options.members.append(Option(str(pk), name or extra, extra))
    for group in (options.teams, options.inboxes, options.tags, options.members):
        group.sort(key=lambda option: (option.label.casefold(), option.value))
    system_types = [Option(str(value), str(label)) for value, label in SystemType.choices]
    options.types = system_types + sorted(options.types, key=lambda o: o.label.casefold())
    return options

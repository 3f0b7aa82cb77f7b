"""The console's list selector: every filter (both sides), search, keyset paging, visibility."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import parse_qsl

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from helpdesk.models import Membership, Organization, Role
from tests.factories import CustomerFactory, TeamFactory, add_customer_email, add_team_member
from tests.tickets.factories import make_inbox, make_tag, make_ticket
from tickets.models import Channel, CustomTicketType, Status, SystemType, Ticket
from tickets.selectors.list import (
    TicketFilters,
    cursor_decode,
    cursor_encode,
    ticket_filter_options,
    ticket_list_page,
    ticket_list_row,
)
from tickets.services.tickets import ticket_add_tag, ticket_set_status

pytestmark = pytest.mark.django_db


def subjects(actor: Membership, page_size: int = 200, **query: str) -> set[str]:
    page = ticket_list_page(
        actor=actor, filters=TicketFilters.from_query(query), cursor=None, page_size=page_size
    )
    return {ticket.subject for ticket in page.rows}


def with_status(org: Organization, subject: str, status: str) -> Ticket:
    ticket = make_ticket(org, subject=subject)
    ticket_set_status(actor=None, ticket=ticket, status=status)
    return ticket


def test_default_view_shows_tickets_that_need_work(org: Organization, admin: Membership) -> None:
    for status in Status.values:
        with_status(org, f"is {status}", status)

    assert subjects(admin) == {"is new", "is open", "is pending"}
    assert subjects(admin, status="solved") == {"is solved"}
    assert subjects(admin, status="spam") == {"is spam"}
    assert subjects(admin, status="all") == {f"is {status}" for status in Status.values}
    # Nonsense falls back to the default view rather than failing.
    assert subjects(admin, status="bogus") == {"is new", "is open", "is pending"}


def test_custom_status_counts_as_its_base_status(org: Organization, admin: Membership) -> None:
    from tickets.models import CustomStatus

    waiting = CustomStatus.objects.create(
        organization=org, name="Waiting for parts", base_status="pending"
    )
    ticket = make_ticket(org, subject="Parts")
    ticket_set_status(actor=None, ticket=ticket, status="", custom_status=waiting)

    assert subjects(admin, status="pending") == {"Parts"}
    assert subjects(admin, status="open") == set()


def test_team_filter(org: Organization, admin: Membership) -> None:
    returns, sales = TeamFactory(organization=org), TeamFactory(organization=org)
    make_ticket(org, subject="returns", team=returns)
    make_ticket(org, subject="sales", team=sales)
    make_ticket(org, subject="nobody's")

    assert subjects(admin, team=str(returns.pk)) == {"returns"}
    assert subjects(admin, team=str(sales.pk)) == {"sales"}
    assert subjects(admin) == {"returns", "sales", "nobody's"}


def test_assignee_filter_mine_unassigned_and_someone(
    org: Organization, admin: Membership, agent: Membership
) -> None:
    make_ticket(org, subject="admin's", assignee=admin.user)
    make_ticket(org, subject="agent's", assignee=agent.user)
    make_ticket(org, subject="free")

    assert subjects(admin, assignee="mine") == {"admin's"}
    assert subjects(agent, assignee="mine") == {"agent's"}
    assert subjects(admin, assignee="unassigned") == {"free"}
    assert subjects(admin, assignee=str(agent.user.pk)) == {"agent's"}
    assert subjects(admin, assignee="nonsense") == {"admin's", "agent's", "free"}


def test_tag_filter(org: Organization, admin: Membership) -> None:
    urgent, vip = make_tag(org, "urgent"), make_tag(org, "vip")
    both = make_ticket(org, subject="both")
    only_vip = make_ticket(org, subject="vip only")
    make_ticket(org, subject="untagged")
    ticket_add_tag(actor=None, ticket=both, tag=urgent)
    ticket_add_tag(actor=None, ticket=both, tag=vip)
    ticket_add_tag(actor=None, ticket=only_vip, tag=vip)

    assert subjects(admin, tag=str(urgent.pk)) == {"both"}
    assert subjects(admin, tag=str(vip.pk)) == {"both", "vip only"}


def test_channel_inbox_and_type_filters(org: Organization, admin: Membership) -> None:
    team = TeamFactory(organization=org)
    mail = make_inbox(org, team, name="Mail")
    shop = make_inbox(org, team, name="Shop", address="shop@acme.example")
    CustomTicketType.objects.create(organization=org, key="warranty", name="Warranty")
    make_ticket(org, subject="by mail", inbox=mail)
    make_ticket(org, subject="by sms", source=Channel.SMS, inbox=shop)
    make_ticket(org, subject="return", source=Channel.WEB_FORM, ticket_type=SystemType.RETURN)
    make_ticket(org, subject="warranty", source=Channel.PHONE, ticket_type="warranty")

    assert subjects(admin, channel="sms") == {"by sms"}
    assert subjects(admin, channel="email") == {"by mail"}
    assert subjects(admin, inbox=str(mail.pk)) == {"by mail"}
    assert subjects(admin, inbox=str(shop.pk)) == {"by sms"}
    assert subjects(admin, type="return") == {"return"}
    assert subjects(admin, type="warranty") == {"warranty"}
    assert subjects(admin, type="regular") == {"by mail", "by sms"}


def test_filters_combine(org: Organization, admin: Membership) -> None:
    team = TeamFactory(organization=org)
    make_ticket(org, subject="mine in team", team=team, assignee=admin.user)
    make_ticket(org, subject="mine elsewhere", assignee=admin.user)
    make_ticket(org, subject="free in team", team=team)

    assert subjects(admin, team=str(team.pk), assignee="mine") == {"mine in team"}


def test_search_by_number_with_or_without_hash(org: Organization, admin: Membership) -> None:
    tickets = [make_ticket(org, subject=f"ticket {n}") for n in range(12)]
    target = tickets[10]

    assert subjects(admin, q=str(target.number)) == {target.subject}
    assert subjects(admin, q=f"#{target.number}") == {target.subject}
    assert subjects(admin, q="#999") == set()
    # A number names one ticket: found even outside the view's other filters.
    ticket_set_status(actor=None, ticket=target, status="closed")
    assert subjects(admin, q=f"#{target.number}", assignee="mine") == {target.subject}


def test_search_by_subject_customer_name_and_email(org: Organization, admin: Membership) -> None:
    zofia = CustomerFactory(organization=org, name="Zofia Nowak")
    add_customer_email(zofia, "zofia@sklep.example")
    jan = CustomerFactory(organization=org, name="Jan Kowalski")
    add_customer_email(jan, "jan.k@poczta.example")
    make_ticket(org, subject="Broken MIRROR on arrival", customer=jan)
    make_ticket(org, subject="Invoice please", customer=zofia)
    make_ticket(org, subject="Where is my parcel?")

    assert subjects(admin, q="mirror") == {"Broken MIRROR on arrival"}
    assert subjects(admin, q="nowak") == {"Invoice please"}
    assert subjects(admin, q="POCZTA.example") == {"Broken MIRROR on arrival"}
    assert subjects(admin, q="nothing like it") == set()
    # Search applies inside the other filters.
    assert subjects(admin, q="nowak", status="solved") == set()


def test_search_never_crosses_organizations(
    org: Organization, other_org: Organization, admin: Membership
) -> None:
    theirs = CustomerFactory(organization=other_org, name="Zofia Nowak")
    add_customer_email(theirs, "zofia@sklep.example")
    make_ticket(other_org, subject="Their mirror", customer=theirs)
    make_ticket(org, subject="Our invoice")

    assert subjects(admin, q="mirror") == set()
    assert subjects(admin, q="nowak") == set()
    assert subjects(admin, q="1") == {"Our invoice"}
    assert subjects(admin, status="all") == {"Our invoice"}


def test_agents_see_their_teams_unteamed_and_their_own_tickets(
    org: Organization, agent: Membership
) -> None:
    mine, theirs = TeamFactory(organization=org), TeamFactory(organization=org)
    add_team_member(mine, agent.user)
    make_ticket(org, subject="my team", team=mine)
    make_ticket(org, subject="no team")
    make_ticket(org, subject="their team", team=theirs)
    make_ticket(org, subject="their team, assigned to me", team=theirs, assignee=agent.user)

    assert subjects(agent) == {"my team", "no team", "their team, assigned to me"}
    assert subjects(agent, team=str(theirs.pk)) == {"their team, assigned to me"}
    assert subjects(agent, q="their") == {"their team, assigned to me"}


def test_keyset_pages_cover_every_ticket_once_across_equal_timestamps(
    org: Organization, admin: Membership
) -> None:
    tickets = [make_ticket(org, subject=f"t{n}", body=None) for n in range(11)]
    same = timezone.now() - dt.timedelta(hours=1)
    # Seven tickets share one updated_at: the id breaks the tie.
    Ticket.objects.for_organization(org).filter(pk__in=[t.pk for t in tickets[2:9]]).update(
        updated_at=same
    )
    expected = list(
        Ticket.objects.for_organization(org)
        .order_by("-updated_at", "-id")
        .values_list("pk", flat=True)
    )

    seen: list[int] = []
    cursor = None
    pages = 0
    while True:
        page = ticket_list_page(actor=admin, filters=TicketFilters(), cursor=cursor, page_size=3)
        seen += [t.pk for t in page.rows]
        pages += 1
        if not page.has_more:
            assert page.next_cursor is None
            break
        assert page.next_cursor
        cursor = page.next_cursor

    assert seen == expected
    assert pages == 4  # 3 + 3 + 3 + 2


def test_last_full_page_has_no_next(org: Organization, admin: Membership) -> None:
    for n in range(4):
        make_ticket(org, subject=f"t{n}", body=None)
    page = ticket_list_page(actor=admin, filters=TicketFilters(), cursor=None, page_size=4)
    assert len(page.rows) == 4
    assert not page.has_more
    assert page.next_cursor is None


def test_a_forged_cursor_is_ignored(org: Organization, admin: Membership) -> None:
    ticket = make_ticket(org, body=None)
    assert cursor_decode(cursor_encode(ticket)) == (ticket.updated_at, ticket.pk)
    assert cursor_decode("garbage") is None
    forged = cursor_encode(ticket)[:-2] + "xx"
    page = ticket_list_page(actor=admin, filters=TicketFilters(), cursor=forged)
    assert [t.pk for t in page.rows] == [ticket.pk]


def test_a_page_is_a_fixed_few_queries_whatever_its_size(
    org: Organization, admin: Membership
) -> None:
    customer = CustomerFactory(organization=org, name="C")
    add_customer_email(customer, "c@example.com")
    tag = make_tag(org, "t")
    team = TeamFactory(organization=org)
    for n in range(30):
        ticket = make_ticket(org, subject=f"t{n}", customer=customer, team=team, body=None)
        ticket_add_tag(actor=None, ticket=ticket, tag=tag)

    # Tickets (with the customer's address), their tags; a search first finds the customers.
    for filters, expected in ((TicketFilters(), 2), (TicketFilters(q="t"), 3)):
        for size in (1, 30):
            with CaptureQueriesContext(connection) as queries:
                page = ticket_list_page(actor=admin, filters=filters, cursor=None, page_size=size)
                for ticket in page.rows:
                    _ = (ticket.customer_email, ticket.tags.all(), ticket.team)
            assert len(page.rows) == size
            assert len(queries) == expected, [q["sql"] for q in queries.captured_queries]


def test_filter_options_come_in_one_query_and_only_from_the_organization(
    org: Organization,
    other_org: Organization,
    admin: Membership,
    viewer: Membership,
    agent: Membership,
) -> None:
    team = TeamFactory(organization=org, name="Returns")
    make_inbox(org, team, name="Returns mail")
    make_tag(org, "vip")
    CustomTicketType.objects.create(organization=org, key="warranty", name="Warranty")
    other_team = TeamFactory(organization=other_org, name="Theirs")
    make_inbox(other_org, other_team, name="Their mail", address="x@other.example")
    make_tag(other_org, "their-tag")

    with CaptureQueriesContext(connection) as queries:
        options = ticket_filter_options(actor=admin)
    assert len(queries) == 1

    assert [o.label for o in options.teams] == ["Returns"]
    assert [o.label for o in options.inboxes] == ["Returns mail"]
    assert [o.label for o in options.tags] == ["vip"]
    assert ("warranty", "Warranty") in [(o.value, o.label) for o in options.types]
    assert ("return", "Return") in [(o.value, o.label) for o in options.types]
    member_ids = {o.value for o in options.members}
    assert member_ids == {str(admin.user.pk), str(agent.user.pk)}  # viewers are not assignable


def test_live_row_tells_matching_visible_and_invisible_apart(
    org: Organization, agent: Membership, admin: Membership
) -> None:
    mine, theirs = TeamFactory(organization=org), TeamFactory(organization=org)
    add_team_member(mine, agent.user)
    ours = make_ticket(org, subject="ours", team=mine)
    hidden = make_ticket(org, subject="hidden", team=theirs)
    solved = with_status(org, "solved", "solved")
    solved.team = mine
    solved.save(update_fields=["team"])

    def row(actor: Membership, ticket: Ticket, **query: Any) -> tuple[bool, bool]:
        found, visible = ticket_list_row(
            actor=actor, filters=TicketFilters.from_query(query), ticket_id=ticket.pk
        )
        return found is not None, visible

    assert row(agent, ours) == (True, True)
    assert row(agent, hidden) == (False, False)
    assert row(admin, hidden) == (True, True)
    assert row(agent, solved) == (False, True)  # visible, but not in the open view
    assert row(agent, solved, status="solved") == (True, True)


def test_filters_round_trip_through_the_query_string() -> None:
    filters = TicketFilters.from_query(
        {"status": "pending", "team": "3", "assignee": "mine", "type": "return", "q": "  a   b "}
    )
    assert filters.q == "a b"
    assert TicketFilters.from_query(dict(parse_qsl(filters.querystring()))) == filters
    assert TicketFilters().querystring() == ""
    assert TicketFilters.from_query({"team": "x", "tag": "-1", "channel": "fax"}) == TicketFilters()


def test_role_viewer_sees_every_ticket(org: Organization, viewer: Membership) -> None:
    team = TeamFactory(organization=org)
    make_ticket(org, subject="teamed", team=team)
    assert viewer.role == Role.VIEWER
    assert subjects(viewer) == {"teamed"}

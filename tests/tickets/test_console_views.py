"""The console's ticket list page: filters in the query string, htmx partials, "Load more",
bulk actions with their permissions, and a query count that does not grow with the page."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from helpdesk.models import Membership, Organization
from tests.factories import CustomerFactory, TeamFactory, add_customer_email, add_team_member
from tests.tickets.factories import make_tag, make_ticket
from tickets.models import Status, Ticket
from tickets.services.tickets import ticket_add_tag, ticket_set_status

pytestmark = pytest.mark.django_db

URL = "/app/acme/tickets/"
BULK = "/app/acme/tickets/bulk/"
ClientFor = Callable[[Membership], Client]


def body(response) -> str:  # type: ignore[no-untyped-def]
    return response.content.decode()


def test_the_list_shows_rows_with_what_an_agent_needs(
    org: Organization, admin: Membership, agent: Membership, client_for: ClientFor
) -> None:
    team = TeamFactory(organization=org, name="Returns")
    customer = CustomerFactory(organization=org, name="Zofia Nowak")
    add_customer_email(customer, "zofia@sklep.example")
    ticket = make_ticket(
        org, subject="Mirror <broken>", customer=customer, team=team, assignee=agent.user
    )
    ticket_add_tag(actor=None, ticket=ticket, tag=make_tag(org, "fragile"))

    response = client_for(admin).get(URL)

    assert response.status_code == 200
    html = body(response)
    assert f'id="ticket-row-{ticket.pk}"' in html
    assert f'href="/app/acme/tickets/{ticket.number}/"' in html
    assert "Mirror &lt;broken&gt;" in html  # escaped
    for text in ("Zofia Nowak", "zofia@sklep.example", "Returns", "fragile", "Alex Agent"):
        assert text in html
    assert "Not answered" in html
    assert 'ws-connect="/ws/app/acme/tickets/"' in html
    assert "htmx-ext-ws-" in html


def test_filters_come_from_the_query_string(
    org: Organization, admin: Membership, client_for: ClientFor
) -> None:
    open_one = make_ticket(org, subject="Still open")
    solved = make_ticket(org, subject="All done")
    ticket_set_status(actor=None, ticket=solved, status=Status.SOLVED)
    client = client_for(admin)

    default = body(client.get(URL))
    assert "Still open" in default and "All done" not in default

    solved_page = body(client.get(URL, {"status": "solved"}))
    assert "All done" in solved_page and "Still open" not in solved_page
    # The filter bar shows what is applied, and live updates listen with the same filters.
    assert '<option value="solved" selected>' in solved_page
    assert 'ws-connect="/ws/app/acme/tickets/?status=solved"' in solved_page

    search = body(client.get(URL, {"q": f"#{open_one.number}"}))
    assert "Still open" in search and 'value="#1"' in search


def test_htmx_gets_only_the_results_and_a_history_restore_the_page(
    org: Organization, admin: Membership, client_for: ClientFor
) -> None:
    make_ticket(org, subject="Hello")
    client = client_for(admin)

    partial = client.get(
        URL,
        {"q": "hello", "status": "active", "team": "", "tag": ""},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="ticket-results",
    )
    html = body(partial)
    assert partial.status_code == 200
    assert html.lstrip().startswith('<section id="ticket-results"')
    assert "<html" not in html and 'id="ticket-filters"' not in html
    assert "Hello" in html
    assert "HX-Request" in partial["Vary"]
    # The address bar gets the filters that apply, without the form's empty fields.
    assert partial["HX-Push-Url"] == URL + "?q=hello"

    restore = client.get(URL, HTTP_HX_REQUEST="true", HTTP_HX_HISTORY_RESTORE_REQUEST="true")
    assert "<html" in body(restore)


def test_load_more_continues_after_the_last_row(
    org: Organization, admin: Membership, client_for: ClientFor
) -> None:
    for n in range(5):
        make_ticket(org, subject=f"Ticket number {n}", body=None)
    client = client_for(admin)

    first = client.get(URL, {"size": "2"})
    assert first.context["page"].has_more
    more_url = first.context["more_url"]
    assert more_url.startswith(URL + "?") and "size=2" in more_url and "cursor=" in more_url
    assert [t.subject for t in first.context["page"].rows] == ["Ticket number 4", "Ticket number 3"]

    # Without JavaScript the link opens the next page.
    second = client.get(more_url)
    assert [t.subject for t in second.context["page"].rows] == [
        "Ticket number 2",
        "Ticket number 1",
    ]
    assert "Back to the newest tickets" in body(second)

    # With htmx the rows are appended and the "Load more" link is replaced out of band.
    appended = client.get(more_url, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="ticket-table")
    html = body(appended)
    assert html.lstrip().startswith('<tbody class="ticket-page">')
    assert '<tfoot id="ticket-more" hx-swap-oob="true">' in html
    assert "Ticket number 2" in html and "Ticket number 4" not in html

    last = client.get(second.context["more_url"])
    assert [t.subject for t in last.context["page"].rows] == ["Ticket number 0"]
    assert last.context["more_url"] is None


def test_strangers_are_turned_away(
    org: Organization, outsider: Membership, client_for: ClientFor
) -> None:
    make_ticket(org)
    assert Client().get(URL).status_code == 302
    assert client_for(outsider).get(URL).status_code == 404
    assert client_for(outsider).post(BULK, {"action": "unassign"}).status_code == 404


def test_viewers_see_the_list_but_cannot_bulk_edit(
    org: Organization, viewer: Membership, admin: Membership, client_for: ClientFor
) -> None:
    ticket = make_ticket(org, subject="Read only", assignee=admin.user)
    client = client_for(viewer)

    html = body(client.get(URL))
    assert "Read only" in html
    assert '<form id="ticket-bulk"' not in html
    assert 'type="checkbox" name="ticket"' not in html

    response = client.post(BULK, {"action": "unassign", "ticket": [ticket.pk]})
    assert response.status_code == 403
    ticket.refresh_from_db()
    assert ticket.assignee == admin.user


def test_bulk_assign_then_unassign(
    org: Organization, admin: Membership, agent: Membership, client_for: ClientFor
) -> None:
    first, second, untouched = (make_ticket(org, subject=s) for s in ("a", "b", "c"))
    client = client_for(admin)

    response = client.post(
        BULK,
        {
            "action": "assign",
            "assignee": agent.user.pk,
            "ticket": [first.pk, second.pk],
            "filters": "status=all&q=x",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == URL + "?status=all&q=x"
    assert {
        t.assignee_id
        for t in Ticket.objects.for_organization(org).filter(pk__in=[first.pk, second.pk])
    } == {agent.user.pk}
    untouched.refresh_from_db()
    assert untouched.assignee is None

    client.post(BULK, {"action": "unassign", "ticket": [first.pk]})
    first.refresh_from_db()
    assert first.assignee is None


def test_bulk_status_and_tag(org: Organization, admin: Membership, client_for: ClientFor) -> None:
    first, second = make_ticket(org, subject="a"), make_ticket(org, subject="b")
    client = client_for(admin)

    client.post(BULK, {"action": "status", "status": "solved", "ticket": [first.pk, second.pk]})
    client.post(BULK, {"action": "tag", "tag": "Refund", "ticket": [first.pk]})

    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status) == ("solved", "solved")
    assert [t.name for t in first.tags.all()] == ["Refund"]
    assert list(second.tags.all()) == []


def test_bulk_ignores_tickets_the_actor_cannot_see(
    org: Organization,
    other_org: Organization,
    agent: Membership,
    outsider: Membership,
    client_for: ClientFor,
) -> None:
    mine, theirs = TeamFactory(organization=org), TeamFactory(organization=org)
    add_team_member(mine, agent.user)
    own = make_ticket(org, subject="own", team=mine)
    other_team = make_ticket(org, subject="other team", team=theirs)
    foreign = make_ticket(other_org, subject="foreign")

    response = client_for(agent).post(
        BULK,
        {"action": "status", "status": "closed", "ticket": [own.pk, other_team.pk, foreign.pk]},
    )

    assert response.status_code == 302
    for ticket in (own, other_team, foreign):
        ticket.refresh_from_db()
    assert own.status == "closed"
    assert other_team.status == "new"
    assert foreign.status == "new"

    # And from the other side: another organization's admin changes nothing of ours.
    client_for(outsider).post(
        "/app/other/tickets/bulk/", {"action": "status", "status": "spam", "ticket": [own.pk]}
    )
    own.refresh_from_db()
    assert own.status == "closed"


def test_bulk_errors_answer_400_and_change_nothing(
    org: Organization, admin: Membership, outsider: Membership, client_for: ClientFor
) -> None:
    ticket = make_ticket(org, subject="a")
    client = client_for(admin)

    cases = [
        {"action": "assign", "ticket": [ticket.pk]},  # nobody chosen
        {"action": "assign", "assignee": outsider.user.pk, "ticket": [ticket.pk]},  # not a member
        {"action": "status", "status": "bogus", "ticket": [ticket.pk]},
        {"action": "tag", "tag": "  ", "ticket": [ticket.pk]},
        {"action": "explode", "ticket": [ticket.pk]},
        {"action": "unassign"},  # nothing selected
    ]
    for data in cases:
        response = client.post(BULK, data)
        assert response.status_code == 400, data
        assert 'role="alert"' in body(response)
    ticket.refresh_from_db()
    assert (ticket.status, ticket.assignee_id, ticket.tags.count()) == ("new", None, 0)


def test_bulk_with_htmx_answers_with_the_fresh_results(
    org: Organization, admin: Membership, client_for: ClientFor
) -> None:
    ticket = make_ticket(org, subject="Swap me")
    response = client_for(admin).post(
        BULK,
        {"action": "status", "status": "solved", "ticket": [ticket.pk], "filters": ""},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="ticket-results",
    )
    html = body(response)
    assert response.status_code == 200
    assert html.lstrip().startswith('<section id="ticket-results"')
    assert "1 ticket updated." in html
    assert "Swap me" not in html  # solved: no longer in the open view


@pytest.mark.parametrize("count", [1, 50, 200])
def test_the_list_page_costs_the_same_few_queries_whatever_its_size(
    count: int, org: Organization, admin: Membership, agent: Membership, client_for: ClientFor
) -> None:
    teams = [TeamFactory(organization=org, name=f"Team {n}") for n in range(3)]
    tags = [make_tag(org, f"tag{n}") for n in range(3)]
    for n in range(count):
        customer = CustomerFactory(organization=org, name=f"Customer {n}")
        add_customer_email(customer, f"c{n}@example.com")
        ticket = make_ticket(
            org,
            subject=f"Ticket {n}",
            customer=customer,
            team=teams[n % 3],
            assignee=(agent.user if n % 2 else None),
            body=None,
        )
        ticket_add_tag(actor=None, ticket=ticket, tag=tags[n % 3])
    client = client_for(admin)
    # The first request also saves the organization in the session; still within budget.
    with CaptureQueriesContext(connection) as queries:
        client.get(URL, {"size": "200"})
    assert len(queries) <= 10, "\n".join(q["sql"] for q in queries.captured_queries)

    with CaptureQueriesContext(connection) as queries:
        response = client.get(URL, {"size": "200"})
    assert response.status_code == 200
    assert len(response.context["page"].rows) == count
    assert len(queries) <= 10, "\n".join(q["sql"] for q in queries.captured_queries)
    # Constant: the same number of queries for 1, 50 and 200 rows.
    assert len(queries) == 7, "\n".join(q["sql"] for q in queries.captured_queries)

    # A search adds one: the customers it matches.
    with CaptureQueriesContext(connection) as queries:
        client.get(URL, {"size": "200", "q": "ticket", "team": str(teams[0].pk)})
    assert len(queries) == 8


def test_everything_a_row_shows_is_escaped(
    org: Organization,
    admin: Membership,
    make_member: Callable[..., Membership],
    client_for: ClientFor,
) -> None:
    from tickets.models import CustomStatus

    evil = '<script>alert("x")</script>'
    assignee = make_member(org, name=f"Agent {evil}", email="evil@acme.example")
    team = TeamFactory(organization=org, name=f"Team {evil}")
    customer = CustomerFactory(organization=org, name=f"Customer {evil}")
    add_customer_email(customer, "o'brien@example.com")
    status = CustomStatus.objects.create(organization=org, name=f"S {evil}", base_status="open")
    ticket = make_ticket(
        org, subject=f"Subject {evil}", customer=customer, team=team, assignee=assignee.user
    )
    ticket_set_status(actor=None, ticket=ticket, status="", custom_status=status)
    ticket_add_tag(actor=None, ticket=ticket, tag=make_tag(org, f"t {evil}"[:50]))

    html = body(client_for(admin).get(URL))

    assert "<script>alert" not in html
    assert html.count("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;") >= 6
    assert "o&#x27;brien@example.com" in html


def test_the_list_links_to_new_ticket_and_canned_responses_for_writers(  # type: ignore[no-untyped-def]
    agent, viewer, client_for
) -> None:
    page = client_for(agent).get("/app/acme/tickets/").content.decode()
    assert 'href="/app/acme/tickets/new/"' in page
    assert 'href="/app/acme/manage/canned-responses/"' in page
    page = client_for(viewer).get("/app/acme/tickets/").content.decode()
    assert 'href="/app/acme/tickets/new/"' not in page

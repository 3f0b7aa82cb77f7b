"""The ticket list in a real browser: two agents with the list open see a ticket that arrives
by email, and each other's changes, without reloading; the filter bar narrows the list and
the live updates keep to it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from helpdesk.models import Membership, Organization, Role
from tests.conftest import CHROMIUM, login
from tests.factories import TeamFactory, add_team_member
from tests.tickets.factories import make_inbox, make_ticket
from tickets.models import Inbox, Ticket

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

try:  # built by the email helper; the list only cares that a ticket arrives
    from tickets.email.inbound import email_ingest
except ImportError:  # pragma: no cover
    email_ingest = None


def mail_arrives(inbox: Inbox, subject: str, sender: str = "zofia@example.com") -> Ticket:
    """A customer's email creates a ticket, through inbound email when it exists."""
    organization = inbox.organization
    if email_ingest is None:
        return make_ticket(organization, subject=subject, inbox=inbox)
    raw = (
        f"From: Zofia Nowak <{sender}>\r\nTo: {inbox.address}\r\n"
        f"Subject: {subject}\r\nMessage-ID: <{abs(hash(subject))}@example.com>\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\nHello, please help.\r\n"
    ).encode()
    inbound = email_ingest(inbox=inbox, raw=raw)
    assert inbound.state == "processed", inbound.error
    return Ticket.objects.for_organization(organization).get(subject=subject)


@pytest.fixture
def second_page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()


def open_list(page: Any, live_app: Any, query: str = "") -> None:
    page.goto(f"{live_app.url}/app/acme/tickets/{query}")
    page.locator('#ticket-results[data-live="connected"]').wait_for()


def test_two_agents_see_new_and_changed_tickets_without_reloading(
    live_app: Any,
    page: Any,
    second_page: Any,
    org: Organization,
    agent: Membership,
    make_member: Callable[..., Membership],
) -> None:
    assert CHROMIUM
    bea = make_member(org, Role.AGENT, email="bea@acme.example", name="Bea Agent")
    team = TeamFactory(organization=org, name="Support")
    for member in (agent, bea):
        add_team_member(team, member.user)
    inbox = make_inbox(org, team, name="Support mail", address="support@acme.example")
    make_ticket(org, subject="An older question", inbox=inbox)

    alex_page, bea_page = page, second_page
    login(bea_page, live_app, bea.user.email)
    open_list(bea_page, live_app)
    login(alex_page, live_app, agent.user.email)
    open_list(alex_page, live_app)
    # Marks that survive only as long as the page is not reloaded.
    for p in (alex_page, bea_page):
        p.evaluate("window.notReloaded = true")

    ticket = mail_arrives(inbox, "Cracked mirror")

    for p in (bea_page, alex_page):
        row = p.locator(f"#ticket-row-{ticket.pk}")
        row.wait_for()
        assert "Cracked mirror" in row.inner_text()
        assert "Not answered" in row.inner_text()
        # The new ticket is at the top, above the older one.
        first = p.locator("#ticket-rows > tr").first
        assert first.get_attribute("id") == f"ticket-row-{ticket.pk}"
        assert p.evaluate("window.notReloaded") is True

    # Alex takes the ticket with the bulk form; Bea's row changes in place.
    alex_page.locator(f"#ticket-select-{ticket.pk}").check()
    alex_page.get_by_label("Assign to").select_option(label="Alex Agent")
    with alex_page.expect_response(lambda r: r.url.endswith("/tickets/bulk/")):
        alex_page.get_by_role("button", name="Assign", exact=True).click()
    assert "1 ticket updated." in alex_page.locator("#ticket-results").inner_text()

    bea_row = bea_page.locator(f"#ticket-row-{ticket.pk}")
    bea_row.filter(has_text="Alex Agent").wait_for()
    assert bea_page.locator(f"#ticket-row-{ticket.pk}").count() == 1  # replaced, not added
    assert bea_page.evaluate("window.notReloaded") is True


def test_the_filter_bar_narrows_the_list_and_live_rows_keep_to_it(
    live_app: Any, page: Any, org: Organization, agent: Membership
) -> None:
    team = TeamFactory(organization=org, name="Support")
    add_team_member(team, agent.user)
    inbox = make_inbox(org, team, name="Support mail", address="support@acme.example")
    mine = make_ticket(org, subject="Mine to answer", inbox=inbox, assignee=agent.user)
    free = make_ticket(org, subject="Nobody's yet", inbox=inbox)

    login(page, live_app, agent.user.email)
    open_list(page, live_app)
    rows = page.locator("#ticket-rows")
    assert "Mine to answer" in rows.inner_text() and "Nobody's yet" in rows.inner_text()

    # Choosing a filter updates the results and the address, without a full page load.
    page.evaluate("window.notReloaded = true")
    page.get_by_label("Assignee").select_option(label="Unassigned")
    page.wait_for_url("**/tickets/?assignee=unassigned")
    page.locator(f"#ticket-row-{mine.pk}").wait_for(state="detached")
    assert page.locator(f"#ticket-row-{free.pk}").is_visible()
    page.locator('#ticket-results[data-live="connected"]').wait_for()
    assert page.evaluate("window.notReloaded") is True

    # A new unassigned ticket matches and appears; one assigned to someone does not.
    assigned = make_ticket(org, subject="Already taken", inbox=inbox, assignee=agent.user)
    arrived = mail_arrives(inbox, "Where is my parcel")
    page.locator(f"#ticket-row-{arrived.pk}").wait_for()
    assert page.locator(f"#ticket-row-{assigned.pk}").count() == 0

    # Search narrows further; the address keeps both filters.
    page.get_by_label("Search").fill("parcel")
    page.wait_for_url("**/tickets/?assignee=unassigned&q=parcel")
    page.locator(f"#ticket-row-{free.pk}").wait_for(state="detached")
    assert page.locator(f"#ticket-row-{arrived.pk}").is_visible()

    # The back button brings the previous filters back.
    page.go_back()
    page.wait_for_url("**/tickets/?assignee=unassigned")
    page.locator(f"#ticket-row-{free.pk}").wait_for()

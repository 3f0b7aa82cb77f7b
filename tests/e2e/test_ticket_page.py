"""Browser: an agent opens a ticket, replies (with a canned response), adds a note, tags it and
sets a status, all showing up on the timeline; with htmx and without JavaScript. Hostile
content on the page never runs."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.base import ContentFile

from helpdesk.models import Membership, Organization
from tests.conftest import login
from tests.factories import CustomerFactory, TeamFactory, add_customer_email, add_team_member
from tests.tickets.factories import make_ticket
from tickets.models import Attachment, CannedResponse, Message, Ticket

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

EVIL = '<script>alert("xss")</script><img src=x onerror=alert("img")>'


@pytest.fixture
def ticket(org: Organization, agent: Membership) -> Ticket:
    team = TeamFactory(organization=org, name="Returns", display_name="Returns desk")
    add_team_member(team, agent.user)
    customer = CustomerFactory(organization=org, name="Cora Customer")
    add_customer_email(customer, "cora@example.com")
    CannedResponse.objects.create(
        organization=org, title="Greeting", body="Hello {customer_name}!", team=team
    )
    return make_ticket(org, subject="Broken mirror", customer=customer, team=team)


def test_agent_replies_notes_tags_and_sets_a_status(
    live_app: Any, page: Any, agent: Membership, ticket: Ticket
) -> None:
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    login(page, live_app, agent.user.email)
    page.goto(f"{live_app.url}/app/acme/tickets/")
    with page.expect_navigation():
        page.get_by_role("link", name="Broken mirror").click()
    assert page.url == f"{live_app.url}/app/acme/tickets/{ticket.number}/"
    assert page.get_by_role("heading", name=f"#{ticket.number} Broken mirror").is_visible()
    timeline = page.locator("#timeline")
    assert "Hello, my mirror is broken." in timeline.inner_text()

    # A canned response goes into the reply box, after what was typed.
    reply_box = page.get_by_label("Your reply")
    reply_box.fill("Thanks for writing.")
    page.get_by_text("Insert a canned response").click()
    page.get_by_role("link", name="Greeting").click()
    page.wait_for_function(
        "document.getElementById('reply-body').value.includes('Hello Cora Customer!')"
    )
    assert page.get_by_label("Your reply").input_value() == (
        "Thanks for writing.\n\nHello Cora Customer!"
    )

    # Reply: htmx swaps the timeline in place (no navigation).
    page.get_by_role("button", name="Send reply").click()
    reply = timeline.locator("li.entry", has_text="Hello Cora Customer!")
    reply.wait_for()
    assert reply.locator("[data-delivery]").count() == 1
    assert page.get_by_label("Your reply").input_value() == ""
    assert page.locator("#ticket-status").inner_text() == "Open"

    # Internal note.
    page.get_by_label("Note", exact=True).fill("Customer is a VIP.")
    page.get_by_role("button", name="Add note").click()
    note = timeline.locator("li.entry-note", has_text="Customer is a VIP.")
    note.wait_for()
    assert "Internal note" in note.inner_text()

    # Tag.
    page.get_by_label("Add a tag").fill("refund")
    page.get_by_role("button", name="Add", exact=True).click()
    timeline.get_by_text("Tag refund added").wait_for()
    assert page.locator("#ticket-tags").get_by_text("refund").is_visible()

    # Status.
    page.get_by_label("Status").select_option("solved")
    page.get_by_role("button", name="Save Status").click()
    timeline.get_by_text("Status set to Solved").wait_for()
    assert page.locator("#ticket-status").inner_text() == "Solved"

    # Everything is still there after a reload, in order.
    page.reload()
    text = page.locator("#timeline").inner_text()
    order = [
        text.index(s)
        for s in (
            "Hello Cora Customer!",
            "Customer is a VIP.",
            "Tag refund added",
            "Status set to Solved",
        )
    ]
    assert order == sorted(order)
    assert Message.objects.filter(ticket=ticket, kind="note").count() == 1
    assert dialogs == []


def test_the_same_flow_works_without_javascript(
    live_app: Any, browser: Any, agent: Membership, ticket: Ticket
) -> None:
    context = browser.new_context(java_script_enabled=False, locale="en-US")
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        login(page, live_app, agent.user.email)
        page.goto(f"{live_app.url}/app/acme/tickets/{ticket.number}/")
        page.get_by_text("Insert a canned response").click()
        with page.expect_navigation():
            page.get_by_role("link", name="Greeting").click()
        assert page.get_by_label("Your reply").input_value() == "Hello Cora Customer!"
        with page.expect_navigation():
            page.get_by_role("button", name="Send reply").click()
        assert "Reply queued for sending." in page.locator(".messages").inner_text()
        page.get_by_label("Note", exact=True).fill("No JS note")
        with page.expect_navigation():
            page.get_by_role("button", name="Add note").click()
        page.get_by_label("Add a tag").fill("nojs")
        with page.expect_navigation():
            page.get_by_role("button", name="Add", exact=True).click()
        page.get_by_label("Status").select_option("pending")
        with page.expect_navigation():
            page.get_by_role("button", name="Save Status").click()
        text = page.locator("#timeline").inner_text()
        for expected in (
            "Hello Cora Customer!",
            "No JS note",
            "Tag nojs added",
            "Status set to Pending",
        ):
            assert expected in text
        assert page.url.endswith(f"/tickets/{ticket.number}/")
    finally:
        context.close()


def test_hostile_content_never_runs(
    live_app: Any, page: Any, org: Organization, agent: Membership, ticket: Ticket
) -> None:
    customer = CustomerFactory(organization=org, name=EVIL)
    evil = make_ticket(org, subject=EVIL, customer=customer, team=ticket.team, body=EVIL)
    message = evil.messages.get()
    Message.objects.filter(pk=message.pk, organization=org).update(
        body_html=f"<p>html {EVIL}</p><a href=\"javascript:alert('a')\">click</a>"
    )
    attachment = Attachment(
        organization=org, message=message, filename=f"{EVIL}.txt", content_type="text/html", size=2
    )
    attachment.file.save("x", ContentFile(b"hi"), save=True)
    make_ticket(org, subject=EVIL, customer=customer, team=ticket.team)  # on the customer card
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))

    login(page, live_app, agent.user.email)
    page.goto(f"{live_app.url}/app/acme/tickets/{evil.number}/")
    page.locator("#timeline").get_by_text("click", exact=True).click()  # no href is left
    # The subject is shown as text, so the browser sees the characters, not elements.
    assert EVIL in page.locator("h1").inner_text()
    assert page.locator("#timeline script").count() == 0
    assert page.locator("main img").count() == 0
    page.wait_for_timeout(300)
    assert dialogs == []

"""A manager builds the seed's example workflow in a real browser, tests it against recent
tickets, saves it and toggles it; and uses templates from the gallery."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from automations.models import Outcome, Workflow, WorkflowRun
from automations.tasks import scan_time_workflows_task
from helpdesk.models import Membership
from tests.conftest import login
from tests.factories import CustomerFactory, add_customer_email
from tests.tickets.factories import make_ticket
from tickets.models import Message, MessageKind, Ticket

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def ready(page: Any, element_id: str) -> None:
    """Waits until htmx has taken charge of a control it just drew (a person is never fast
    enough to change it before that; a test is)."""
    page.wait_for_function(
        "id => { const e = document.getElementById(id);"
        " return !!(e && e['htmx-internal-data'] && e['htmx-internal-data'].initHash); }",
        arg=element_id,
    )


def build_reminder(page: Any, url: str, slug: str) -> None:
    """The seed's example, picked in the builder: reply status is not answered AND ticket
    created more than 24 hours ago → send a reminder."""
    page.goto(f"{url}/app/{slug}/manage/")
    page.get_by_role("link", name="Workflows").click()
    page.get_by_role("link", name="Add workflow").click()
    page.get_by_label("Name", exact=True).fill("Unanswered for a day")
    page.get_by_label("Description").fill("Remind the customer we have not forgotten them")

    # Condition 1: reply status is not answered (the operator and value appear with htmx).
    page.get_by_label("Condition 1", exact=True).select_option(label="Reply status")
    page.get_by_label("Value of condition 1").select_option(label="Not answered")
    assert page.get_by_label("Comparison of condition 1").input_value() == "is"

    # Condition 2: ticket created more than 24 hours ago.
    page.get_by_role("button", name="Add condition", exact=True).click()
    ready(page, "id_c-all-1-field")
    page.get_by_label("Condition 2", exact=True).select_option(label="Ticket created")
    page.get_by_label("Comparison of condition 2").select_option(label="more than")
    page.get_by_label("Hours of condition 2").fill("24")
    # What was chosen in condition 1 survived the redraw of the conditions.
    assert page.get_by_label("Value of condition 1").input_value() == "not_answered"

    # The action: send a reminder.
    page.get_by_label("Action 1", exact=True).select_option(label="Send message")
    page.get_by_label("Message of action 1").fill(
        "Hello {customer_name}, we have not forgotten your question."
    )


def test_manager_builds_tests_saves_and_toggles_the_reminder(
    live_app: Any, page: Any, manager: Membership
) -> None:
    org = manager.organization
    old = make_ticket(org, subject="Waiting since yesterday")
    Ticket.objects.for_organization(org).filter(pk=old.pk).update(
        created_at=timezone.now() - timedelta(hours=30)
    )
    fresh = make_ticket(org, subject="Just arrived")
    messages_before = Message.objects.for_organization(org).count()
    login(page, live_app, manager.user.email)

    build_reminder(page, live_app.url, org.slug)

    # Test against recent tickets: the old ticket would match, the fresh one not; nothing sent.
    page.get_by_role("button", name="Test against recent tickets").click()
    matches = page.locator("#dry-run-matches")
    matches.wait_for()
    assert f"#{old.number} Waiting since yesterday" in matches.inner_text()
    assert "Just arrived" not in matches.inner_text()
    assert "would send" in matches.inner_text()
    page.get_by_text("Tickets that would not match, and why").click()
    assert f"#{fresh.number} Just arrived" in page.locator("#dry-run details").inner_text()
    assert Message.objects.for_organization(org).count() == messages_before
    assert page.get_by_label("Name", exact=True).input_value() == "Unanswered for a day"

    with page.expect_navigation():
        page.get_by_role("button", name="Add workflow").click()
    workflow = Workflow.objects.for_organization(org).get()
    assert workflow.trigger == "time" and not workflow.enabled
    assert workflow.conditions["all"] == [
        {"field": "reply_status", "op": "is", "value": "not_answered"},
        {"field": "ticket_created", "op": "more_than", "value": 24},
    ]
    assert workflow.actions[0]["type"] == "send_message"

    # The list: a red "No", toggled to a green "Yes" and back without leaving the page.
    row = page.locator(f"#workflow-{workflow.pk}")
    assert "Unanswered for a day" in row.inner_text()
    row.locator("button.tag.no").click()
    row.locator("button.tag.yes").wait_for()
    workflow.refresh_from_db()
    assert workflow.enabled
    row.locator("button.tag.yes").click()
    row.locator("button.tag.no").wait_for()
    workflow.refresh_from_db()
    assert not workflow.enabled

    # The live search narrows the list.
    page.get_by_label("Search by name or description").fill("nothing like it")
    page.get_by_text("No workflow matches").wait_for()
    page.get_by_label("Search by name or description").fill("unanswered")
    row.wait_for()


def test_manager_uses_templates_as_they_are_and_edited(
    live_app: Any, page: Any, manager: Membership
) -> None:
    org = manager.organization
    login(page, live_app, manager.user.email)
    page.goto(f"{live_app.url}/app/{org.slug}/manage/workflows/")
    page.get_by_role("link", name="Templates").click()
    assert page.locator(".template-card").count() >= 8

    with page.expect_navigation():
        page.get_by_role("button", name="Use as is — Acknowledge the first message").click()
    first = Workflow.objects.for_organization(org).get()
    assert first.enabled and first.template_key == "first_message"
    page.locator(f"#workflow-{first.pk} button.tag.yes").wait_for()

    page.get_by_role("link", name="Templates").click()
    page.get_by_role("link", name="Edit before adding — Tag and prioritise VIP senders").click()
    assert page.get_by_label("Name", exact=True).input_value() == "Tag and prioritise VIP senders"
    page.get_by_label("Value of condition 1").fill("boss@bigclient.example, ceo@bigclient.example")
    page.get_by_label("Enabled").check()
    with page.expect_navigation():
        page.get_by_role("button", name="Add workflow").click()
    vip = Workflow.objects.for_organization(org).get(template_key="vip_senders")
    assert vip.enabled
    assert vip.conditions["all"][0]["value"] == ["boss@bigclient.example", "ceo@bigclient.example"]
    assert [a["type"] for a in vip.actions] == ["assign_tag", "set_priority"]


@pytest.mark.worker
def test_the_reminder_acts_through_the_worker_and_shows_on_the_ticket(
    live_app: Any, page: Any, manager: Membership, celery_worker: Any, real_celery: None
) -> None:
    """Done when: built in the browser, it acts on a real ticket through the real worker (the
    beat scan's task), and the run shows on the ticket and in the run log."""
    org = manager.organization
    customer = CustomerFactory(organization=org, name="Olga")
    add_customer_email(customer, "olga@example.com")
    old = make_ticket(org, subject="Waiting since yesterday", customer=customer)
    Ticket.objects.for_organization(org).filter(pk=old.pk).update(
        created_at=timezone.now() - timedelta(hours=30)
    )
    login(page, live_app, manager.user.email)
    build_reminder(page, live_app.url, org.slug)
    page.get_by_label("Enabled").check()
    with page.expect_navigation():
        page.get_by_role("button", name="Add workflow").click()
    workflow = Workflow.objects.for_organization(org).get()
    assert workflow.enabled

    scan_time_workflows_task.delay()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        run = WorkflowRun.objects.for_organization(org).filter(workflow=workflow).first()
        if run is not None and run.outcome != Outcome.SKIPPED:
            break
        time.sleep(0.2)
    assert run is not None and run.outcome == Outcome.DONE, run and run.actions
    sent = Message.objects.for_organization(org).get(ticket=old, kind=MessageKind.AUTOMATED)
    assert sent.body_text == "Hello Olga, we have not forgotten your question."

    page.goto(f"{live_app.url}/app/{org.slug}/tickets/{old.number}/")
    timeline = page.locator("main").inner_text()
    assert "we have not forgotten your question" in timeline
    assert "Unanswered for a day" in timeline

    page.goto(f"{live_app.url}/app/{org.slug}/manage/workflows/{workflow.pk}/runs/")
    row = page.locator(f"#run-{run.pk}")
    assert f"#{old.number} Waiting since yesterday" in row.inner_text()
    assert "Done" in row.inner_text() and "sent" in row.inner_text()

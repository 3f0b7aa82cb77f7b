"""A manager sets up an inbox and a tag in a real browser."""

from __future__ import annotations

from typing import Any

import pytest

from helpdesk.models import Membership
from tests.conftest import login
from tests.factories import TeamFactory
from tickets.models import Inbox, Tag

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_manager_creates_an_inbox_and_a_tag(
    live_app: Any, page: Any, manager: Membership, settings: Any
) -> None:
    settings.SITE_URL = live_app.url
    org = manager.organization
    TeamFactory(organization=org, name="Returns")
    TeamFactory(organization=org, name="Service")
    login(page, live_app, manager.user.email)

    page.goto(f"{live_app.url}/app/{org.slug}/manage/")
    page.get_by_role("link", name="Inboxes").click()
    page.get_by_role("link", name="Add inbox").click()
    page.get_by_label("Name:").fill("Contact form")
    page.get_by_label("Team:").select_option(label="Service")
    page.get_by_label("Channel:").select_option(label="Web form")
    with page.expect_navigation():
        page.get_by_role("button", name="Add inbox").click()

    inbox = Inbox.objects.for_organization(org).get()
    assert inbox.team.name == "Service" and inbox.channel == "web_form" and inbox.active
    assert page.get_by_text("Inbox Contact form added.").is_visible()
    connect = page.locator("#inbox-connect")
    assert f"/forms/{inbox.secret}/" in connect.locator("#form-url").inner_text()
    assert f"/api/v1/forms/{inbox.secret}/tickets/" in connect.inner_text()

    # The public form it points to opens.
    page.locator("#form-url").click()
    page.get_by_role("button", name="Send").wait_for()

    page.goto(f"{live_app.url}/app/{org.slug}/manage/")
    page.get_by_role("link", name="Tags").click()
    page.get_by_role("link", name="Add tag").click()
    page.get_by_label("Name:").fill("VIP customer")
    with page.expect_navigation():
        page.get_by_role("button", name="Add tag").click()

    assert page.get_by_text("Tag VIP customer added.").is_visible()
    tag = Tag.objects.for_organization(org).get()
    assert page.locator(f"#tag-{tag.pk}").inner_text().startswith("VIP customer")

"""The first flow in a real browser: log in, switch to Polish and see Polish, create a team,
add a ring schedule, and see the team go from "after hours" to "in hours"."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import translation

from helpdesk.models import Membership, Schedule, Team
from tests.conftest import login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def pl(text: str) -> str:
    with translation.override("pl"):
        return translation.gettext(text)


def test_first_flow_in_polish(live_app: Any, page: Any, manager: Membership) -> None:
    # The Polish catalog really translates what this flow looks at.
    for text in ("Tickets", "Manage", "Teams", "New team", "After hours", "In hours"):
        assert pl(text) != text, text

    login(page, live_app, manager.user.email)
    nav = page.get_by_role("navigation", name="Main")
    assert nav.get_by_role("link", name="Tickets", exact=True).is_visible()

    # Switch the language with the switcher in the top bar.
    with page.expect_navigation():
        page.get_by_label("Language").select_option("pl")
    assert page.url == f"{live_app.url}/app/acme/"
    assert page.locator("html").get_attribute("lang") == "pl"
    nav = page.get_by_role("navigation", name=pl("Main"))
    assert nav.get_by_role("link", name=pl("Tickets"), exact=True).is_visible()
    assert page.get_by_role("heading", name=pl("Teams right now")).is_visible()

    # Create a team from Manage.
    nav.get_by_role("link", name=pl("Manage"), exact=True).click()
    page.get_by_role("link", name=pl("Teams")).first.click()
    page.get_by_role("link", name=pl("New team")).click()
    page.locator("#id_name").fill("Zwroty")
    page.locator("#id_display_name").fill("Dział zwrotów")
    with page.expect_navigation():
        page.get_by_role("button", name=pl("Create team")).click()
    team = Team.objects.get(organization=manager.organization, name="Zwroty")

    # With no schedule the team is after hours.
    page.goto(f"{live_app.url}/app/acme/manage/teams/")
    row = page.locator(f"#team-{team.pk}")
    assert pl("After hours") in row.inner_text()

    # Add a schedule that covers every day, all day.
    row.locator(f'a[href$="/teams/{team.pk}/schedules/"]').click()
    state = page.locator("#team-state")
    assert pl("After hours") in state.inner_text()
    page.get_by_role("link", name=pl("New schedule")).click()
    page.locator("#id_name").fill("Zawsze otwarte")
    page.locator("#id_starts_on").fill("2020-01-01")
    for row_number in range(7):
        page.locator(f"#id_ranges-{row_number}-weekday").select_option(str(row_number))
        page.locator(f"#id_ranges-{row_number}-start_time").fill("00:00")
        page.locator(f"#id_ranges-{row_number}-end_time").fill("00:00")
    page.get_by_role("button", name=pl("Create schedule")).click()
    page.wait_for_url(f"{live_app.url}/app/acme/manage/teams/{team.pk}/schedules/")
    assert Schedule.objects.filter(team=team, name="Zawsze otwarte").exists()

    # Now the team is in hours, on its schedule page, the team list and the dashboard.
    assert pl("In hours") in page.locator("#team-state").inner_text()
    page.goto(f"{live_app.url}/app/acme/manage/teams/")
    assert pl("In hours") in page.locator(f"#team-{team.pk}").inner_text()
    page.goto(f"{live_app.url}/app/acme/")
    assert pl("In hours") in page.get_by_text("Zwroty").locator("..").inner_text()

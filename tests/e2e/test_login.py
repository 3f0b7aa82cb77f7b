"""Browser: signing in, the navigation, and roles, in Chromium against the live ASGI server."""

import pytest

from tests.conftest import login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_manager_logs_in_and_sees_the_navigation(live_app, page, manager) -> None:  # type: ignore[no-untyped-def]
    login(page, live_app, "manager@acme.example")
    assert page.url == f"{live_app.url}/app/acme/"
    nav = page.get_by_role("navigation", name="Main")
    for label in ("Tickets", "Chat", "Calls", "Customers", "Manage"):
        assert nav.get_by_role("link", name=label).is_visible()
    nav.get_by_role("link", name="Manage").click()
    assert page.get_by_role("heading", name="Manage").is_visible()


def test_agent_has_no_manage_link(live_app, page, agent) -> None:  # type: ignore[no-untyped-def]
    login(page, live_app, "agent@acme.example")
    nav = page.get_by_role("navigation", name="Main")
    assert nav.get_by_role("link", name="Tickets").is_visible()
    assert nav.get_by_role("link", name="Manage").count() == 0


def test_wrong_password_shows_an_error(live_app, page, manager) -> None:  # type: ignore[no-untyped-def]
    login(page, live_app, "manager@acme.example", password="nope")
    assert page.get_by_role("alert").is_visible()
    assert "/accounts/login/" in page.url


def test_phone_screen_menu_opens(live_app, browser, manager) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    try:
        login(page, live_app, "manager@acme.example")
        nav_link = page.get_by_role("navigation", name="Main").get_by_role("link", name="Customers")
        assert not nav_link.is_visible()
        page.get_by_role("button", name="Menu").click()
        assert nav_link.is_visible()
    finally:
        context.close()

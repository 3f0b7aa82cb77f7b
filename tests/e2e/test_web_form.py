"""A visitor sends the public web form in a real browser, directly and embedded in another
site, and gets a ticket number; the ticket holds their message."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from helpdesk.models import Organization
from tests.factories import TeamFactory
from tests.tickets.factories import make_inbox
from tickets.models import Channel, Inbox, Ticket

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _own_cache(settings: Any) -> None:
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"e2e-web-form-{uuid.uuid4()}",
        }
    }


@pytest.fixture
def inbox(org: Organization) -> Inbox:
    org.company_name = "Acme Furniture"
    org.save()
    team = TeamFactory(organization=org, name="Service", display_name="Customer care")
    return make_inbox(org, team, name="Contact form", channel=Channel.WEB_FORM, address="")


def fill_in(form: Any) -> None:
    form.get_by_label("Your name").fill("Jane <b>Doe</b>")
    form.get_by_label("Email address").fill("jane@example.com")
    form.get_by_label("Phone number (optional)").fill("+1 415 555 2671")
    form.get_by_label("Subject").fill("Broken mirror")
    form.get_by_label("Message").fill("The mirror I ordered arrived broken.")


def test_a_visitor_sends_the_form_and_gets_a_ticket_number(
    live_app: Any, page: Any, inbox: Inbox, org: Organization
) -> None:
    page.goto(f"{live_app.url}/forms/{inbox.secret}/")
    assert page.get_by_text("Acme Furniture").first.is_visible()
    assert page.get_by_text("Customer care").is_visible()
    # The honeypot is neither visible nor in the accessibility tree.
    assert not page.locator("#id_website").is_visible() or (
        page.locator("#id_website").bounding_box()["x"] < -1000
    )
    assert page.get_by_role("textbox", name="Leave this field empty").count() == 0

    fill_in(page)
    page.wait_for_timeout(2100)  # a person takes longer than the 2 s a bot needs
    with page.expect_navigation():
        page.get_by_role("button", name="Send").click()

    number = page.locator("#ticket-number").inner_text()
    assert page.get_by_role("heading", name="Thank you, Jane <b>Doe</b>!").is_visible()
    ticket = Ticket.objects.for_organization(org).get()
    assert number == f"#{ticket.number}"
    assert (ticket.source, ticket.subject, ticket.inbox_id) == (
        "web_form",
        "Broken mirror",
        inbox.pk,
    )
    assert ticket.messages.get().body_text == "The mirror I ordered arrived broken."
    assert ticket.customer is not None and ticket.customer.name == "Jane <b>Doe</b>"


@pytest.fixture
def shop_site() -> Iterator[Callable[[str], str]]:
    """Another site on this machine (``localhost`` is another site than ``127.0.0.1``) that
    serves one page; Chromium lets local pages frame local pages only."""
    pages: dict[str, bytes] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = pages.get(self.path, b"")
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def publish(html: str) -> str:
        pages["/contact"] = html.encode()
        return f"http://localhost:{server.server_address[1]}/contact"

    try:
        yield publish
    finally:
        server.shutdown()
        thread.join(timeout=5)


def test_the_form_works_embedded_in_another_site(
    live_app: Any,
    page: Any,
    inbox: Inbox,
    org: Organization,
    shop_site: Callable[[str], str],
) -> None:
    """The embed snippet's iframe on the business's own site: framing is allowed, and no
    cookie or CSRF token is needed."""
    shop = shop_site(
        "<!DOCTYPE html><h1>Our shop</h1>"
        f'<iframe src="{live_app.url}/forms/{inbox.secret}/?lang=de" '
        'title="Contact form" style="width:100%;height:60rem"></iframe>'
    )
    page.goto(shop)
    frame = page.frame_locator("iframe[title='Contact form']")
    frame.locator("button[type=submit]").wait_for()
    assert frame.locator("html").get_attribute("lang") == "de"

    frame.locator("#id_name").fill("Hans")
    frame.locator("#id_email").fill("hans@example.com")
    frame.locator("#id_subject").fill("Lieferung")
    frame.locator("#id_message").fill("Wo ist meine Bestellung?")
    page.wait_for_timeout(2100)
    frame.locator("button[type=submit]").click()
    frame.locator("#ticket-number").wait_for()

    ticket = Ticket.objects.for_organization(org).get()
    assert frame.locator("#ticket-number").inner_text() == f"#{ticket.number}"
    assert ticket.customer is not None and ticket.customer.language == "de"

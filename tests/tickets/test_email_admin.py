"""The manager's view of the mail an inbox received: the list (failed mail is reported there),
the raw download, processing a failed mail again."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.factories import TeamFactory
from tests.tickets.emails import sample
from tests.tickets.factories import make_inbox
from tickets.email import inbound as inbound_module
from tickets.email.inbound import email_ingest
from tickets.models import InboundEmail

pytestmark = pytest.mark.django_db


@pytest.fixture
def inbox(org):  # type: ignore[no-untyped-def]
    return make_inbox(org, TeamFactory(organization=org, name="Support"))


def _url(org, inbox, query: str = "") -> str:  # type: ignore[no-untyped-def]
    return f"/app/{org.slug}/manage/inboxes/{inbox.pk}/mail/{query}"


def test_the_list_shows_every_mail_newest_first(org, inbox, manager, client_for) -> None:  # type: ignore[no-untyped-def]
    processed = email_ingest(inbox=inbox, raw=sample("plain"))
    failed = email_ingest(inbox=inbox, raw=sample("garbage"))
    duplicate = email_ingest(inbox=inbox, raw=sample("plain"))
    response = client_for(manager).get(_url(org, inbox))
    assert response.status_code == 200
    html = response.content.decode()
    ids = [f'id="inbound-{row.pk}"' for row in (duplicate, failed, processed)]
    positions = [html.index(marker) for marker in ids]
    assert positions == sorted(positions)
    assert "jan.kowalski@example.com" in html
    assert "Zamówienie 1234 – pęknięte lustro" in html
    assert "The mail has no sender address." in html
    ticket = processed.message.ticket  # type: ignore[union-attr]
    assert f'href="/app/{org.slug}/tickets/{ticket.number}/"' in html
    assert f"/app/{org.slug}/manage/mail/{failed.pk}/raw/" in html
    assert f"/app/{org.slug}/manage/mail/{failed.pk}/retry/" in html
    assert f"/app/{org.slug}/manage/mail/{processed.pk}/retry/" not in html


def test_the_list_filters_by_state(org, inbox, manager, client_for) -> None:  # type: ignore[no-untyped-def]
    processed = email_ingest(inbox=inbox, raw=sample("plain"))
    failed = email_ingest(inbox=inbox, raw=sample("garbage"))
    html = client_for(manager).get(_url(org, inbox, "?state=failed")).content.decode()
    assert f'id="inbound-{failed.pk}"' in html
    assert f'id="inbound-{processed.pk}"' not in html
    # An unknown state shows everything rather than failing.
    html = client_for(manager).get(_url(org, inbox, "?state=bogus")).content.decode()
    assert f'id="inbound-{processed.pk}"' in html


def test_the_list_htmx_fragment(org, inbox, manager, client_for) -> None:  # type: ignore[no-untyped-def]
    email_ingest(inbox=inbox, raw=sample("plain"))
    response = client_for(manager).get(_url(org, inbox), HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="mail-results"')
    assert "<html" not in html


def test_the_list_pages_by_keyset(org, inbox, manager, client_for, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from tickets.views import email_admin

    monkeypatch.setattr(email_admin, "PAGE_SIZE", 2)
    now = timezone.now()
    rows = []
    for minutes in range(5):
        row = email_ingest(inbox=inbox, raw=f"From: a{minutes}@example.com\n\nx\n".encode())
        InboundEmail.objects.for_organization(org).filter(pk=row.pk).update(
            received_at=now - dt.timedelta(minutes=10 - minutes)
        )
        rows.append(row)
    newest_first = list(reversed(rows))
    client = client_for(manager)
    seen: list[int] = []
    url = _url(org, inbox)
    for _page in range(3):
        response = client.get(url)
        page = [row.pk for row in response.context["rows"]]
        seen += page
        nxt = response.context["next_before"]
        if nxt is None:
            break
        url = _url(org, inbox, f"?before={nxt}")
    assert seen == [row.pk for row in newest_first]


def test_the_list_runs_a_constant_number_of_queries(org, inbox, manager, client_for) -> None:  # type: ignore[no-untyped-def]
    client = client_for(manager)
    email_ingest(inbox=inbox, raw=sample("plain"))
    client.get(_url(org, inbox))  # the session's first request does its own bookkeeping
    with CaptureQueriesContext(connection) as one:
        assert client.get(_url(org, inbox)).status_code == 200
    for name in ("charset", "attachments", "html_only", "noreply", "garbage"):
        email_ingest(inbox=inbox, raw=sample(name))
    with CaptureQueriesContext(connection) as many:
        response = client.get(_url(org, inbox))
    assert len(response.context["rows"]) == 6
    assert len(many) == len(one)


def test_agents_cannot_see_the_mail_list_or_raw_mail(org, inbox, agent, client_for) -> None:  # type: ignore[no-untyped-def]
    inbound = email_ingest(inbox=inbox, raw=sample("plain"))
    client = client_for(agent)
    assert client.get(_url(org, inbox)).status_code == 403
    assert client.get(f"/app/{org.slug}/manage/mail/{inbound.pk}/raw/").status_code == 403
    assert client.post(f"/app/{org.slug}/manage/mail/{inbound.pk}/retry/").status_code == 403


def test_the_raw_mail_downloads_as_it_arrived(org, inbox, manager, client_for) -> None:  # type: ignore[no-untyped-def]
    raw = sample("malformed")
    inbound = email_ingest(inbox=inbox, raw=raw)
    response = client_for(manager).get(f"/app/{org.slug}/manage/mail/{inbound.pk}/raw/")
    assert response.status_code == 200
    assert response["Content-Type"] == "message/rfc822"
    assert f'filename="inbound-email-{inbound.pk}.eml"' in response["Content-Disposition"]
    assert b"".join(response.streaming_content) == raw


def test_cannot_access_other_organizations_mail(  # type: ignore[no-untyped-def]
    org, other_org, inbox, outsider, client_for
) -> None:
    inbound = email_ingest(inbox=inbox, raw=sample("garbage"))
    client = client_for(outsider)
    assert client.get(f"/app/{other_org.slug}/manage/inboxes/{inbox.pk}/mail/").status_code == 404
    assert client.get(f"/app/{other_org.slug}/manage/mail/{inbound.pk}/raw/").status_code == 404
    assert client.post(f"/app/{other_org.slug}/manage/mail/{inbound.pk}/retry/").status_code == 404
    inbound.refresh_from_db()
    assert inbound.state == InboundEmail.State.FAILED


def test_a_failed_mail_is_processed_again_from_the_list(  # type: ignore[no-untyped-def]
    org, inbox, manager, client_for, monkeypatch
) -> None:
    original = inbound_module.message_receive
    monkeypatch.setattr(inbound_module, "message_receive", lambda **kwargs: 1 / 0)
    inbound = email_ingest(inbox=inbox, raw=sample("plain"))
    assert inbound.error == "ZeroDivisionError: division by zero"
    client = client_for(manager)

    response = client.post(f"/app/{org.slug}/manage/mail/{inbound.pk}/retry/", follow=True)
    assert "The mail failed again" in response.content.decode()

    monkeypatch.setattr(inbound_module, "message_receive", original)
    response = client.post(f"/app/{org.slug}/manage/mail/{inbound.pk}/retry/")
    assert response.status_code == 302
    assert response["Location"] == _url(org, inbox, "?state=failed")
    inbound.refresh_from_db()
    assert inbound.state == InboundEmail.State.PROCESSED
    assert inbound.message is not None

    response = client.post(f"/app/{org.slug}/manage/mail/{inbound.pk}/retry/", follow=True)
    assert "Only mail that failed can be processed again." in response.content.decode()
    assert client.get(f"/app/{org.slug}/manage/mail/{inbound.pk}/retry/").status_code == 405

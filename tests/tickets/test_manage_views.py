"""Manager screens for inboxes, groups, tags, statuses, ticket types, integrations and canned
responses, through the test client."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from helpdesk.models import Membership, Organization, Team
from tests.factories import TeamFactory, add_team_member
from tests.tickets.factories import make_inbox, make_tag, make_ticket
from tickets.models import (
    CannedResponse,
    Channel,
    CustomStatus,
    CustomTicketType,
    Inbox,
    InboxGroup,
    IntegrationAccount,
    Status,
    Tag,
    Ticket,
)
from tickets.services.tickets import ticket_add_tag, ticket_set_status

pytestmark = pytest.mark.django_db

ClientFor = Callable[[Membership], Client]


def url(name: str, org: Organization, **kwargs: int) -> str:
    return reverse(name, kwargs={"org": org.slug, **kwargs})


@pytest.fixture
def team(org: Organization) -> Team:
    return TeamFactory(organization=org, name="Service", display_name="Acme Service")


MANAGER_SCREENS = [
    "inbox-list",
    "inbox-create",
    "inbox-group-list",
    "inbox-group-create",
    "tag-list",
    "tag-create",
    "custom-status-list",
    "custom-status-create",
    "ticket-type-list",
    "ticket-type-create",
    "integration-list",
    "integration-create",
]


def test_the_manage_index_links_to_every_screen(manager: Membership, client_for: ClientFor) -> None:
    org = manager.organization
    body = client_for(manager).get(url("manage", org)).content.decode()
    for name in (
        "inbox-list",
        "tag-list",
        "custom-status-list",
        "ticket-type-list",
        "integration-list",
        "canned-response-list",
    ):
        assert url(name, org) in body


@pytest.mark.parametrize("name", MANAGER_SCREENS)
def test_managers_see_the_screens(name: str, manager: Membership, client_for: ClientFor) -> None:
    assert client_for(manager).get(url(name, manager.organization)).status_code == 200


@pytest.mark.parametrize("role", ["agent", "viewer"])
def test_agents_and_viewers_are_refused(
    role: str, org: Organization, make_member: Any, client_for: ClientFor, team: Team
) -> None:
    client = client_for(make_member(org, role))
    inbox = make_inbox(org, team)
    tag = make_tag(org, "vip")
    for name in MANAGER_SCREENS:
        assert client.get(url(name, org)).status_code == 403, name
    writes = [
        url("inbox-create", org),
        url("inbox-edit", org, inbox_id=inbox.pk),
        url("inbox-secret", org, inbox_id=inbox.pk),
        url("inbox-delete", org, inbox_id=inbox.pk),
        url("tag-delete", org, tag_id=tag.pk),
    ]
    for path in writes:
        assert client.post(path, {"name": "Hacked"}).status_code == 403, path
    inbox.refresh_from_db()
    assert inbox.name == "Support mail"
    assert Tag.objects.for_organization(org).filter(pk=tag.pk).exists()


def test_canned_responses_are_for_agents_not_viewers(
    agent: Membership, viewer: Membership, client_for: ClientFor
) -> None:
    org = agent.organization
    assert client_for(agent).get(url("canned-response-list", org)).status_code == 200
    assert client_for(viewer).get(url("canned-response-list", org)).status_code == 403
    response = client_for(viewer).post(
        url("canned-response-create", org), {"title": "x", "body": "y"}
    )
    assert response.status_code == 403
    assert not CannedResponse.objects.for_organization(org).exists()


# --- inboxes ------------------------------------------------------------------------------


def test_manager_adds_a_web_form_inbox_and_sees_how_to_connect_it(
    manager: Membership, client_for: ClientFor, team: Team, settings: Any
) -> None:
    settings.SITE_URL = "https://help.example.com/"
    org = manager.organization
    client = client_for(manager)
    assert client.get(url("inbox-create", org)).status_code == 200

    response = client.post(
        url("inbox-create", org),
        {"name": "Contact form", "team": team.pk, "channel": "web_form", "active": "on"},
    )

    inbox = Inbox.objects.for_organization(org).get()
    assert response.status_code == 302
    assert response.url == url("inbox-edit", org, inbox_id=inbox.pk)
    page = client.get(response.url).content.decode()
    form_url = f"https://help.example.com/forms/{inbox.secret}/"
    assert f'href="{form_url}"' in page
    assert f"https://help.example.com/api/v1/forms/{inbox.secret}/tickets/" in page
    assert "curl -X POST" in page
    assert f'&lt;iframe src="{form_url}"' in page
    assert "ingest_email" not in page


def test_an_email_inbox_shows_its_hook_and_pipe_command(
    manager: Membership, client_for: ClientFor, team: Team, settings: Any
) -> None:
    settings.SITE_URL = "https://help.example.com"
    inbox = make_inbox(manager.organization, team)

    page = client_for(manager).get(url("inbox-edit", manager.organization, inbox_id=inbox.pk))

    body = page.content.decode()
    assert f"https://help.example.com/hooks/email/{inbox.secret}/" in body
    assert f"python manage.py ingest_email --inbox {inbox.pk}" in body
    assert url("inbox-mail-list", manager.organization, inbox_id=inbox.pk) in body
    assert "/forms/" not in body


def test_adding_an_inbox_without_teams_says_to_add_one(
    manager: Membership, client_for: ClientFor
) -> None:
    page = client_for(manager).get(url("inbox-create", manager.organization)).content.decode()
    assert "Every inbox belongs to a team: add a team under Manage → Teams first." in page


def test_the_inbox_form_offers_only_the_organizations_choices(
    manager: Membership, client_for: ClientFor, team: Team, other_org: Organization
) -> None:
    org = manager.organization
    their_team = TeamFactory(organization=other_org, name="Their team")
    their_group = InboxGroup.objects.create(organization=other_org, name="Their group")
    their_account = IntegrationAccount.objects.create(
        organization=other_org, name="Their account", kind="integration"
    )
    client = client_for(manager)

    page = client.get(url("inbox-create", org)).content.decode()
    response = client.post(
        url("inbox-create", org),
        {
            "name": "Sneaky",
            "team": their_team.pk,
            "channel": "web_form",
            "group": their_group.pk,
            "integration_account": their_account.pk,
        },
    )

    assert "Their team" not in page and "Their group" not in page and "Their account" not in page
    assert response.status_code == 400
    assert set(response.context["form"].errors) == {"team", "group", "integration_account"}
    assert not Inbox.objects.for_organization(org).exists()


def test_inbox_names_must_be_unique(manager: Membership, client_for: ClientFor, team: Team) -> None:
    org = manager.organization
    make_inbox(org, team, name="Support")

    response = client_for(manager).post(
        url("inbox-create", org), {"name": "support", "team": team.pk, "channel": "web_form"}
    )

    assert response.status_code == 400
    assert response.context["form"].errors["name"] == ["An inbox named “support” already exists."]


def test_editing_an_inbox(manager: Membership, client_for: ClientFor, team: Team) -> None:
    org = manager.organization
    inbox = make_inbox(org, team)
    night = TeamFactory(organization=org, name="Night")

    response = client_for(manager).post(
        url("inbox-edit", org, inbox_id=inbox.pk),
        {"name": "Night mail", "team": night.pk, "channel": "email", "address": "n@acme.example"},
    )

    assert response.status_code == 302
    inbox.refresh_from_db()
    assert (inbox.name, inbox.team, inbox.address, inbox.active) == (
        "Night mail",
        night,
        "n@acme.example",
        False,
    )


def test_regenerating_the_secret(manager: Membership, client_for: ClientFor, team: Team) -> None:
    org = manager.organization
    inbox = make_inbox(org, team, channel=Channel.WEB_FORM)
    old = inbox.secret
    client = client_for(manager)

    assert client.get(url("inbox-secret", org, inbox_id=inbox.pk)).status_code == 405
    response = client.post(url("inbox-secret", org, inbox_id=inbox.pk))

    assert response.status_code == 302
    inbox.refresh_from_db()
    assert inbox.secret != old
    assert client.get(f"/forms/{old}/").status_code == 404
    assert client.get(f"/forms/{inbox.secret}/").status_code == 200


def test_deleting_an_inbox_says_what_happens_and_keeps_tickets(
    manager: Membership, client_for: ClientFor, team: Team
) -> None:
    org = manager.organization
    inbox = make_inbox(org, team)
    ticket = make_ticket(org, inbox=inbox)
    client = client_for(manager)

    page = client.get(url("inbox-delete", org, inbox_id=inbox.pk)).content.decode()
    response = client.post(url("inbox-delete", org, inbox_id=inbox.pk))

    assert "1 ticket came through it; it stays, without an inbox." in page
    assert "This cannot be undone." in page
    assert "Deactivate instead" in page
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.inbox is None
    assert not Inbox.objects.for_organization(org).exists()


def test_the_delete_page_offers_deactivating_instead(
    manager: Membership, client_for: ClientFor, team: Team
) -> None:
    org = manager.organization
    inbox = make_inbox(org, team)

    response = client_for(manager).post(
        url("inbox-delete", org, inbox_id=inbox.pk), {"deactivate": "1"}
    )

    assert response.status_code == 302
    inbox.refresh_from_db()
    assert inbox.active is False


# --- inbox groups, tags, statuses, types, integrations ------------------------------------


def test_inbox_groups(manager: Membership, client_for: ClientFor, team: Team) -> None:
    org = manager.organization
    client = client_for(manager)
    client.post(url("inbox-group-create", org), {"name": "Shops"})
    group = InboxGroup.objects.for_organization(org).get()
    inbox = make_inbox(org, team, group=group)

    edit = client.get(url("inbox-group-edit", org, inbox_group_id=group.pk)).content.decode()
    confirm = client.get(url("inbox-group-delete", org, inbox_group_id=group.pk)).content.decode()
    client.post(url("inbox-group-delete", org, inbox_group_id=group.pk))

    assert "Support mail" in edit
    assert "1 inbox is in it; it stays, in no group." in confirm
    inbox.refresh_from_db()
    assert inbox.group is None


def test_tags_are_managed_and_deleting_says_it_removes_them_from_tickets(
    manager: Membership, client_for: ClientFor
) -> None:
    org = manager.organization
    client = client_for(manager)
    client.post(url("tag-create", org), {"name": "vip", "color": "#ff0000"})
    tag = Tag.objects.for_organization(org).get()
    ticket = make_ticket(org)
    ticket_add_tag(actor=manager, ticket=ticket, tag=tag)

    duplicate = client.post(url("tag-create", org), {"name": "VIP", "color": "#ff0000"})
    client.post(url("tag-edit", org, tag_id=tag.pk), {"name": "gold", "color": "#ffd700"})
    listing = client.get(url("tag-list", org))
    confirm = client.get(url("tag-delete", org, tag_id=tag.pk)).content.decode()
    client.post(url("tag-delete", org, tag_id=tag.pk))

    assert duplicate.status_code == 400
    assert duplicate.context["form"].errors["name"] == ["A tag named “VIP” already exists."]
    assert [(t.name, t.color, t.ticket_count) for t in listing.context["tags"]] == [
        ("gold", "#ffd700", 1)
    ]
    assert "It is removed from the 1 ticket that has it." in confirm
    assert "This cannot be undone." in confirm
    assert not ticket.tags.exists()


def test_deleting_a_status_says_its_tickets_get_the_base_status(
    manager: Membership, client_for: ClientFor
) -> None:
    org = manager.organization
    client = client_for(manager)
    response = client.post(
        url("custom-status-create", org),
        {"name": "Waiting for parts", "base_status": "pending", "position": "1", "active": "on"},
    )
    assert response.status_code == 302
    waiting = CustomStatus.objects.for_organization(org).get()
    ticket = make_ticket(org)
    ticket_set_status(actor=manager, ticket=ticket, status="", custom_status=waiting)

    listing = client.get(url("custom-status-list", org))
    confirm = client.get(url("custom-status-delete", org, custom_status_id=waiting.pk))
    client.post(url("custom-status-delete", org, custom_status_id=waiting.pk))

    assert [(s.name, s.ticket_count) for s in listing.context["statuses"]] == [
        ("Waiting for parts", 1)
    ]
    assert "1 ticket has it; it gets the base status Pending." in confirm.content.decode()
    ticket.refresh_from_db()
    assert (ticket.status, ticket.custom_status) == (Status.PENDING, None)


def test_ticket_types_list_the_built_in_ones_read_only_and_keep_keys(
    manager: Membership, client_for: ClientFor
) -> None:
    org = manager.organization
    client = client_for(manager)
    client.post(
        url("ticket-type-create", org), {"name": "Warranty", "key": "warranty", "active": "on"}
    )
    warranty = CustomTicketType.objects.for_organization(org).get()
    make_ticket(org, ticket_type="warranty")

    listing = client.get(url("ticket-type-list", org))
    client.post(
        url("ticket-type-edit", org, ticket_type_id=warranty.pk),
        {"name": "Guarantee", "key": "hacked", "active": "on"},
    )
    confirm = client.get(url("ticket-type-delete", org, ticket_type_id=warranty.pk))

    rows = {row.key: row for row in listing.context["rows"]}
    assert {"regular", "return", "review", "missed_call", "voicemail", "chat"} <= set(rows)
    assert rows["regular"].custom is None and rows["warranty"].ticket_count == 1
    assert url("ticket-type-edit", org, ticket_type_id=warranty.pk) in listing.content.decode()
    warranty.refresh_from_db()
    assert (warranty.key, warranty.name) == ("warranty", "Guarantee")
    assert "1 ticket has this type; it becomes a regular ticket." in confirm.content.decode()


def test_integration_accounts(manager: Membership, client_for: ClientFor, team: Team) -> None:
    org = manager.organization
    client = client_for(manager)
    client.post(
        url("integration-create", org),
        {"name": "Allegro", "kind": "marketplace", "provider": "Allegro"},
    )
    account = IntegrationAccount.objects.for_organization(org).get()
    make_inbox(org, team, integration_account=account)

    listing = client.get(url("integration-list", org))
    edit = client.post(
        url("integration-edit", org, integration_id=account.pk),
        {"name": "Allegro PL", "kind": "marketplace", "provider": ""},
    )
    client.post(url("integration-delete", org, integration_id=account.pk))

    assert [(a.name, a.inbox_count, a.ticket_count) for a in listing.context["accounts"]] == [
        ("Allegro", 1, 0)
    ]
    assert edit.status_code == 302
    assert not IntegrationAccount.objects.for_organization(org).exists()
    assert Inbox.objects.for_organization(org).get().integration_account is None


# --- canned responses ---------------------------------------------------------------------


def test_agents_manage_only_their_personal_canned_responses(
    org: Organization,
    agent: Membership,
    manager: Membership,
    client_for: ClientFor,
    team: Team,
    make_member: Any,
) -> None:
    add_team_member(team, agent.user)
    shared = CannedResponse.objects.create(organization=org, title="Shared", body="x", team=team)
    colleague = make_member(org, "agent")
    theirs = CannedResponse.objects.create(
        organization=org, title="Theirs", body="x", owner=colleague.user
    )
    client = client_for(agent)

    form = client.get(url("canned-response-create", org))
    created = client.post(
        url("canned-response-create", org),
        {"title": "Mine", "body": "Hi {customer_name}", "team": team.pk},
    )
    listing = client.get(url("canned-response-list", org))

    assert "team" not in form.context["form"].fields
    assert created.status_code == 302
    mine = CannedResponse.objects.for_organization(org).get(title="Mine")
    assert (mine.owner, mine.team) == (agent.user, None)
    rows = {r.title: r.editable for r in listing.context["responses"]}
    assert rows == {"Mine": True, "Shared": False}
    assert (
        client.get(url("canned-response-edit", org, canned_response_id=shared.pk)).status_code
        == 403
    )
    assert (
        client.post(url("canned-response-delete", org, canned_response_id=shared.pk)).status_code
        == 403
    )
    assert (
        client.get(url("canned-response-edit", org, canned_response_id=theirs.pk)).status_code
        == 404
    )
    assert (
        client.post(
            url("canned-response-edit", org, canned_response_id=mine.pk),
            {"title": "Mine!", "body": "Hello"},
        ).status_code
        == 302
    )
    assert CannedResponse.objects.for_organization(org).filter(pk=shared.pk).exists()


def test_managers_share_canned_responses_with_a_team(
    manager: Membership, client_for: ClientFor, team: Team
) -> None:
    org = manager.organization
    client = client_for(manager)

    page = client.get(url("canned-response-create", org)).content.decode()
    bad = client.post(url("canned-response-create", org), {"title": "Hi", "body": "Hi {nme}"})
    response = client.post(
        url("canned-response-create", org),
        {"title": "Welcome", "body": "Hi {customer_name}, {agent_name} here.", "team": team.pk},
    )

    assert "{customer_name}" in page and "{ticket_number}" in page
    assert bad.status_code == 400 and "body" in bad.context["form"].errors
    assert response.status_code == 302
    welcome = CannedResponse.objects.for_organization(org).get()
    assert (welcome.team, welcome.owner) == (team, None)
    confirm = client.get(url("canned-response-delete", org, canned_response_id=welcome.pk))
    assert "Nobody on the team Service can use it any more." in confirm.content.decode()


# --- escaping and query counts ------------------------------------------------------------


def test_lists_escape_names(manager: Membership, client_for: ClientFor, team: Team) -> None:
    org = manager.organization
    evil = "<script>alert(1)</script>"
    make_inbox(org, team, name=evil)
    make_tag(org, evil)
    CustomStatus.objects.create(organization=org, name=evil[:50], base_status="open")
    IntegrationAccount.objects.create(organization=org, name=evil, kind="integration")
    CannedResponse.objects.create(organization=org, title=evil, body=evil, owner=manager.user)
    client = client_for(manager)
    for name in (
        "inbox-list",
        "tag-list",
        "custom-status-list",
        "integration-list",
        "canned-response-list",
    ):
        body = client.get(url(name, org)).content.decode()
        assert "<script>alert(1)" not in body, name
        assert "&lt;script&gt;alert(1)" in body, name


def _add_rows(org: Organization, team: Team, manager: Membership, start: int, count: int) -> None:
    for n in range(start, start + count):
        group = InboxGroup.objects.create(organization=org, name=f"Group {n}")
        account = IntegrationAccount.objects.create(
            organization=org, name=f"Account {n}", kind="integration"
        )
        inbox = make_inbox(
            org,
            team,
            name=f"Inbox {n}",
            group=group,
            integration_account=account,
            address=f"in{n}@acme.example",
        )
        tag = make_tag(org, f"tag {n}")
        status = CustomStatus.objects.create(
            organization=org, name=f"Status {n}", base_status="open"
        )
        CustomTicketType.objects.create(organization=org, key=f"type{n}", name=f"Type {n}")
        ticket = make_ticket(org, inbox=inbox, ticket_type=f"type{n}")
        ticket_add_tag(actor=manager, ticket=ticket, tag=tag)
        ticket_set_status(actor=manager, ticket=ticket, status="", custom_status=status)
        CannedResponse.objects.create(organization=org, title=f"Reply {n}", body="x", team=team)
        CannedResponse.objects.create(
            organization=org, title=f"Mine {n}", body="x", owner=manager.user
        )


@pytest.mark.parametrize(
    "name",
    [
        "inbox-list",
        "inbox-group-list",
        "tag-list",
        "custom-status-list",
        "ticket-type-list",
        "integration-list",
        "canned-response-list",
    ],
)
def test_lists_take_the_same_queries_for_one_row_or_many(
    name: str, manager: Membership, client_for: ClientFor, team: Team
) -> None:
    org = manager.organization
    client = client_for(manager)
    _add_rows(org, team, manager, 0, 1)
    client.get(url(name, org))  # warm up the session and the language
    with CaptureQueriesContext(connection) as one:
        assert client.get(url(name, org)).status_code == 200
    _add_rows(org, team, manager, 1, 4)
    with CaptureQueriesContext(connection) as five:
        response = client.get(url(name, org))
    body = response.content.decode()

    assert len(five) == len(one), [q["sql"] for q in five.captured_queries]
    assert Ticket.objects.for_organization(org).count() == 5
    assert "4" in body  # the last row is there

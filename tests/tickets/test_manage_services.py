"""Services of the manager screens: permissions, tenancy, unique names, and what deleting does
to the tickets that use something."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from helpdesk.models import Membership, Organization, Team
from helpdesk.models.tenancy import TenantQuerySet
from tests.factories import TeamFactory, add_team_member
from tests.tickets.factories import make_inbox, make_tag, make_ticket
from tickets import signals
from tickets.models import (
    CannedResponse,
    Channel,
    CustomStatus,
    CustomTicketType,
    Inbox,
    InboxGroup,
    IntegrationAccount,
    Message,
    MessageKind,
    Status,
    Tag,
    Ticket,
)
from tickets.services import manage as services
from tickets.services.tickets import ticket_add_tag, ticket_set_status, ticket_set_type

pytestmark = pytest.mark.django_db


@pytest.fixture
def team(org: Organization) -> Team:
    return TeamFactory(organization=org, name="Service")


@pytest.fixture
def received() -> Iterator[list[tuple[str, dict[str, Any]]]]:
    calls: list[tuple[str, dict[str, Any]]] = []
    receivers = {}
    for name in ("status_changed", "type_changed", "ticket_changed"):

        def receiver(sender: object, _name: str = name, **kwargs: Any) -> None:
            calls.append((_name, kwargs))

        receivers[name] = receiver
        getattr(signals, name).connect(receiver, weak=False)
    yield calls
    for name, receiver in receivers.items():
        getattr(signals, name).disconnect(receiver)


def errors_of(excinfo: pytest.ExceptionInfo[ValidationError]) -> dict[str, list[str]]:
    return excinfo.value.message_dict


def events_of(ticket: Ticket) -> list[tuple[str, dict[str, str]]]:
    return [
        (m.metadata["event"], m.metadata["params"])
        for m in Message.objects.filter(ticket=ticket, kind=MessageKind.SYSTEM)
    ]


# --- inboxes ------------------------------------------------------------------------------


def test_manager_creates_an_email_inbox(manager: Membership, team: Team) -> None:
    group = services.inbox_group_create(actor=manager, name="Shops")
    account = services.integration_account_create(actor=manager, name="Allegro", kind="marketplace")

    inbox = services.inbox_create(
        actor=manager,
        name="  Support   mail ",
        team=team,
        channel=Channel.EMAIL,
        address="Help@Acme.EXAMPLE",
        group=group,
        integration_account=account,
    )

    inbox.refresh_from_db()
    assert inbox.organization_id == manager.organization_id
    assert (inbox.name, inbox.address, inbox.active) == ("Support mail", "Help@acme.example", True)
    assert (inbox.team, inbox.group, inbox.integration_account) == (team, group, account)
    assert len(inbox.secret) >= 32


def test_inbox_fields_are_validated(manager: Membership, team: Team) -> None:
    with pytest.raises(ValidationError) as excinfo:
        services.inbox_create(actor=manager, name="", team=None, channel="fax", address="")
    assert set(errors_of(excinfo)) == {"name", "team", "channel"}

    with pytest.raises(ValidationError) as excinfo:
        services.inbox_create(actor=manager, name="Mail", team=team, channel=Channel.EMAIL)
    assert errors_of(excinfo) == {"address": ["An email inbox needs its email address."]}

    with pytest.raises(ValidationError) as excinfo:
        services.inbox_create(
            actor=manager, name="Texts", team=team, channel=Channel.SMS, address="12"
        )
    assert errors_of(excinfo) == {"address": ["“12” is not a valid phone number."]}

    texts = services.inbox_create(
        actor=manager, name="Texts", team=team, channel=Channel.SMS, address="(415) 555-2671"
    )
    assert texts.address == "+14155552671"  # read in the organization's country (US)


def test_inbox_refuses_another_organizations_team_group_and_account(
    manager: Membership, team: Team, other_org: Organization
) -> None:
    their_team = TeamFactory(organization=other_org)
    their_group = InboxGroup.objects.create(organization=other_org, name="Theirs")
    their_account = IntegrationAccount.objects.create(
        organization=other_org, name="Theirs", kind="integration"
    )

    with pytest.raises(ValidationError) as excinfo:
        services.inbox_create(
            actor=manager,
            name="Web",
            team=their_team,
            channel=Channel.WEB_FORM,
            group=their_group,
            integration_account=their_account,
        )

    assert set(errors_of(excinfo)) == {"team", "group", "integration_account"}
    assert not Inbox.objects.for_organization(manager.organization).exists()


@pytest.mark.parametrize("role", ["agent", "viewer"])
def test_only_managers_change_inboxes(
    org: Organization, team: Team, make_member: Any, role: str
) -> None:
    actor = make_member(org, role)
    inbox = make_inbox(org, team)

    with pytest.raises(PermissionDenied):
        services.inbox_create(actor=actor, name="Web", team=team, channel=Channel.WEB_FORM)
    with pytest.raises(PermissionDenied):
        services.inbox_regenerate_secret(actor=actor, inbox=inbox)
    with pytest.raises(PermissionDenied):
        services.inbox_delete(actor=actor, inbox=inbox)
    assert Inbox.objects.for_organization(org).count() == 1


def test_a_manager_of_another_organization_cannot_touch_the_inbox(
    team: Team, outsider: Membership
) -> None:
    inbox = make_inbox(team.organization, team)
    with pytest.raises(PermissionDenied):
        services.inbox_delete(actor=outsider, inbox=inbox)
    assert Inbox.objects.for_organization(team.organization).filter(pk=inbox.pk).exists()


def test_inbox_names_are_unique_regardless_of_case(manager: Membership, team: Team) -> None:
    first = make_inbox(manager.organization, team, name="Support")
    other = make_inbox(manager.organization, team, name="Sales", address="sales@acme.example")

    with pytest.raises(ValidationError) as excinfo:
        services.inbox_create(actor=manager, name="SUPPORT", team=team, channel=Channel.WEB_FORM)
    assert errors_of(excinfo) == {"name": ["An inbox named “SUPPORT” already exists."]}

    with pytest.raises(ValidationError):
        services.inbox_update(
            actor=manager,
            inbox=other,
            name="support",
            team=team,
            channel=Channel.EMAIL,
            address="sales@acme.example",
        )
    # Saving an inbox under its own name is fine.
    services.inbox_update(
        actor=manager,
        inbox=first,
        name="Support",
        team=team,
        channel=Channel.EMAIL,
        address="support@acme.example",
        active=False,
    )
    first.refresh_from_db()
    assert first.active is False


def test_a_name_taken_by_a_concurrent_request_is_a_field_error(
    manager: Membership, team: Team, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check before the insert cannot see a row another request is committing; the
    database's constraint then decides, and the clash still reads as a field error."""
    make_inbox(manager.organization, team, name="Support")
    make_tag(manager.organization, "vip")
    monkeypatch.setattr(TenantQuerySet, "exists", lambda self: False)

    with pytest.raises(ValidationError) as inbox_error:
        services.inbox_create(actor=manager, name="Support", team=team, channel=Channel.WEB_FORM)
    with pytest.raises(ValidationError) as tag_error:
        services.tag_create(actor=manager, name="VIP")

    assert errors_of(inbox_error) == {"name": ["An inbox named “Support” already exists."]}
    assert errors_of(tag_error) == {"name": ["A tag named “VIP” already exists."]}


def test_regenerating_the_secret_replaces_it(manager: Membership, team: Team) -> None:
    inbox = make_inbox(manager.organization, team)
    old = inbox.secret

    services.inbox_regenerate_secret(actor=manager, inbox=inbox)

    inbox.refresh_from_db()
    assert inbox.secret != old and len(inbox.secret) >= 32


def test_deleting_an_inbox_keeps_its_tickets(manager: Membership, team: Team) -> None:
    org = manager.organization
    inbox = make_inbox(org, team)
    ticket = make_ticket(org, inbox=inbox)

    unlinked = services.inbox_delete(actor=manager, inbox=inbox)

    assert unlinked == 1
    ticket.refresh_from_db()
    assert ticket.inbox is None and ticket.team == team
    assert ticket.messages.count() == 1
    assert not Inbox.objects.for_organization(org).exists()


# --- inbox groups -------------------------------------------------------------------------


def test_deleting_a_group_keeps_its_inboxes(manager: Membership, team: Team) -> None:
    group = services.inbox_group_create(actor=manager, name="Shops")
    inbox = make_inbox(manager.organization, team, group=group)
    with pytest.raises(ValidationError):
        services.inbox_group_create(actor=manager, name="shops")
    services.inbox_group_update(actor=manager, inbox_group=group, name="Marketplaces")

    assert services.inbox_group_delete(actor=manager, inbox_group=group) == 1

    inbox.refresh_from_db()
    assert inbox.group is None
    assert not InboxGroup.objects.for_organization(manager.organization).exists()


# --- tags ---------------------------------------------------------------------------------


def test_tags_are_created_renamed_and_recoloured(manager: Membership) -> None:
    tag = services.tag_create(actor=manager, name=" Very   important ", color="#AA0011")
    assert (tag.name, tag.color) == ("Very important", "#aa0011")

    with pytest.raises(ValidationError) as excinfo:
        services.tag_update(actor=manager, tag=tag, name="", color="red")
    assert set(errors_of(excinfo)) == {"name", "color"}

    services.tag_update(actor=manager, tag=tag, name="VIP", color="#00ff00")
    tag.refresh_from_db()
    assert (tag.name, tag.color) == ("VIP", "#00ff00")


def test_deleting_a_tag_removes_it_from_tickets(manager: Membership) -> None:
    org = manager.organization
    tag = make_tag(org, "vip")
    keep = make_tag(org, "keep")
    ticket = make_ticket(org)
    ticket_add_tag(actor=manager, ticket=ticket, tag=tag)
    ticket_add_tag(actor=manager, ticket=ticket, tag=keep)

    assert services.tag_delete(actor=manager, tag=tag) == 1

    assert list(ticket.tags.all()) == [keep]
    assert Ticket.objects.for_organization(org).filter(pk=ticket.pk).exists()
    assert not Tag.objects.for_organization(org).filter(name="vip").exists()


# --- custom statuses ----------------------------------------------------------------------


def test_deleting_a_custom_status_gives_its_tickets_the_base_status(
    manager: Membership, received: list[tuple[str, dict[str, Any]]]
) -> None:
    org = manager.organization
    waiting = services.custom_status_create(
        actor=manager, name="Waiting for parts", base_status=Status.PENDING, position=2
    )
    ticket = make_ticket(org)
    other = make_ticket(org)
    ticket_set_status(actor=manager, ticket=ticket, status=Status.PENDING, custom_status=waiting)
    received.clear()

    assert services.custom_status_delete(actor=manager, custom_status=waiting) == 1

    ticket.refresh_from_db()
    assert (ticket.status, ticket.custom_status) == (Status.PENDING, None)
    assert events_of(ticket)[-1] == ("Status set to %(status)s", {"status": "Pending"})
    assert [name for name, kwargs in received] == ["ticket_changed"]
    other.refresh_from_db()
    assert other.status == Status.NEW and len(events_of(other)) == 0
    assert not CustomStatus.objects.for_organization(org).exists()


def test_changing_what_a_status_counts_as_moves_its_tickets(
    manager: Membership, received: list[tuple[str, dict[str, Any]]]
) -> None:
    waiting = services.custom_status_create(
        actor=manager, name="Waiting", base_status=Status.PENDING
    )
    ticket = make_ticket(manager.organization)
    ticket_set_status(actor=manager, ticket=ticket, custom_status=waiting, status="")
    received.clear()

    services.custom_status_update(
        actor=manager,
        custom_status=waiting,
        name="Waiting",
        base_status=Status.OPEN,
        position=0,
        active=True,
    )

    ticket.refresh_from_db()
    assert (ticket.status, ticket.custom_status) == (Status.OPEN, waiting)
    [(_name, kwargs)] = [c for c in received if c[0] == "status_changed"]
    assert (kwargs["old"], kwargs["new"], kwargs["ticket"].pk) == ("pending", "open", ticket.pk)


def test_custom_status_validation_and_unique_names(manager: Membership) -> None:
    services.custom_status_create(actor=manager, name="Waiting", base_status=Status.PENDING)
    with pytest.raises(ValidationError) as excinfo:
        services.custom_status_create(
            actor=manager, name="waiting", base_status="limbo", position=-1
        )
    errors = errors_of(excinfo)
    assert set(errors) == {"base_status", "position"}
    with pytest.raises(ValidationError) as excinfo:
        services.custom_status_create(actor=manager, name="waiting", base_status=Status.OPEN)
    assert errors_of(excinfo) == {"name": ["A status named “waiting” already exists."]}


# --- ticket types -------------------------------------------------------------------------


def test_ticket_type_keys_are_checked(manager: Membership) -> None:
    services.ticket_type_create(actor=manager, key="warranty", name="Warranty")
    cases = {
        "return": "That key belongs to a built-in ticket type.",
        "Warranty": "A ticket type with the key “warranty” already exists.",
        "two words": "Use only letters, digits, hyphens and underscores in the key.",
    }
    for key, message in cases.items():
        with pytest.raises(ValidationError) as excinfo:
            services.ticket_type_create(actor=manager, key=key, name="X")
        assert errors_of(excinfo) == {"key": [message]}


def test_the_key_of_a_ticket_type_cannot_change(manager: Membership) -> None:
    warranty = services.ticket_type_create(actor=manager, key="warranty", name="Warranty")
    services.ticket_type_update(actor=manager, ticket_type=warranty, name="Guarantee", active=False)
    warranty.refresh_from_db()
    assert (warranty.key, warranty.name, warranty.active) == ("warranty", "Guarantee", False)


def test_deleting_a_ticket_type_makes_its_tickets_regular(
    manager: Membership, received: list[tuple[str, dict[str, Any]]]
) -> None:
    org = manager.organization
    warranty = services.ticket_type_create(actor=manager, key="warranty", name="Warranty")
    ticket = make_ticket(org)
    ticket_set_type(actor=manager, ticket=ticket, ticket_type="warranty")
    received.clear()

    assert services.ticket_type_delete(actor=manager, ticket_type=warranty) == 1

    ticket.refresh_from_db()
    assert ticket.ticket_type == "regular"
    assert events_of(ticket)[-1] == ("Type set to %(type)s", {"type": "regular"})
    [(_name, kwargs)] = [c for c in received if c[0] == "type_changed"]
    assert (kwargs["old"], kwargs["new"]) == ("warranty", "regular")
    assert not CustomTicketType.objects.for_organization(org).exists()


# --- integration accounts -----------------------------------------------------------------


def test_deleting_an_integration_account_unlinks_inboxes_and_tickets(
    manager: Membership, team: Team
) -> None:
    org = manager.organization
    account = services.integration_account_create(
        actor=manager, name="Allegro", kind="marketplace", provider="Allegro"
    )
    with pytest.raises(ValidationError) as excinfo:
        services.integration_account_create(actor=manager, name="Shop", kind="nope")
    assert set(errors_of(excinfo)) == {"kind"}
    with pytest.raises(ValidationError) as excinfo:
        services.integration_account_create(actor=manager, name="allegro", kind="integration")
    assert errors_of(excinfo) == {
        "name": ["An integration account named “allegro” already exists."]
    }
    inbox = make_inbox(org, team, integration_account=account)
    ticket = make_ticket(org, inbox=inbox)
    assert ticket.integration_account == account

    assert services.integration_account_delete(actor=manager, integration_account=account) == (
        1,
        1,
    )

    inbox.refresh_from_db()
    ticket.refresh_from_db()
    assert inbox.integration_account is None and ticket.integration_account is None


# --- canned responses ---------------------------------------------------------------------


def test_agents_keep_personal_canned_responses(agent: Membership, team: Team) -> None:
    response = services.canned_response_create(
        actor=agent, title="Hello", body="Hi {customer_name}, this is {agent_name}."
    )
    assert (response.owner, response.team) == (agent.user, None)

    with pytest.raises(PermissionDenied):
        services.canned_response_create(actor=agent, title="Team", body="x", team=team)
    services.canned_response_update(
        actor=agent, canned_response=response, title="Hi", body="Hello {customer_name}"
    )
    response.refresh_from_db()
    assert response.title == "Hi"


def test_agents_cannot_edit_team_or_other_peoples_responses(
    org: Organization, agent: Membership, manager: Membership, make_member: Any, team: Team
) -> None:
    add_team_member(team, agent.user)
    shared = services.canned_response_create(actor=manager, title="Shared", body="x", team=team)
    colleague = make_member(org, "agent")
    theirs = services.canned_response_create(actor=colleague, title="Theirs", body="x")

    for response in (shared, theirs):
        with pytest.raises(PermissionDenied):
            services.canned_response_update(
                actor=agent, canned_response=response, title="Mine", body="x"
            )
        with pytest.raises(PermissionDenied):
            services.canned_response_delete(actor=agent, canned_response=response)
    # Managers edit the teams' responses, and may make one their own.
    services.canned_response_update(
        actor=manager, canned_response=shared, title="Mine now", body="x", team=None
    )
    shared.refresh_from_db()
    assert (shared.owner, shared.team) == (manager.user, None)


def test_viewers_have_no_canned_responses(viewer: Membership) -> None:
    with pytest.raises(PermissionDenied):
        services.canned_response_create(actor=viewer, title="x", body="y")


def test_canned_response_text_and_placeholders_are_checked(
    manager: Membership, other_org: Organization
) -> None:
    with pytest.raises(ValidationError) as excinfo:
        services.canned_response_create(actor=manager, title="", body="Hi {name}")
    assert errors_of(excinfo) == {
        "title": ["Give it a title."],
        "body": [
            "Unknown placeholder {name}. Use {customer_name}, {agent_name}, {team_name} or "
            "{ticket_number}."
        ],
    }
    with pytest.raises(ValidationError) as excinfo:
        services.canned_response_create(
            actor=manager, title="x", body="y", team=TeamFactory(organization=other_org)
        )
    assert set(errors_of(excinfo)) == {"team"}
    assert not CannedResponse.objects.for_organization(manager.organization).exists()

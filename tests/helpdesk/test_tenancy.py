"""Organizations, members, roles, invitations, login, password reset, switching organizations."""

import re

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client

from helpdesk.models import Invitation, Membership, Role, User
from helpdesk.services import tenancy as services

pytestmark = pytest.mark.django_db


# --- the organization comes from the URL ------------------------------------------------


def test_anonymous_users_are_sent_to_login(org) -> None:  # type: ignore[no-untyped-def]
    response = Client().get("/app/acme/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/app/acme/")


def test_a_member_sees_their_organization(admin, client_for) -> None:  # type: ignore[no-untyped-def]
    response = client_for(admin).get("/app/acme/")
    assert response.status_code == 200
    assert response.context["organization"].slug == "acme"
    assert response.context["membership"] == admin


def test_a_non_member_gets_404_for_an_existing_organization(  # type: ignore[no-untyped-def]
    org, outsider, client_for
) -> None:
    assert client_for(outsider).get("/app/acme/").status_code == 404
    assert client_for(outsider).get("/app/acme/manage/").status_code == 404


def test_unknown_organization_is_404(admin, client_for) -> None:  # type: ignore[no-untyped-def]
    assert client_for(admin).get("/app/nope/").status_code == 404


def test_org_home_goes_to_the_only_organization(admin, client_for) -> None:  # type: ignore[no-untyped-def]
    response = client_for(admin).get("/app/")
    assert response.status_code == 302
    assert response["Location"] == "/app/acme/"


def test_switching_organization_remembers_the_last_one(  # type: ignore[no-untyped-def]
    org, other_org, make_member, client_for
) -> None:
    first = make_member(org, Role.AGENT, email="both@example.com")
    make_member(other_org, Role.VIEWER, email="both@example.com")
    client = client_for(first)

    picker = client.get("/app/")
    assert picker.status_code == 200
    assert [m.organization.slug for m in picker.context["memberships"]] == ["acme", "other"]

    dashboard = client.get("/app/other/")
    assert dashboard.status_code == 200
    assert b"Switch organization" in dashboard.content
    assert client.get("/app/")["Location"] == "/app/other/"
    client.get("/app/acme/")
    assert client.get("/app/")["Location"] == "/app/acme/"


# --- roles -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "manage_status", "members_status"),
    [
        (Role.ADMIN, 200, 200),
        (Role.MANAGER, 200, 403),
        (Role.AGENT, 403, 403),
        (Role.VIEWER, 403, 403),
    ],
)
def test_manage_screens_by_role(  # type: ignore[no-untyped-def]
    org, make_member, client_for, role, manage_status, members_status
) -> None:
    client = client_for(make_member(org, role))
    assert client.get("/app/acme/manage/").status_code == manage_status
    assert client.get("/app/acme/manage/members/").status_code == members_status


def test_manage_link_only_for_managers_and_admins(  # type: ignore[no-untyped-def]
    manager, agent, client_for
) -> None:
    assert b'href="/app/acme/manage/"' in client_for(manager).get("/app/acme/").content
    assert b'href="/app/acme/manage/"' not in client_for(agent).get("/app/acme/").content


def test_admin_changes_a_role(admin, agent, client_for) -> None:  # type: ignore[no-untyped-def]
    response = client_for(admin).post(
        f"/app/acme/manage/members/{agent.pk}/role/", {"role": Role.MANAGER}
    )
    assert response.status_code == 302
    agent.refresh_from_db()
    assert agent.role == Role.MANAGER


def test_role_change_via_htmx_returns_the_row(admin, agent, client_for) -> None:  # type: ignore[no-untyped-def]
    response = client_for(admin).post(
        f"/app/acme/manage/members/{agent.pk}/role/",
        {"role": Role.VIEWER},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert response.content.strip().startswith(b"<tr")
    assert b'value="viewer" selected' in response.content


def test_the_last_admin_cannot_be_demoted_or_removed(admin, client_for) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationError):
        services.membership_set_role(actor=admin, membership=admin, role=Role.AGENT)
    with pytest.raises(ValidationError):
        services.membership_remove(actor=admin, membership=admin)
    response = client_for(admin).post(
        f"/app/acme/manage/members/{admin.pk}/role/",
        {"role": Role.AGENT},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 400
    assert b"at least one admin" in response.content
    admin.refresh_from_db()
    assert admin.role == Role.ADMIN


def test_a_manager_cannot_change_roles(manager, agent, client_for) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(PermissionDenied):
        services.membership_set_role(actor=manager, membership=agent, role=Role.ADMIN)
    response = client_for(manager).post(
        f"/app/acme/manage/members/{agent.pk}/role/", {"role": Role.ADMIN}
    )
    assert response.status_code == 403
    agent.refresh_from_db()
    assert agent.role == Role.AGENT


def test_admin_removes_a_member(admin, agent, client_for) -> None:  # type: ignore[no-untyped-def]
    response = client_for(admin).post(f"/app/acme/manage/members/{agent.pk}/remove/")
    assert response.status_code == 302
    assert not Membership.objects.filter(pk=agent.pk, organization=agent.organization).exists()
    # The person keeps their account but loses access.
    assert client_for(agent).get("/app/acme/").status_code == 404


def test_a_member_of_another_org_cannot_be_touched(  # type: ignore[no-untyped-def]
    admin, outsider, client_for
) -> None:
    client = client_for(admin)
    assert (
        client.post(
            f"/app/acme/manage/members/{outsider.pk}/role/", {"role": Role.VIEWER}
        ).status_code
        == 404
    )
    assert client.post(f"/app/acme/manage/members/{outsider.pk}/remove/").status_code == 404
    outsider.refresh_from_db()
    assert outsider.role == Role.ADMIN


# --- invitations -------------------------------------------------------------------------


def _invite_link(message_body: str) -> str:
    match = re.search(r"https?://[^/\s]+(/invite/[^/\s]+/)", message_body)
    assert match, message_body
    return match.group(1)


def test_invite_a_new_person_who_creates_an_account(  # type: ignore[no-untyped-def]
    admin, client_for, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(admin).post(
            "/app/acme/manage/members/invite/", {"email": "New@Example.com", "role": "manager"}
        )
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["new@example.com"]
    link = _invite_link(mail.outbox[0].body)

    visitor = Client()
    page = visitor.get(link)
    assert page.status_code == 200
    assert b"Create your account" in page.content
    response = visitor.post(
        link,
        {
            "name": "Nina New",
            "new_password1": "a-long-Secret-42",
            "new_password2": "a-long-Secret-42",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == "/app/acme/"
    user = User.objects.get(email="new@example.com")
    membership = Membership.objects.get(user=user)
    assert membership.role == Role.MANAGER
    assert membership.organization == admin.organization
    assert visitor.get("/app/acme/").status_code == 200
    # The link is single-use.
    assert Client().get(link).status_code == 404


def test_invite_an_existing_user_who_logs_in_and_accepts(  # type: ignore[no-untyped-def]
    admin, outsider, client_for, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        services.invitation_create(actor=admin, email="admin@other.example", role=Role.AGENT)
    link = _invite_link(mail.outbox[0].body)
    anonymous = Client().get(link)
    assert b"Log in to accept" in anonymous.content

    client = client_for(outsider)
    assert client.get(link).status_code == 200
    response = client.post(link)
    assert response["Location"] == "/app/acme/"
    assert client.get("/app/acme/").status_code == 200
    assert client.get("/app/other/").status_code == 200


def test_an_invitation_cannot_be_used_by_someone_else(  # type: ignore[no-untyped-def]
    admin, outsider, client_for
) -> None:
    invitation = services.invitation_create(actor=admin, email="someone@example.com", role="agent")
    response = client_for(outsider).post(f"/invite/{invitation.token}/")
    assert response.status_code == 403
    assert not Membership.objects.filter(
        user=outsider.user, organization=admin.organization
    ).exists()


def test_inviting_an_existing_member_is_refused(admin, agent, client_for) -> None:  # type: ignore[no-untyped-def]
    response = client_for(admin).post(
        "/app/acme/manage/members/invite/", {"email": "AGENT@acme.example", "role": "agent"}
    )
    assert response.status_code == 400
    assert b"already a member" in response.content
    assert not Invitation.objects.filter(organization=admin.organization).exists()


def test_only_admins_invite(manager, client_for) -> None:  # type: ignore[no-untyped-def]
    response = client_for(manager).post(
        "/app/acme/manage/members/invite/", {"email": "x@example.com", "role": "admin"}
    )
    assert response.status_code == 403
    assert not Invitation.objects.filter(organization=manager.organization).exists()


def test_expired_invitations_are_invalid_and_purged(admin) -> None:  # type: ignore[no-untyped-def]
    import datetime as dt

    from django.utils import timezone

    from helpdesk.tasks import purge_expired_invitations_task

    invitation = services.invitation_create(actor=admin, email="late@example.com", role="agent")
    Invitation.objects.filter(organization=admin.organization).update(
        expires_at=timezone.now() - dt.timedelta(minutes=1)
    )
    assert Client().get(f"/invite/{invitation.token}/").status_code == 404
    assert purge_expired_invitations_task.delay() is not None
    assert not Invitation.objects.filter(organization=admin.organization).exists()


def test_admin_withdraws_an_invitation(admin, client_for) -> None:  # type: ignore[no-untyped-def]
    invitation = services.invitation_create(actor=admin, email="x@example.com", role="agent")
    client_for(admin).post(f"/app/acme/manage/invitations/{invitation.pk}/revoke/")
    assert Client().get(f"/invite/{invitation.token}/").status_code == 404


# --- login, logout, password reset, language ----------------------------------------------


def test_login_and_logout(admin) -> None:  # type: ignore[no-untyped-def]
    client = Client()
    response = client.post("/accounts/login/", {"username": "ADMIN@acme.example", "password": "pw"})
    assert response.status_code == 302
    assert client.get("/app/acme/").status_code == 200
    client.post("/accounts/logout/")
    assert client.get("/app/acme/").status_code == 302


def test_login_with_a_wrong_password_says_so(admin) -> None:  # type: ignore[no-untyped-def]
    response = Client().post(
        "/accounts/login/", {"username": "admin@acme.example", "password": "x"}
    )
    assert response.status_code == 200
    assert b"enter a correct" in response.content


def test_password_reset_by_email(admin) -> None:  # type: ignore[no-untyped-def]
    client = Client()
    client.post("/accounts/password/reset/", {"email": "admin@acme.example"})
    assert len(mail.outbox) == 1
    match = re.search(r"https?://[^/\s]+(/accounts/password/reset/[^\s]+/)", mail.outbox[0].body)
    assert match, mail.outbox[0].body
    confirm = client.get(match.group(1), follow=True)
    assert confirm.status_code == 200
    set_url = confirm.redirect_chain[-1][0]
    response = client.post(
        set_url, {"new_password1": "Brand-new-pass-9", "new_password2": "Brand-new-pass-9"}
    )
    assert response.status_code == 302
    assert Client().login(username="admin@acme.example", password="Brand-new-pass-9")


def test_language_switch_sets_cookie_and_profile(admin, client_for) -> None:  # type: ignore[no-untyped-def]
    client = client_for(admin)
    response = client.post("/language/", {"language": "pl", "next": "/app/acme/"})
    assert response.status_code == 302
    assert response["Location"] == "/app/acme/"
    assert response.cookies["helpdesk_language"].value == "pl"
    admin.user.refresh_from_db()
    assert admin.user.language == "pl"
    page = client.get("/app/acme/")
    assert page.context["LANGUAGE_CODE"] == "pl"


def test_saved_language_applies_on_a_new_device(admin, client_for) -> None:  # type: ignore[no-untyped-def]
    admin.user.language = "de"
    admin.user.save()
    page = client_for(admin).get("/app/acme/")
    assert page.context["LANGUAGE_CODE"] == "de"


def test_language_switch_refuses_foreign_redirects(admin, client_for) -> None:  # type: ignore[no-untyped-def]
    response = client_for(admin).post(
        "/language/", {"language": "fr", "next": "https://evil.example/"}
    )
    assert response["Location"] == "/"


def test_organization_settings_by_admin_only(admin, manager, client_for) -> None:  # type: ignore[no-untyped-def]
    data = {
        "name": "Acme Inc",
        "company_name": "Acme Customer Care",
        "time_zone": "Europe/Berlin",
        "default_language": "de",
        "country": "DE",
    }
    assert client_for(manager).post("/app/acme/manage/organization/", data).status_code == 200
    manager.organization.refresh_from_db()
    assert manager.organization.name == "Acme"
    assert client_for(admin).post("/app/acme/manage/organization/", data).status_code == 302
    admin.organization.refresh_from_db()
    assert admin.organization.name == "Acme Inc"
    assert admin.organization.time_zone == "Europe/Berlin"


def test_organization_rejects_an_unknown_time_zone(admin, client_for) -> None:  # type: ignore[no-untyped-def]
    response = client_for(admin).post(
        "/app/acme/manage/organization/",
        {"name": "Acme", "time_zone": "Mars/Olympus", "default_language": "en-us", "country": "US"},
    )
    assert response.status_code == 200
    assert "Mars/Olympus" in response.content.decode()
    admin.organization.refresh_from_db()
    assert admin.organization.time_zone == "Europe/Warsaw"


def test_removing_a_member_takes_them_off_teams_and_schedule_slots(  # type: ignore[no-untyped-def]
    admin, agent
) -> None:
    from helpdesk.models import ScheduleAdvisor, Slot, TeamMember
    from tests.factories import ScheduleFactory, TeamFactory, add_team_member

    team = TeamFactory(organization=admin.organization)
    add_team_member(team, agent.user)
    schedule = ScheduleFactory(team=team)
    ScheduleAdvisor.objects.create(
        organization=admin.organization, schedule=schedule, user=agent.user, slot=Slot.PRIMARY
    )
    services.membership_remove(actor=admin, membership=agent)
    assert not TeamMember.objects.filter(team=team).exists()
    assert not ScheduleAdvisor.objects.filter(schedule=schedule).exists()


def test_members_page_query_count_is_constant(  # type: ignore[no-untyped-def]
    admin, make_member, client_for, django_assert_max_num_queries
) -> None:
    client = client_for(admin)
    client.get("/app/acme/manage/members/")  # warm the session
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        assert client.get("/app/acme/manage/members/").status_code == 200
    for _ in range(10):
        make_member(admin.organization, Role.AGENT)
    services.invitation_create(actor=admin, email="a@example.com", role=Role.AGENT)
    services.invitation_create(actor=admin, email="b@example.com", role=Role.AGENT)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get("/app/acme/manage/members/")
    assert response.content.count(b'<tr id="member-') == 11

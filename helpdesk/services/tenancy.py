"""Writes for organizations, memberships and invitations."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from helpdesk.models import Invitation, Membership, Organization, Role, Team, User


def organization_create(
    *,
    slug: str,
    name: str,
    company_name: str = "",
    time_zone: str = "UTC",
    default_language: str = "en-us",
    country: str = "US",
    admin: User | None = None,
) -> Organization:
    with transaction.atomic():
        organization = Organization(
            slug=slug,
            name=name,
            company_name=company_name,
            time_zone=time_zone,
            default_language=default_language,
            country=country,
        )
        organization.full_clean()
        organization.save()
        if admin is not None:
            Membership.objects.create(organization=organization, user=admin, role=Role.ADMIN)
    return organization


def organization_update(*, actor: Membership, **fields: object) -> Organization:
    if not actor.is_admin:
        raise PermissionDenied
    organization = actor.organization
    for name, value in fields.items():
        setattr(organization, name, value)
    organization.full_clean()
    organization.save()
    return organization


def _admin_count(organization: Organization) -> int:
    return Membership.objects.for_organization(organization).filter(role=Role.ADMIN).count()


def membership_set_role(*, actor: Membership, membership: Membership, role: str) -> Membership:
    if not actor.is_admin:
        raise PermissionDenied
    if role not in Role.values:
        raise ValidationError(_("Unknown role."))
    with transaction.atomic():
        # Lock the organization's memberships so two admins demoting each other at once cannot
        # leave it with none.
        list(
            Membership.objects.for_organization(actor.organization)
            .filter(role=Role.ADMIN)
            .select_for_update()
        )
        demoting_admin = membership.role == Role.ADMIN and role != Role.ADMIN
        if demoting_admin and _admin_count(actor.organization) <= 1:
            raise ValidationError(_("An organization needs at least one admin."))
        membership.role = role
        membership.save(update_fields=["role"])
    return membership


def membership_set_default_team(
    *, actor: Membership, membership: Membership, team: Team | None
) -> Membership:
    if not actor.can_manage and actor.pk != membership.pk:
        raise PermissionDenied
    if team is not None and team.organization_id != membership.organization_id:
        raise ValidationError(_("That team belongs to another organization."))
    membership.default_team = team
    membership.save(update_fields=["default_team"])
    return membership


def membership_remove(*, actor: Membership, membership: Membership) -> None:
    if not actor.is_admin:
        raise PermissionDenied
    from helpdesk.models import ScheduleAdvisor, TeamMember

    with transaction.atomic():
        list(
            Membership.objects.for_organization(actor.organization)
            .filter(role=Role.ADMIN)
            .select_for_update()
        )
        if membership.role == Role.ADMIN and _admin_count(actor.organization) <= 1:
            raise ValidationError(_("An organization needs at least one admin."))
        for model in (TeamMember, ScheduleAdvisor):
            model.objects.for_organization(actor.organization).filter(user=membership.user).delete()
        membership.delete()


def invitation_create(*, actor: Membership, email: str, role: str) -> Invitation:
    if not actor.is_admin:
        raise PermissionDenied
    email = email.strip().lower()
    if (
        Membership.objects.for_organization(actor.organization)
        .filter(user__email__iexact=email)
        .exists()
    ):
        raise ValidationError(_("%(email)s is already a member.") % {"email": email})
    invitation = Invitation.objects.create(
        organization=actor.organization,
        email=email,
        role=role,
        invited_by=actor.user,
        expires_at=timezone.now() + timedelta(days=settings.INVITATION_TTL_DAYS),
    )
    transaction.on_commit(lambda: invitation_send(invitation=invitation))
    return invitation


def invitation_send(*, invitation: Invitation) -> None:
    organization = invitation.organization
    url = settings.SITE_URL.rstrip("/") + reverse("invitation-accept", args=[invitation.token])
    with translation.override(organization.default_language):
        subject = _("You are invited to %(org)s") % {"org": organization.name}
        body = render_to_string(
            "helpdesk/email/invitation.txt",
            {"invitation": invitation, "organization": organization, "url": url},
        )
    send_mail(subject, body, None, [invitation.email])


def invitation_revoke(*, actor: Membership, invitation: Invitation) -> None:
    if not actor.is_admin:
        raise PermissionDenied
    invitation.delete()


def invitation_accept(*, invitation: Invitation, user: User) -> Membership:
    """Joins ``user`` to the invitation's organization (once; accepting twice is harmless)."""
    if user.email.lower() != invitation.email.lower():
        raise PermissionDenied(_("This invitation was sent to another email address."))
    with transaction.atomic():
        locked = Invitation.all_objects.select_for_update().get(pk=invitation.pk)
        membership, _created = Membership.objects.get_or_create(
            organization=locked.organization, user=user, defaults={"role": locked.role}
        )
        if locked.accepted_at is None:
            locked.accepted_at = timezone.now()
            locked.save(update_fields=["accepted_at"])
    return membership


def invitations_purge_expired() -> int:
    """Platform task: expired, unaccepted invitations of every organization."""
    deleted, _counts = Invitation.all_objects.filter(
        accepted_at__isnull=True, expires_at__lt=timezone.now()
    ).delete()
    return deleted


def user_set_language(*, user: User, language: str) -> None:
    if language not in dict(settings.LANGUAGES):
        raise ValidationError(_("Unknown language."))
    user.language = language
    user.save(update_fields=["language"])

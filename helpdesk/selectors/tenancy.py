"""Reads for organizations, memberships and invitations."""

from __future__ import annotations

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone

from helpdesk.models import Invitation, Membership, User


def membership_for_slug(*, user: User, slug: str) -> Membership | None:
    return (
        Membership.objects.filter(user=user, organization__slug=slug)
        .select_related("organization", "user", "default_team")
        .first()
    )


def membership_list_for_user(*, user: User) -> QuerySet[Membership]:
    return (
        Membership.objects.filter(user=user)
        .select_related("organization")
        .order_by("organization__name")
    )


def membership_list(*, actor: Membership) -> QuerySet[Membership]:
    return (
        Membership.objects.for_organization(actor.organization)
        .select_related("user", "default_team")
        .order_by("user__name", "user__email")
    )


def access_membership(*, actor: Membership, membership_id: int) -> Membership:
    return get_object_or_404(
        Membership.objects.for_organization(actor.organization).select_related("user"),
        pk=membership_id,
    )


def invitation_list_pending(*, actor: Membership) -> QuerySet[Invitation]:
    return Invitation.objects.for_organization(actor.organization).filter(
        accepted_at__isnull=True, expires_at__gt=timezone.now()
    )


def access_invitation(*, actor: Membership, invitation_id: int) -> Invitation:
    return get_object_or_404(
        Invitation.objects.for_organization(actor.organization), pk=invitation_id
    )


def invitation_get_by_token(*, token: str) -> Invitation | None:
    # The token is the capability: 256 random bits, looked up across organizations on purpose.
    return (
        Invitation.all_objects.select_related("organization")
        .filter(token=token, accepted_at__isnull=True, expires_at__gt=timezone.now())
        .first()
    )

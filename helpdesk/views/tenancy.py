"""Organization picker, dashboard, organization settings, members and invitations."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from helpdesk.forms.tenancy import InvitationForm, OrganizationForm, RoleForm, SignupForm
from helpdesk.models import User
from helpdesk.selectors.teams import team_status_list
from helpdesk.selectors.tenancy import (
    access_invitation,
    access_membership,
    invitation_get_by_token,
    invitation_list_pending,
    membership_list,
    membership_list_for_user,
)
from helpdesk.services import tenancy as tenancy_services
from helpdesk.views.base import (
    TenantRequest,
    render_page_or_partial,
    require_admin,
    require_manager,
)


@login_required
def org_home(request: HttpRequest) -> HttpResponse:
    """``/app/``: back to the last organization, straight into the only one, or a picker."""
    assert isinstance(request.user, User)
    memberships = list(membership_list_for_user(user=request.user))
    slugs = {m.organization.slug for m in memberships}
    last = request.session.get("last_org")
    if last in slugs:
        return redirect("dashboard", org=last)
    if len(memberships) == 1:
        return redirect("dashboard", org=memberships[0].organization.slug)
    return render(request, "helpdesk/org_picker.html", {"memberships": memberships})


def dashboard(request: TenantRequest) -> HttpResponse:
    team_statuses = team_status_list(actor=request.membership)
    return render(request, "helpdesk/dashboard.html", {"team_statuses": team_statuses})


@require_manager
def manage_index(request: TenantRequest) -> HttpResponse:
    return render(request, "helpdesk/manage/index.html", {})


@require_manager
@require_http_methods(["GET", "POST"])
def organization_settings(request: TenantRequest) -> HttpResponse:
    actor = request.membership
    form = OrganizationForm(request.POST or None, instance=actor.organization)
    if not actor.is_admin:
        for field in form.fields.values():
            field.disabled = True
    if request.method == "POST" and actor.is_admin and form.is_valid():
        tenancy_services.organization_update(actor=actor, **form.cleaned_data)
        messages.success(request, _("Organization settings saved."))
        return redirect("organization-settings", org=actor.organization.slug)
    return render(request, "helpdesk/manage/organization.html", {"form": form})


def _members_context(request: TenantRequest) -> dict[str, object]:
    actor = request.membership
    return {
        "members": membership_list(actor=actor),
        "invitations": invitation_list_pending(actor=actor),
        "invite_form": InvitationForm(),
        "roles": RoleForm.base_fields["role"].choices,  # type: ignore[attr-defined]
    }


@require_admin
def member_list(request: TenantRequest) -> HttpResponse:
    return render(request, "helpdesk/manage/members.html", _members_context(request))


@require_admin
@require_POST
def member_invite(request: TenantRequest) -> HttpResponse:
    form = InvitationForm(request.POST)
    if form.is_valid():
        try:
            invitation = tenancy_services.invitation_create(
                actor=request.membership,
                email=form.cleaned_data["email"],
                role=form.cleaned_data["role"],
            )
        except ValidationError as error:
            form.add_error("email", error)
        else:
            messages.success(
                request, _("Invitation sent to %(email)s.") % {"email": invitation.email}
            )
            return redirect("member-list", org=request.organization.slug)
    context = _members_context(request)
    context["invite_form"] = form
    return render_page_or_partial(
        request, "helpdesk/manage/members.html", context, partial="invite-form", status=400
    )


@require_admin
@require_POST
def member_set_role(request: TenantRequest, membership_id: int) -> HttpResponse:
    membership = access_membership(actor=request.membership, membership_id=membership_id)
    form = RoleForm(request.POST)
    error = ""
    if form.is_valid():
        try:
            tenancy_services.membership_set_role(
                actor=request.membership, membership=membership, role=form.cleaned_data["role"]
            )
        except ValidationError as exc:
            error = " ".join(exc.messages)
    else:
        error = _("Choose a role.")
    membership.refresh_from_db()
    if request.htmx:
        return render(
            request,
            "helpdesk/manage/members.html#member-row",
            {"member": membership, "roles": RoleForm.base_fields["role"].choices, "error": error},  # type: ignore[attr-defined]
            status=400 if error else 200,
        )
    if error:
        messages.error(request, error)
    else:
        messages.success(request, _("Role changed."))
    return redirect("member-list", org=request.organization.slug)


@require_admin
@require_POST
def member_remove(request: TenantRequest, membership_id: int) -> HttpResponse:
    membership = access_membership(actor=request.membership, membership_id=membership_id)
    try:
        tenancy_services.membership_remove(actor=request.membership, membership=membership)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request, _("%(user)s was removed.") % {"user": membership.user.display_name}
        )
    return redirect("member-list", org=request.organization.slug)


@require_admin
@require_POST
def invitation_revoke(request: TenantRequest, invitation_id: int) -> HttpResponse:
    invitation = access_invitation(actor=request.membership, invitation_id=invitation_id)
    tenancy_services.invitation_revoke(actor=request.membership, invitation=invitation)
    messages.success(request, _("Invitation withdrawn."))
    return redirect("member-list", org=request.organization.slug)


@require_http_methods(["GET", "POST"])
def invitation_accept(request: HttpRequest, token: str) -> HttpResponse:
    invitation = invitation_get_by_token(token=token)
    if invitation is None:
        return render(request, "helpdesk/invitation_invalid.html", status=404)
    organization = invitation.organization
    user = request.user
    if user.is_authenticated:
        assert isinstance(user, User)
        if user.email.lower() != invitation.email.lower():
            return render(
                request,
                "helpdesk/invitation_accept.html",
                {"invitation": invitation, "wrong_user": True},
                status=403,
            )
        if request.method == "POST":
            tenancy_services.invitation_accept(invitation=invitation, user=user)
            messages.success(request, _("Welcome to %(org)s.") % {"org": organization.name})
            return redirect("dashboard", org=organization.slug)
        return render(request, "helpdesk/invitation_accept.html", {"invitation": invitation})
    if User.objects.filter(email__iexact=invitation.email).exists():
        login_url = reverse("login") + "?next=" + request.path
        return render(
            request,
            "helpdesk/invitation_accept.html",
            {"invitation": invitation, "login_url": login_url},
        )
    form = SignupForm(invitation.email, request.POST or None)
    if request.method == "POST" and form.is_valid():
        new_user = User.objects.create_user(
            invitation.email,
            form.cleaned_data["new_password1"],
            name=form.cleaned_data["name"],
            language=organization.default_language,
        )
        tenancy_services.invitation_accept(invitation=invitation, user=new_user)
        login(request, new_user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, _("Welcome to %(org)s.") % {"org": organization.name})
        return redirect("dashboard", org=organization.slug)
    return render(
        request, "helpdesk/invitation_accept.html", {"invitation": invitation, "form": form}
    )

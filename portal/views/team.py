"""Team page: invite by email, change roles, remove teammates, revoke invitations."""

from __future__ import annotations

from django.contrib import messages
from django.core.mail import send_mail
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_POST

from accounts.models import User
from accounts.permissions import Permission, role_has
from accounts.selectors import invitation_get, invitation_list_pending, member_get, member_list, team_seats_in_use
from accounts.services import IssuedInvitation, invitation_create, invitation_revoke, member_change_role, member_remove
from billing.entitlements import entitlements_for
from billing.models import Limit
from config.errors import ApplicationError, PlanLimitReached
from portal.access import permission_required
from portal.errors import form_add_service_error, message_service_error
from portal.forms import InviteForm, RoleForm
from tenants.context import TenantHttpRequest


def _send_invitation_email(request: TenantHttpRequest, issued: IssuedInvitation) -> None:
    link = request.build_absolute_uri(reverse("accounts:invitation_accept", args=[issued.token]))
    context = {
        "link": link,
        "invitation": issued.invitation,
        "workspace_name": request.tenant.name,
        "inviter": request.user,
    }
    send_mail(
        subject=f"[{request.tenant.name}] You're invited to join the team",
        message=render_to_string("accounts/email/invitation.txt", context),
        html_message=render_to_string("accounts/email/invitation.html", context),
        from_email=None,
        recipient_list=[issued.invitation.email],
    )


@permission_required(Permission.VIEW_PORTAL)
def team(request: TenantHttpRequest) -> HttpResponse:
    # Everyone may see the team; only managers may post the invite form (same answer as the
    # other team actions, rather than a 400 with an error the hidden form cannot show).
    if request.method == "POST" and not role_has(request.user.role, Permission.MANAGE_TEAM):
        return render(request, "errors/forbidden.html", status=403)
    form = InviteForm(request.POST or None)
    limit_reached = False
    if request.method == "POST" and form.is_valid():
        try:
            issued = invitation_create(
                email=form.cleaned_data["email"], role=form.cleaned_data["role"], invited_by=request.user
            )
        except ApplicationError as error:
            form_add_service_error(form, error)
            limit_reached = isinstance(error, PlanLimitReached)
        else:
            _send_invitation_email(request, issued)
            messages.success(request, f"Invitation sent to {issued.invitation.email}.")
            return redirect("portal:team")
    context = {
        "form": form,
        "members": member_list(),
        "invitations": invitation_list_pending(),
        "role_form": RoleForm(),
        "seats_in_use": team_seats_in_use(),
        "seats_allowed": entitlements_for(tenant=request.tenant).limits[Limit.TEAM_MEMBERS],
        "limit_reached": limit_reached,
    }
    return render(request, "portal/team.html", context, status=400 if form.errors else 200)


def _member_or_404(member_id: int) -> User:
    member = member_get(member_id=member_id)
    if member is None:
        raise Http404
    return member


@require_POST
@permission_required(Permission.MANAGE_TEAM)
def member_role(request: TenantHttpRequest, member_id: int) -> HttpResponse:
    member = _member_or_404(member_id)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a valid role.")
        return redirect("portal:team")
    try:
        member_change_role(member=member, role=form.cleaned_data["role"], actor_user=request.user)
    except ApplicationError as error:
        message_service_error(request, error)
    else:
        messages.success(request, f"{member.email} is now {form.cleaned_data['role']}.")
    return redirect("portal:team")


@require_POST
@permission_required(Permission.MANAGE_TEAM)
def member_delete(request: TenantHttpRequest, member_id: int) -> HttpResponse:
    member = _member_or_404(member_id)
    try:
        member_remove(member=member, actor_user=request.user)
    except ApplicationError as error:
        message_service_error(request, error)
    else:
        messages.success(request, f"{member.email} was removed from the team.")
    return redirect("portal:team")


@require_POST
@permission_required(Permission.MANAGE_TEAM)
def invitation_delete(request: TenantHttpRequest, invitation_id: int) -> HttpResponse:
    invitation = invitation_get(invitation_id=invitation_id)
    if invitation is None:
        raise Http404
    try:
        invitation_revoke(invitation=invitation, actor_user=request.user)
    except ApplicationError as error:
        message_service_error(request, error)
    else:
        messages.success(request, f"Invitation for {invitation.email} revoked.")
    return redirect("portal:team")

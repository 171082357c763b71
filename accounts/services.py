"""Every write to users and invitations inside a tenant's schema."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from accounts.models import Invitation, Role, User
from accounts.permissions import Permission, role_has
from accounts.selectors import team_seats_in_use
from audit.services import Actor, audit_record
from billing.entitlements import entitlement_require_capacity
from billing.models import Limit
from config.errors import Conflict, NotFound, PermissionDeniedError, ValidationFailed
from tenants.context import current_tenant


def email_normalise(email: str) -> str:
    """The lower-cased address, or `ValidationFailed` (field `email`) if it is invalid or too long to store."""
    email = (email or "").strip().lower()
    try:
        validate_email(email)  # accepts up to 320 characters; our columns hold 254
        if len(email) > (User._meta.get_field("email").max_length or 0):
            raise DjangoValidationError("too long")
    except DjangoValidationError:
        raise ValidationFailed(
            "Enter a valid email address.", errors={"email": ["Enter a valid email address."]}
        ) from None
    return email


def password_check(password: str, *, user: User | None = None) -> None:
    try:
        validate_password(password, user=user)
    except DjangoValidationError as exc:
        raise ValidationFailed(exc.messages[0], errors={"password": list(exc.messages)}) from exc


def user_create(
    *, email: str, password: str | None, role: str = Role.MEMBER, full_name: str = "", email_verified: bool = False
) -> User:
    """Create a user in the current schema; `password=None` leaves it unusable (reset to set)."""
    email = email_normalise(email)
    if User.objects.filter(email=email).exists():
        raise ValidationFailed("A user with this email already exists.", errors={"email": ["Already a member."]})
    candidate = User(email=email, full_name=full_name)
    if password:
        password_check(password, user=candidate)
    user = User.objects.create_user(email=email, password=password, role=role, full_name=full_name)
    EmailAddress.objects.create(user=user, email=email, primary=True, verified=email_verified)
    return user


def _require(actor_user: User, permission: Permission) -> None:
    if not role_has(actor_user.role, permission):
        raise PermissionDeniedError("Your role does not allow this.")


def _owner_count() -> int:
    return User.objects.filter(role=Role.OWNER, is_active=True).count()


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedInvitation:
    invitation: Invitation
    token: str  # shown once, in the email link; only its hash is stored


def invitation_create(*, email: str, role: str, invited_by: User) -> IssuedInvitation:
    """Invite `email` with `role`. Re-inviting replaces a still-open invitation.

    Only owners may invite owners; admins may invite admins and below. Active teammates plus
    open invitations, this one included, must fit the workspace's `team_members` limit, else
    `PlanLimitReached`.
    """
    _require(invited_by, Permission.MANAGE_TEAM)
    if role not in Role.values:
        raise ValidationFailed("Unknown role.", errors={"role": ["Choose owner, admin, member or viewer."]})
    if role == Role.OWNER:
        _require(invited_by, Permission.MANAGE_OWNERS)
    email = email_normalise(email)
    if User.objects.filter(email=email, is_active=True).exists():
        raise ValidationFailed("This person is already on the team.", errors={"email": ["Already a member."]})
    entitlement_require_capacity(
        tenant=current_tenant(),
        limit=Limit.TEAM_MEMBERS,
        current_usage=team_seats_in_use(excluding_invitation_to=email),
    )
    token = secrets.token_urlsafe(32)
    now = timezone.now()
    with transaction.atomic():
        Invitation.objects.filter(email=email, accepted_at__isnull=True, revoked_at__isnull=True).update(revoked_at=now)
        invitation = Invitation.objects.create(
            email=email,
            role=role,
            token_hash=_token_hash(token),
            invited_by=invited_by,
            expires_at=now + timedelta(days=settings.INVITATION_EXPIRY_DAYS),
        )
        audit_record(
            action="team.invited",
            actor=Actor.for_user(invited_by),
            target=invitation,
            data={"email": email, "role": role},
        )
    return IssuedInvitation(invitation=invitation, token=token)


def invitation_get_pending(*, token: str) -> Invitation:
    invitation = Invitation.objects.filter(token_hash=_token_hash(token)).first()
    if invitation is None or not invitation.is_pending:
        raise NotFound("This invitation link is invalid, expired or already used.")
    return invitation


def invitation_revoke(*, invitation: Invitation, actor_user: User) -> None:
    _require(actor_user, Permission.MANAGE_TEAM)
    if not invitation.is_pending:
        raise Conflict("This invitation is no longer open.")
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at"])
    audit_record(action="team.invitation_revoked", actor=Actor.for_user(actor_user), target=invitation)


def invitation_accept(*, token: str, password: str, full_name: str = "") -> User:
    """Turn a pending invitation into a user with the invited role and a verified email.

    Raises `PlanLimitReached` if the team is already full without this invitation (the plan
    was downgraded, or invitations raced, since it was sent).
    """
    with transaction.atomic():
        invitation = invitation_get_pending(token=token)
        invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
        entitlement_require_capacity(
            tenant=current_tenant(),
            limit=Limit.TEAM_MEMBERS,
            current_usage=User.objects.filter(is_active=True).count(),
        )
        former = User.objects.filter(email=invitation.email, is_active=False).first()
        if former is not None:
            user = _member_readmit(former, invitation=invitation, password=password, full_name=full_name)
        else:
            user = user_create(
                email=invitation.email,
                password=password,
                role=invitation.role,
                full_name=full_name,
                email_verified=True,
            )
        invitation.accepted_at = timezone.now()
        invitation.save(update_fields=["accepted_at"])
        audit_record(action="team.joined", actor=Actor.for_user(user), target=user, data={"role": user.role})
    return user


def _member_readmit(user: User, *, invitation: Invitation, password: str, full_name: str) -> User:
    """A removed teammate invited again comes back with the new role and password."""
    password_check(password, user=user)
    user.set_password(password)
    user.role = invitation.role
    user.is_active = True
    user.full_name = full_name or user.full_name
    user.save(update_fields=["password", "role", "is_active", "full_name"])
    return user


def member_change_role(*, member: User, role: str, actor_user: User) -> User:
    """Change a teammate's role. The last owner can never be demoted."""
    _require(actor_user, Permission.MANAGE_TEAM)
    if role not in Role.values:
        raise ValidationFailed("Unknown role.", errors={"role": ["Choose owner, admin, member or viewer."]})
    if Role.OWNER in (role, member.role) and role != member.role:
        _require(actor_user, Permission.MANAGE_OWNERS)
    with transaction.atomic():
        member = User.objects.select_for_update().get(pk=member.pk)
        if member.role == Role.OWNER and role != Role.OWNER and _owner_count() <= 1:
            raise Conflict("The last owner cannot be demoted. Make someone else an owner first.")
        previous = member.role
        member.role = role
        member.save(update_fields=["role"])
        audit_record(
            action="team.role_changed",
            actor=Actor.for_user(actor_user),
            target=member,
            data={"from": previous, "to": role},
        )
    return member


def member_remove(*, member: User, actor_user: User) -> None:
    """Deactivate a teammate (kept for the audit trail). The last owner cannot be removed."""
    _require(actor_user, Permission.MANAGE_TEAM)
    if member.role == Role.OWNER:
        _require(actor_user, Permission.MANAGE_OWNERS)
    with transaction.atomic():
        member = User.objects.select_for_update().get(pk=member.pk)
        if member.role == Role.OWNER and _owner_count() <= 1:
            raise Conflict("The last owner cannot be removed. Make someone else an owner first.")
        member.is_active = False
        member.save(update_fields=["is_active"])
        audit_record(action="team.removed", actor=Actor.for_user(actor_user), target=member)


def user_update_profile(*, user: User, full_name: str) -> User:
    """Save the user's own profile; a change is audited with before/after."""
    before, after = user.full_name, full_name.strip()[:150]
    if before == after:
        return user
    user.full_name = after
    user.save(update_fields=["full_name"])
    audit_record(
        action="account.profile_updated",
        actor=Actor.for_user(user),
        target=user,
        data={"changes": {"full_name": [before, after]}},
    )
    return user


def auth_event_record(*, action: str, email: str, user: User | None = None) -> None:
    """Audit a sign-in event. Never records the password; the email is truncated to the column."""
    actor = Actor.for_user(user) if user is not None else Actor(type="user", label=email[:254])
    audit_record(action=action, actor=actor, target=user, data={"email": email[:254]})

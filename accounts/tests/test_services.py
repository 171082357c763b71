"""Team services inside one tenant: invitations, roles, removal, and who may do what."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from allauth.account.models import EmailAddress
from django.test import override_settings
from django_tenants.utils import get_public_schema_name, schema_context

from accounts.models import Invitation, Role, User
from accounts.selectors import invitation_list_pending, member_list
from accounts.services import (
    invitation_accept,
    invitation_create,
    invitation_get_pending,
    invitation_revoke,
    member_change_role,
    member_remove,
)
from accounts.tests.factories import InvitationFactory, UserFactory
from audit.models import ActorType, AuditEvent
from config.errors import Conflict, NotFound, PermissionDeniedError, ValidationFailed

NEW_PASSWORD = "another-long-passphrase-42"
FROZEN_NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def owner(tenant_a):
    """The owner of tenant A, with the connection on A's schema for the whole test."""
    with schema_context(tenant_a.schema):
        yield User.objects.get(email=tenant_a.owner_email)


def _events(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("id"))


def _public_events(action: str) -> list[AuditEvent]:
    with schema_context(get_public_schema_name()):
        return _events(action)


# --- Invitations ----------------------------------------------------------------------------


def test_invitation_create_stores_only_the_hash_of_the_token(owner):
    issued = invitation_create(email="New.Person@Example.test", role=Role.ADMIN, invited_by=owner)

    stored = Invitation.objects.get(pk=issued.invitation.pk)
    assert len(issued.token) >= 40
    assert stored.token_hash == hashlib.sha256(issued.token.encode()).hexdigest()
    assert issued.token not in {str(value) for value in Invitation.objects.values().get(pk=stored.pk).values()}
    assert (stored.email, stored.role, stored.invited_by) == ("new.person@example.test", Role.ADMIN, owner)
    assert stored.is_pending


def test_invitation_create_expires_after_the_configured_days(owner):
    with override_settings(INVITATION_EXPIRY_DAYS=3), time_machine.travel(FROZEN_NOW, tick=False):
        issued = invitation_create(email="soon@example.test", role=Role.MEMBER, invited_by=owner)

    assert issued.invitation.expires_at == FROZEN_NOW + timedelta(days=3)
    with time_machine.travel(FROZEN_NOW + timedelta(days=3) - timedelta(minutes=1), tick=False):
        assert invitation_get_pending(token=issued.token) == issued.invitation
    with time_machine.travel(FROZEN_NOW + timedelta(days=3, seconds=1), tick=False):
        with pytest.raises(NotFound):
            invitation_get_pending(token=issued.token)
        assert list(invitation_list_pending()) == []


def test_invitation_create_is_audited_in_the_tenant_schema_only(owner):
    issued = invitation_create(email="audit@example.test", role=Role.VIEWER, invited_by=owner)

    [event] = _events("team.invited")
    assert event.data == {"email": "audit@example.test", "role": "viewer"}
    assert (event.actor_type, event.actor_id, event.actor_label) == (ActorType.USER, str(owner.pk), owner.email)
    assert event.target_id == str(issued.invitation.pk)
    assert issued.token not in str(event.data)
    assert _public_events("team.invited") == []


def test_invitation_create_again_replaces_the_open_invitation(owner):
    first = invitation_create(email="twice@example.test", role=Role.MEMBER, invited_by=owner)

    second = invitation_create(email="twice@example.test", role=Role.ADMIN, invited_by=owner)

    assert list(invitation_list_pending()) == [second.invitation]
    assert Invitation.objects.get(pk=first.invitation.pk).revoked_at is not None
    with pytest.raises(NotFound):
        invitation_get_pending(token=first.token)
    assert invitation_get_pending(token=second.token).role == Role.ADMIN


def test_invitation_create_refuses_someone_already_on_the_team(owner):
    member = UserFactory(email="here@example.test")

    with pytest.raises(ValidationFailed) as excinfo:
        invitation_create(email=member.email.upper(), role=Role.MEMBER, invited_by=owner)

    assert "email" in excinfo.value.errors
    assert not Invitation.objects.exists()


@pytest.mark.parametrize(
    ("email", "role", "field"),
    [
        ("not-an-email", Role.MEMBER, "email"),
        ("i" * 64 + "@" + ".".join(["x" * 60] * 4) + ".test", Role.MEMBER, "email"),  # 313 characters
        ("a@b.test", "god", "role"),
    ],
    ids=["malformed email", "overlong email", "unknown role"],
)
def test_invitation_create_rejects_bad_input(owner, email, role, field):
    with pytest.raises(ValidationFailed) as excinfo:
        invitation_create(email=email, role=role, invited_by=owner)

    assert field in excinfo.value.errors
    assert not Invitation.objects.exists()


def test_invitation_accept_creates_user_with_the_invited_role_and_verified_email(owner):
    issued = invitation_create(email="joiner@example.test", role=Role.ADMIN, invited_by=owner)

    user = invitation_accept(token=issued.token, password=NEW_PASSWORD, full_name="Jo Iner")

    stored = User.objects.get(email="joiner@example.test")
    assert stored == user
    assert (stored.role, stored.full_name, stored.is_active) == (Role.ADMIN, "Jo Iner", True)
    assert stored.check_password(NEW_PASSWORD)
    assert EmailAddress.objects.filter(user=stored, email=stored.email, verified=True, primary=True).exists()
    assert Invitation.objects.get(pk=issued.invitation.pk).accepted_at is not None
    [joined] = _events("team.joined")
    assert joined.data == {"role": "admin"}
    assert joined.actor_id == str(user.pk)
    assert _public_events("team.joined") == []


def test_invitation_accept_refuses_a_used_token(owner):
    issued = InvitationFactory(email="once@example.test", invited_by=owner)
    invitation_accept(token=issued.token, password=NEW_PASSWORD)

    with pytest.raises(NotFound):
        invitation_accept(token=issued.token, password="yet-another-passphrase-7")

    assert User.objects.get(email="once@example.test").check_password(NEW_PASSWORD)


def test_invitation_accept_refuses_a_revoked_token(owner):
    issued = InvitationFactory(email="revoked@example.test", invited_by=owner)
    invitation_revoke(invitation=issued.invitation, actor_user=owner)

    with pytest.raises(NotFound):
        invitation_accept(token=issued.token, password=NEW_PASSWORD)

    assert not User.objects.filter(email="revoked@example.test").exists()
    assert len(_events("team.invitation_revoked")) == 1


def test_invitation_accept_refuses_an_expired_token(owner):
    with time_machine.travel(FROZEN_NOW, tick=False):
        issued = InvitationFactory(email="late@example.test", invited_by=owner)

    with time_machine.travel(FROZEN_NOW + timedelta(days=30), tick=False), pytest.raises(NotFound):
        invitation_accept(token=issued.token, password=NEW_PASSWORD)

    assert not User.objects.filter(email="late@example.test").exists()


@pytest.mark.parametrize("token", ["", "forged-token", "x" * 43])
def test_invitation_accept_refuses_unknown_tokens(owner, token):
    InvitationFactory(invited_by=owner)

    with pytest.raises(NotFound):
        invitation_accept(token=token, password=NEW_PASSWORD)


def test_invitation_accept_with_weak_password_keeps_the_invitation_open(owner):
    issued = InvitationFactory(email="weak@example.test", invited_by=owner)

    with pytest.raises(ValidationFailed) as excinfo:
        invitation_accept(token=issued.token, password="password")

    assert "password" in excinfo.value.errors
    assert not User.objects.filter(email="weak@example.test").exists()
    assert invitation_get_pending(token=issued.token) == issued.invitation


def test_invitation_accept_readmits_a_removed_member_with_the_new_role(owner):
    former = UserFactory(email="former@example.test", role=Role.ADMIN)
    member_remove(member=former, actor_user=owner)
    issued = invitation_create(email="former@example.test", role=Role.VIEWER, invited_by=owner)

    user = invitation_accept(token=issued.token, password=NEW_PASSWORD)

    assert user.pk == former.pk
    stored = User.objects.get(pk=former.pk)
    assert (stored.is_active, stored.role) == (True, Role.VIEWER)
    assert stored.check_password(NEW_PASSWORD)
    assert User.objects.filter(email="former@example.test").count() == 1
    assert stored in member_list()


def test_invitation_revoke_of_a_closed_invitation_is_a_conflict(owner):
    issued = InvitationFactory(invited_by=owner)
    invitation_revoke(invitation=issued.invitation, actor_user=owner)

    with pytest.raises(Conflict):
        invitation_revoke(invitation=Invitation.objects.get(pk=issued.invitation.pk), actor_user=owner)


# --- Who may manage the team ----------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.MEMBER, Role.VIEWER])
def test_team_management_refused_for_members_and_viewers(owner, role):
    actor = UserFactory(role=role)
    teammate = UserFactory(role=Role.MEMBER)
    open_invitation = InvitationFactory(invited_by=owner).invitation

    with pytest.raises(PermissionDeniedError):
        invitation_create(email="x@example.test", role=Role.VIEWER, invited_by=actor)
    with pytest.raises(PermissionDeniedError):
        member_change_role(member=teammate, role=Role.VIEWER, actor_user=actor)
    with pytest.raises(PermissionDeniedError):
        member_remove(member=teammate, actor_user=actor)
    with pytest.raises(PermissionDeniedError):
        invitation_revoke(invitation=open_invitation, actor_user=actor)

    assert User.objects.get(pk=teammate.pk).role == Role.MEMBER
    assert User.objects.get(pk=teammate.pk).is_active
    assert list(invitation_list_pending()) == [open_invitation]
    assert not _events("team.role_changed") and not _events("team.removed")


def test_admin_manages_members_admins_and_viewers(owner):
    admin = UserFactory(role=Role.ADMIN)
    teammate = UserFactory(role=Role.MEMBER)

    invitation_create(email="new-admin@example.test", role=Role.ADMIN, invited_by=admin)
    member_change_role(member=teammate, role=Role.VIEWER, actor_user=admin)
    member_change_role(member=teammate, role=Role.ADMIN, actor_user=admin)
    member_remove(member=teammate, actor_user=admin)

    assert User.objects.get(pk=teammate.pk).is_active is False
    assert [e.data for e in _events("team.role_changed")] == [
        {"from": "member", "to": "viewer"},
        {"from": "viewer", "to": "admin"},
    ]


def test_admin_cannot_grant_or_touch_the_owner_role(owner):
    admin = UserFactory(role=Role.ADMIN)
    teammate = UserFactory(role=Role.MEMBER)

    with pytest.raises(PermissionDeniedError):
        invitation_create(email="boss@example.test", role=Role.OWNER, invited_by=admin)
    with pytest.raises(PermissionDeniedError):
        member_change_role(member=teammate, role=Role.OWNER, actor_user=admin)
    with pytest.raises(PermissionDeniedError):
        member_change_role(member=owner, role=Role.MEMBER, actor_user=admin)
    with pytest.raises(PermissionDeniedError):
        member_remove(member=owner, actor_user=admin)

    assert User.objects.get(pk=teammate.pk).role == Role.MEMBER
    assert User.objects.get(pk=owner.pk).role == Role.OWNER
    assert User.objects.get(pk=owner.pk).is_active
    assert not Invitation.objects.exists()


def test_admin_cannot_promote_themselves_to_owner(owner):
    admin = UserFactory(role=Role.ADMIN)

    with pytest.raises(PermissionDeniedError):
        member_change_role(member=admin, role=Role.OWNER, actor_user=admin)

    assert User.objects.get(pk=admin.pk).role == Role.ADMIN


def test_owner_can_invite_and_appoint_owners(owner):
    teammate = UserFactory(role=Role.MEMBER)

    issued = invitation_create(email="co-owner@example.test", role=Role.OWNER, invited_by=owner)
    member_change_role(member=teammate, role=Role.OWNER, actor_user=owner)

    assert issued.invitation.role == Role.OWNER
    assert User.objects.get(pk=teammate.pk).role == Role.OWNER


def test_member_change_role_is_audited_in_the_tenant_schema(owner):
    teammate = UserFactory(role=Role.MEMBER)

    member_change_role(member=teammate, role=Role.ADMIN, actor_user=owner)

    [event] = _events("team.role_changed")
    assert event.data == {"from": "member", "to": "admin"}
    assert (event.actor_id, event.target_id) == (str(owner.pk), str(teammate.pk))
    assert _public_events("team.role_changed") == []


def test_member_remove_deactivates_and_is_audited(owner):
    teammate = UserFactory(email="leaver@example.test", role=Role.MEMBER)

    member_remove(member=teammate, actor_user=owner)

    stored = User.objects.get(pk=teammate.pk)  # kept for the audit trail, but out of the team
    assert stored.is_active is False
    assert stored not in member_list()
    [event] = _events("team.removed")
    assert event.target_id == str(teammate.pk)
    assert _public_events("team.removed") == []


# --- The last owner -------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.ADMIN, Role.MEMBER, Role.VIEWER])
def test_member_change_role_never_demotes_the_last_owner(owner, role):
    with pytest.raises(Conflict, match="last owner"):
        member_change_role(member=owner, role=role, actor_user=owner)

    assert User.objects.get(pk=owner.pk).role == Role.OWNER
    assert not _events("team.role_changed")


def test_member_remove_never_removes_the_last_owner(owner):
    with pytest.raises(Conflict, match="last owner"):
        member_remove(member=owner, actor_user=owner)

    assert User.objects.get(pk=owner.pk).is_active


def test_owner_can_step_down_once_another_owner_exists(owner):
    co_owner = UserFactory(role=Role.OWNER)

    member_change_role(member=owner, role=Role.ADMIN, actor_user=owner)

    assert User.objects.get(pk=owner.pk).role == Role.ADMIN
    # Now co_owner is the last one.
    with pytest.raises(Conflict):
        member_change_role(member=co_owner, role=Role.MEMBER, actor_user=co_owner)
    with pytest.raises(Conflict):
        member_remove(member=co_owner, actor_user=co_owner)


def test_removed_owners_do_not_count_towards_keeping_an_owner(owner):
    co_owner = UserFactory(role=Role.OWNER)
    member_remove(member=co_owner, actor_user=owner)

    with pytest.raises(Conflict):
        member_remove(member=owner, actor_user=owner)

    assert User.objects.get(pk=owner.pk).is_active

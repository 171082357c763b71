"""Users and invitations, made through the services, in whatever schema the connection is on."""

from __future__ import annotations

from typing import Any

import factory

from accounts.models import Role, User
from accounts.services import IssuedInvitation, invitation_create, user_create
from conftest import PASSWORD


class UserFactory(factory.Factory):
    """A teammate of the current schema's tenant (use inside `schema_context`)."""

    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"person{n}@example.test")
    password = PASSWORD
    role = Role.MEMBER
    full_name = ""
    email_verified = True

    @classmethod
    def _create(cls, model_class: type, **kwargs: Any) -> User:
        return user_create(**kwargs)


class InvitationFactory(factory.Factory):
    """An open invitation; `.token` is the secret that only the email would carry."""

    class Meta:
        model = IssuedInvitation

    email = factory.Sequence(lambda n: f"invitee{n}@example.test")
    role = Role.MEMBER
    invited_by = factory.LazyFunction(lambda: User.objects.filter(role=Role.OWNER, is_active=True).first())

    @classmethod
    def _create(cls, model_class: type, **kwargs: Any) -> IssuedInvitation:
        return invitation_create(**kwargs)

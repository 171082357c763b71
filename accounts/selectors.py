from django.db.models import Case, IntegerField, QuerySet, Value, When
from django.utils import timezone

from accounts.models import Invitation, Role, User

_ROLE_RANK = Case(
    *(When(role=role, then=Value(rank)) for rank, role in enumerate(Role.values)),
    output_field=IntegerField(),
)


def member_list() -> QuerySet[User]:
    """Active teammates of the current tenant: owners first, then admins, members, viewers."""
    return User.objects.filter(is_active=True).order_by(_ROLE_RANK, "email")


def member_get(*, member_id: int) -> User | None:
    return User.objects.filter(pk=member_id, is_active=True).first()


def invitation_list_pending() -> QuerySet[Invitation]:
    return Invitation.objects.filter(
        accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=timezone.now()
    ).select_related("invited_by")


def team_seats_in_use(*, excluding_invitation_to: str = "") -> int:
    """Active teammates plus open invitations: what counts against the team-members limit.

    `excluding_invitation_to`: an email whose open invitation is about to be replaced or accepted.
    """
    pending = invitation_list_pending()
    if excluding_invitation_to:
        pending = pending.exclude(email=excluding_invitation_to)
    return User.objects.filter(is_active=True).count() + pending.count()


def invitation_get(*, invitation_id: int) -> Invitation | None:
    return Invitation.objects.filter(pk=invitation_id).first()

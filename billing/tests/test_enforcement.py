"""Where the product asks the entitlements today: team invitations (team_members) and the API's
request rate (requests_per_minute, burst)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import schema_context

from accounts.models import Invitation, Role, User
from accounts.services import invitation_accept, invitation_create, invitation_revoke, member_remove
from apikeys.tests.factories import IssuedApiKeyFactory, api_client
from billing.tests.factories import override_give
from config.errors import PlanLimitReached
from conftest import make_member, signed_in_client
from tenants.models import Tenant

NEW_PASSWORD = "another-long-passphrase-42"


@pytest.fixture
def beta_owner(tenant_b):
    """The owner of tenant B (Starter: 5 team members), with the connection on B's schema."""
    with schema_context(tenant_b.schema):
        yield User.objects.get(email=tenant_b.owner_email)


def _invite(owner: User, n: int) -> None:
    for i in range(n):
        invitation_create(email=f"invitee{i}@beta.test", role=Role.MEMBER, invited_by=owner)


# --- Team members ---------------------------------------------------------------------------


def test_invitation_create_starter_fits_five_members_then_refuses(beta_owner):
    _invite(beta_owner, 4)  # the owner + 4 open invitations = 5 seats

    with pytest.raises(PlanLimitReached) as refused:
        invitation_create(email="sixth@beta.test", role=Role.MEMBER, invited_by=beta_owner)

    error = refused.value
    assert error.code == "plan_limit_reached"
    assert (error.extra["limit"], error.extra["allowed"], error.extra["current_usage"]) == ("team_members", 5, 5)
    assert error.extra["upgrade_plan"] == {"code": "professional", "name": "Professional"}
    assert "limit of 5 team members is reached" in error.detail
    assert not Invitation.objects.filter(email="sixth@beta.test").exists()


def test_invitation_create_counts_active_members_and_open_invitations(beta_owner, tenant_b):
    make_member(tenant_b, email="one@beta.test")
    make_member(tenant_b, email="two@beta.test")
    _invite(beta_owner, 2)

    with pytest.raises(PlanLimitReached):
        invitation_create(email="sixth@beta.test", role=Role.MEMBER, invited_by=beta_owner)


def test_invitation_create_reinviting_an_open_invitation_takes_no_extra_seat(beta_owner):
    _invite(beta_owner, 4)

    invitation_create(email="invitee0@beta.test", role=Role.ADMIN, invited_by=beta_owner)

    assert Invitation.objects.get(email="invitee0@beta.test", revoked_at__isnull=True).role == Role.ADMIN


def test_invitation_create_revoked_expired_and_removed_free_their_seats(beta_owner, tenant_b):
    _invite(beta_owner, 3)
    teammate = make_member(tenant_b, email="leaving@beta.test")
    with schema_context(tenant_b.schema):
        invitation_revoke(invitation=Invitation.objects.get(email="invitee0@beta.test"), actor_user=beta_owner)
        member_remove(member=teammate, actor_user=beta_owner)
    with time_machine.travel(timezone.now() + timedelta(days=30)):  # the two others have expired
        for i in range(4):  # the owner + 4 = 5
            invitation_create(email=f"later{i}@beta.test", role=Role.MEMBER, invited_by=beta_owner)
        with pytest.raises(PlanLimitReached):
            invitation_create(email="one-too-many@beta.test", role=Role.MEMBER, invited_by=beta_owner)


def test_invitation_create_follows_a_staff_override(beta_owner, tenant_b):
    override_give(tenant_b.tenant, limits={"team_members": 6})
    _invite(beta_owner, 5)

    with pytest.raises(PlanLimitReached):
        invitation_create(email="seventh@beta.test", role=Role.MEMBER, invited_by=beta_owner)


def test_invitation_create_on_a_roomier_plan_is_not_refused(tenant_a):
    with schema_context(tenant_a.schema):
        owner = User.objects.get(email=tenant_a.owner_email)
        _invite(owner, 10)  # professional: 50


def test_invitation_accept_refused_when_the_team_filled_up_meanwhile(beta_owner, tenant_b):
    issued = invitation_create(email="late@beta.test", role=Role.MEMBER, invited_by=beta_owner)
    override_give(tenant_b.tenant, limits={"team_members": 1})  # e.g. a downgrade since the invitation

    with schema_context(tenant_b.schema), pytest.raises(PlanLimitReached):
        invitation_accept(token=issued.token, password=NEW_PASSWORD)

    assert not User.objects.filter(email="late@beta.test").exists()


def test_invitation_accept_within_the_limit_succeeds(beta_owner):
    issued = invitation_create(email="joiner@beta.test", role=Role.MEMBER, invited_by=beta_owner)
    _invite(beta_owner, 3)  # 5 seats taken, the joiner's included

    assert invitation_accept(token=issued.token, password=NEW_PASSWORD).email == "joiner@beta.test"


def test_team_page_shows_seats_and_the_limit_error_with_a_way_out(tenant_b, beta_owner):
    _invite(beta_owner, 4)
    client = signed_in_client(tenant_b)

    page = client.get("/team/")
    refused = client.post("/team/", {"email": "sixth@beta.test", "role": Role.MEMBER})

    assert b"5 of 5 seats in use" in page.content
    assert refused.status_code == 400
    assert b"limit of 5 team members is reached" in refused.content
    assert b'href="/billing/"' in refused.content
    assert len(mail.outbox) == 0


def test_team_page_on_an_unlimited_plan_shows_no_seat_count(tenant_b):
    override_give(tenant_b.tenant, limits={"team_members": None})

    page = signed_in_client(tenant_b).get("/team/")

    assert page.status_code == 200
    assert b"seats in use" not in page.content


# --- API request rate -----------------------------------------------------------------------


def _limit_header(tenant_fixture, **key_overrides) -> int:  # type: ignore[no-untyped-def]
    issued = IssuedApiKeyFactory.create(tenant=tenant_fixture.tenant, **key_overrides)
    return int(api_client(tenant_fixture.host, issued.secret).get("/api/v1/me")["X-RateLimit-Limit"])


def test_rate_limit_comes_from_the_entitlements(tenant_a, tenant_b):
    assert (_limit_header(tenant_a), _limit_header(tenant_b)) == (300, 60)

    override_give(tenant_b.tenant, limits={"requests_per_minute": 90, "burst": 3})

    assert _limit_header(tenant_b) == 90
    client = api_client(tenant_b.host, IssuedApiKeyFactory(tenant=tenant_b.tenant).secret)
    assert [client.get("/api/v1/me").status_code for _ in range(4)] == [200, 200, 200, 429]


def test_rate_limit_tenant_and_key_overrides_still_beat_the_entitlements(tenant_b):
    override_give(tenant_b.tenant, limits={"requests_per_minute": 90})
    Tenant.objects.filter(pk=tenant_b.tenant.pk).update(api_rate_limit_per_minute=42)

    assert _limit_header(tenant_b) == 42
    assert _limit_header(tenant_b, rate_limit_per_minute=7) == 7


def test_rate_limit_cached_entitlements_cost_no_query(tenant_b):
    client = api_client(tenant_b.host, IssuedApiKeyFactory(tenant=tenant_b.tenant).secret)
    client.get("/api/v1/me")  # warm the routing, key and entitlements caches

    with CaptureQueriesContext(connection) as queries:
        assert client.get("/api/v1/me").status_code == 200

    # Only the request transaction's own bookkeeping (search_path, savepoint) reaches PostgreSQL.
    assert [query["sql"] for query in queries.captured_queries if query["sql"].startswith("SELECT")] == []

"""Notifications: fan-out to managers, link safety, read state, and the bell's count."""

from __future__ import annotations

import pytest
from django_tenants.utils import schema_context

from accounts.models import Role, User
from conftest import TenantFixture, make_member
from notifications.models import Notification, NotificationLevel
from notifications.selectors import UNREAD_COUNT_CAP, notification_list, notification_unread_count
from notifications.services import (
    notification_create,
    notification_create_for_managers,
    notification_mark_all_read,
    notification_mark_read,
)
from tenants.context import NoTenantActive


def _owner(tenant: TenantFixture) -> User:
    return User.objects.get(email=tenant.owner_email)


def test_notification_create_for_managers_reaches_active_owners_and_admins_only(tenant_a: TenantFixture) -> None:
    admin = make_member(tenant_a, email="admin@alpha.test", role=Role.ADMIN)
    make_member(tenant_a, email="member@alpha.test", role=Role.MEMBER)
    make_member(tenant_a, email="viewer@alpha.test", role=Role.VIEWER)
    gone = make_member(tenant_a, email="gone@alpha.test", role=Role.ADMIN)
    with schema_context(tenant_a.schema):
        User.objects.filter(pk=gone.pk).update(is_active=False)
        created = notification_create_for_managers(
            title="80% of your API calls limit used", body="Details", link="/billing/", level=NotificationLevel.WARNING
        )
        recipients = sorted(n.recipient.email for n in created)
        assert recipients == sorted([tenant_a.owner_email, admin.email])
        assert Notification.objects.count() == 2
        assert all(n.read_at is None and n.level == "warning" and n.link == "/billing/" for n in created)


@pytest.mark.parametrize(
    "link", ["https://evil.example/", "//evil.example/", "javascript:alert(1)", "billing/", "/\\evil.example"]
)
def test_notification_create_refuses_links_off_this_host(tenant_a: TenantFixture, link: str) -> None:
    with schema_context(tenant_a.schema), pytest.raises(ValueError, match="path on this host"):
        notification_create(recipients=[_owner(tenant_a)], title="Hello", link=link)


def test_notification_create_refuses_empty_title_and_unknown_level(tenant_a: TenantFixture) -> None:
    with schema_context(tenant_a.schema):
        owner = _owner(tenant_a)
        with pytest.raises(ValueError, match="title"):
            notification_create(recipients=[owner], title="  ")
        with pytest.raises(ValueError, match="level"):
            notification_create(recipients=[owner], title="Hi", level="panic")
        assert not Notification.objects.exists()


def test_notification_create_on_the_public_schema_fails_closed(db: None) -> None:
    with pytest.raises(NoTenantActive):
        notification_create(recipients=[], title="Nobody's")


def test_notification_mark_read_is_idempotent_and_keeps_first_read_time(tenant_a: TenantFixture) -> None:
    with schema_context(tenant_a.schema):
        (notification,) = notification_create(recipients=[_owner(tenant_a)], title="Hi")
        first = notification_mark_read(notification=notification).read_at
        stale = Notification.objects.get(pk=notification.pk)
        stale.read_at = None  # a copy loaded before the first read (another tab)
        assert notification_mark_read(notification=stale).read_at == first
        assert Notification.objects.get(pk=notification.pk).read_at == first


def test_notification_mark_all_read_touches_only_that_persons_notifications(tenant_a: TenantFixture) -> None:
    admin = make_member(tenant_a, email="admin@alpha.test", role=Role.ADMIN)
    with schema_context(tenant_a.schema):
        owner = _owner(tenant_a)
        notification_create_for_managers(title="One")
        notification_create_for_managers(title="Two")
        assert notification_mark_all_read(user=owner) == 2
        assert notification_mark_all_read(user=owner) == 0
        assert notification_unread_count(user=owner) == 0
        assert notification_unread_count(user=admin) == 2
        assert [n.title for n in notification_list(user=admin, unread_only=True)] == ["Two", "One"]


def test_notification_unread_count_is_one_query_and_stops_counting_past_the_cap(
    tenant_a: TenantFixture, django_assert_num_queries
) -> None:  # type: ignore[no-untyped-def]
    with schema_context(tenant_a.schema):
        owner = _owner(tenant_a)
        for number in range(UNREAD_COUNT_CAP + 5):
            notification_create(recipients=[owner], title=f"Note {number}")
        with django_assert_num_queries(1):
            assert notification_unread_count(user=owner) == UNREAD_COUNT_CAP + 1


def test_notifications_of_one_tenant_never_show_in_another(tenant_a: TenantFixture, tenant_b: TenantFixture) -> None:
    with schema_context(tenant_a.schema):
        notification_create_for_managers(title="Alpha only")
    with schema_context(tenant_b.schema):
        owner_b = _owner(tenant_b)
        assert not Notification.objects.exists()
        assert notification_unread_count(user=owner_b) == 0

"""The notifications page and the bell, through Django's test client, with two tenants."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django_tenants.utils import schema_context

from accounts.models import Role, User
from conftest import TenantFixture, client_for, make_member, signed_in_client
from notifications.models import Notification
from notifications.selectors import UNREAD_COUNT_CAP
from notifications.services import notification_create
from notifications.views import NOTIFICATIONS_PER_PAGE


def _notify(tenant: TenantFixture, email: str, *, count: int = 1, link: str = "") -> list[Notification]:
    with schema_context(tenant.schema):
        user = User.objects.get(email=email)
        return [
            notification_create(recipients=[user], title=f"Note {number}", body="Body", link=link)[0]
            for number in range(count)
        ]


def test_notifications_page_shows_an_empty_state(tenant_a: TenantFixture) -> None:
    response = signed_in_client(tenant_a).get("/notifications/")
    assert response.status_code == 200
    assert "No notifications yet." in response.content.decode()
    assert 'class="bell-count"' not in response.content.decode()


def test_notifications_page_lists_only_the_signed_in_persons_notifications(tenant_a: TenantFixture) -> None:
    member = make_member(tenant_a, email="member@alpha.test", role=Role.MEMBER)
    _notify(tenant_a, tenant_a.owner_email, count=2)
    _notify(tenant_a, member.email, count=1)
    page = signed_in_client(tenant_a, member.email).get("/notifications/").content.decode()
    assert page.count('class="notification ') == 1
    assert '<span class="bell-count">1<span class="visually-hidden"> unread</span></span>' in page


def test_notifications_page_paginates_and_filters_unread(tenant_a: TenantFixture) -> None:
    notes = _notify(tenant_a, tenant_a.owner_email, count=NOTIFICATIONS_PER_PAGE + 3)
    client = signed_in_client(tenant_a)
    first = client.get("/notifications/").content.decode()
    assert first.count('class="notification ') == NOTIFICATIONS_PER_PAGE
    assert "Page 1 of 2" in first
    assert client.get("/notifications/?page=2").content.decode().count('class="notification ') == 3
    client.post(f"/notifications/{notes[0].pk}/read/")
    unread = client.get("/notifications/?show=unread&page=2").content.decode()
    assert unread.count('class="notification ') == 2


def test_notification_open_marks_read_and_follows_its_link(tenant_a: TenantFixture) -> None:
    (note,) = _notify(tenant_a, tenant_a.owner_email, link="/billing/")
    response = signed_in_client(tenant_a).post(f"/notifications/{note.pk}/open/")
    assert response.status_code == 302
    assert response["Location"] == "/billing/"
    with schema_context(tenant_a.schema):
        assert Notification.objects.get(pk=note.pk).read_at is not None


def test_notification_read_returns_to_the_page_it_came_from_but_never_off_host(tenant_a: TenantFixture) -> None:
    first, second = _notify(tenant_a, tenant_a.owner_email, count=2)
    client = signed_in_client(tenant_a)
    back = client.post(f"/notifications/{first.pk}/read/", {"next": "/notifications/?show=unread"})
    assert back["Location"] == "/notifications/?show=unread"
    away = client.post(f"/notifications/{second.pk}/read/", {"next": "https://evil.example/"})
    assert away["Location"] == reverse("portal:notifications")


def test_notification_of_someone_else_is_not_found(tenant_a: TenantFixture) -> None:
    admin = make_member(tenant_a, email="admin@alpha.test", role=Role.ADMIN)
    (note,) = _notify(tenant_a, tenant_a.owner_email)
    client = signed_in_client(tenant_a, admin.email)
    assert client.post(f"/notifications/{note.pk}/read/").status_code == 404
    assert client.post(f"/notifications/{note.pk}/open/").status_code == 404
    with schema_context(tenant_a.schema):
        assert Notification.objects.get(pk=note.pk).read_at is None


def test_notification_of_another_tenant_is_not_found_there(tenant_a: TenantFixture, tenant_b: TenantFixture) -> None:
    (note,) = _notify(tenant_a, tenant_a.owner_email)
    client_b = signed_in_client(tenant_b)
    assert client_b.post(f"/notifications/{note.pk}/open/").status_code == 404
    assert "No notifications yet." in client_b.get("/notifications/").content.decode()
    with schema_context(tenant_a.schema):
        assert Notification.objects.get(pk=note.pk).read_at is None


def test_notification_read_all_marks_everything_read(tenant_a: TenantFixture) -> None:
    _notify(tenant_a, tenant_a.owner_email, count=3)
    client = signed_in_client(tenant_a)
    response = client.post("/notifications/read-all/", follow=True)
    page = response.content.decode()
    assert "Marked 3 notifications as read." in page
    assert 'class="bell-count"' not in page
    with schema_context(tenant_a.schema):
        assert not Notification.objects.filter(read_at__isnull=True).exists()


def test_notification_actions_refuse_get_and_anonymous_visitors(tenant_a: TenantFixture) -> None:
    (note,) = _notify(tenant_a, tenant_a.owner_email)
    assert signed_in_client(tenant_a).get(f"/notifications/{note.pk}/read/").status_code == 405
    anonymous = client_for(tenant_a.host)
    assert anonymous.get("/notifications/").status_code == 302
    assert anonymous.post(f"/notifications/{note.pk}/read/").status_code == 302
    with schema_context(tenant_a.schema):
        assert Notification.objects.get(pk=note.pk).read_at is None


def test_bell_caps_its_count_and_every_portal_page_counts_once(tenant_a: TenantFixture) -> None:
    _notify(tenant_a, tenant_a.owner_email, count=UNREAD_COUNT_CAP + 2)
    client = signed_in_client(tenant_a)
    with CaptureQueriesContext(connection) as queries:
        page = client.get("/team/").content.decode()
    assert sum('"notifications_notification"' in query["sql"] for query in queries.captured_queries) == 1
    assert f'<span class="bell-count">{UNREAD_COUNT_CAP}+<span class="visually-hidden"> unread</span></span>' in page

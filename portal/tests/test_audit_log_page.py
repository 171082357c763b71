"""The audit log portal page through HTTP: filters, pagination, empty states, roles, tenants."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
import time_machine
from django_tenants.utils import schema_context

from accounts.models import Role
from audit.models import ActorType, AuditEvent
from audit.services import Actor, audit_record
from conftest import client_for, make_member, signed_in_client

ROW = re.compile(r'<tr id="event-\d+">')
ALICE = Actor(type=ActorType.USER, id="41", label="alice@alpha.test")
ROBOT = Actor(type=ActorType.API_KEY, id="key_robot0000000001", label="Nightly export")


def _record(tenant_fixture, action: str, actor: Actor = ALICE, when: datetime | None = None, **kwargs) -> None:
    with schema_context(tenant_fixture.schema):
        if when is None:
            audit_record(action=action, actor=actor, **kwargs)
        else:
            with time_machine.travel(when, tick=False):
                audit_record(action=action, actor=actor, **kwargs)


def _rows(response) -> int:
    return len(ROW.findall(response.content.decode()))


def _page(tenant_fixture, query: str = ""):
    return signed_in_client(tenant_fixture).get(f"/audit-log/{query}")


def test_audit_log_shows_when_what_who_target_ip_and_request_id(tenant_a):
    signed_in_client(tenant_a).post(
        "/settings/api-keys/",
        {"name": "Audited key", "scopes": ["agents:read"]},
        REMOTE_ADDR="198.51.100.23",
        HTTP_X_REQUEST_ID="req-portal-audit-0001",
    )

    response = _page(tenant_a)

    assert response.status_code == 200
    row = response.content.decode().split("<tbody>")[1]
    assert "<code>api_key.created</code>" in row
    assert tenant_a.owner_email in row
    assert "Audited key" in row and "apikeys.apikey" in row
    assert "198.51.100.23" in row
    assert "req-portal-audit-0001" in row
    assert "<dt>scopes</dt>" in row  # the event's details


def test_audit_log_lists_newest_first(tenant_a):
    _record(tenant_a, "team.invited", when=datetime(2024, 1, 1, tzinfo=UTC))
    _record(tenant_a, "team.removed", when=datetime(2024, 3, 1, tzinfo=UTC))

    content = _page(tenant_a, "?action=team.").content.decode()

    assert content.index("team.removed</code>") < content.index("team.invited</code>")


def test_audit_log_action_menu_is_built_from_recorded_actions_grouped_by_prefix(tenant_a):
    _record(tenant_a, "api_key.created")
    _record(tenant_a, "api_key.revoked")
    _record(tenant_a, "team.role_changed")

    content = _page(tenant_a).content.decode()

    assert '<optgroup label="api_key">' in content
    assert '<option value="api_key.">All api_key events</option>' in content
    assert '<option value="api_key.revoked">api_key.revoked</option>' in content
    assert '<option value="team.role_changed">team.role_changed</option>' in content
    assert "api_key.rotated" not in content  # never recorded here


def test_audit_log_filters_by_action_prefix_and_exact_action(tenant_a):
    _record(tenant_a, "api_key.created")
    _record(tenant_a, "api_key.revoked")
    _record(tenant_a, "team.invited")

    prefix = _page(tenant_a, "?action=api_key.")
    exact = _page(tenant_a, "?action=api_key.revoked")

    assert _rows(prefix) == 2 and b"team.invited</code>" not in prefix.content
    assert _rows(exact) == 1 and b"api_key.revoked</code>" in exact.content
    assert b'<option value="api_key.revoked" selected>' in exact.content


def test_audit_log_filters_by_actor_email_or_key_id_and_links_to_that_filter(tenant_a):
    _record(tenant_a, "team.invited", actor=ALICE)
    _record(tenant_a, "api_key.created", actor=ROBOT)

    everything = _page(tenant_a).content.decode()
    by_email = _page(tenant_a, "?actor=ALICE@alpha.test")
    by_key = _page(tenant_a, "?actor=key_robot0000000001")

    assert 'href="?actor=alice%40alpha.test"' in everything
    assert 'href="?actor=key_robot0000000001"' in everything  # keys by id: names need not be unique
    assert _rows(by_email) == 1 and b"team.invited</code>" in by_email.content
    assert _rows(by_key) == 1 and b"api_key.created</code>" in by_key.content


def test_audit_log_actor_link_keeps_the_other_filters_and_drops_the_page(tenant_a):
    _record(tenant_a, "team.invited", actor=ALICE)

    content = _page(tenant_a, "?action=team.&page=1").content.decode()

    assert 'href="?action=team.&amp;actor=alice%40alpha.test"' in content


def test_audit_log_filters_by_whole_days(tenant_a):
    _record(tenant_a, "team.invited", when=datetime(2024, 5, 1, 23, 59, tzinfo=UTC))
    _record(tenant_a, "team.joined", when=datetime(2024, 5, 2, 0, 0, tzinfo=UTC))
    _record(tenant_a, "team.removed", when=datetime(2024, 5, 3, 23, 59, 59, tzinfo=UTC))
    _record(tenant_a, "team.role_changed", when=datetime(2024, 5, 4, 0, 0, tzinfo=UTC))

    response = _page(tenant_a, "?since=2024-05-02&until=2024-05-03")

    assert _rows(response) == 2
    assert b"team.joined</code>" in response.content and b"team.removed</code>" in response.content


def test_audit_log_rejects_a_reversed_date_range_and_shows_no_events(tenant_a):
    _record(tenant_a, "team.invited")

    response = _page(tenant_a, "?since=2024-05-03&until=2024-05-01")

    assert response.status_code == 400
    assert "Must be on or after the “From” date." in response.content.decode()
    assert b"Fix the filters above" in response.content
    assert _rows(response) == 0


def test_audit_log_empty_states(tenant_a, monkeypatch):
    _record(tenant_a, "team.invited")

    filtered = _page(tenant_a, "?actor=nobody@alpha.test")

    assert filtered.status_code == 200
    assert b"No events match these filters." in filtered.content
    assert b"Clear filters" in filtered.content
    # Every workspace records its own creation, so an empty trail is only reachable by stubbing.
    monkeypatch.setattr("portal.views.audit_log.audit_event_list", lambda **_: AuditEvent.objects.none())
    assert b"Nothing has been recorded yet." in _page(tenant_a).content


def test_audit_log_paginates_fifty_per_page_in_few_queries(tenant_a, django_assert_max_num_queries):
    for number in range(51):
        _record(tenant_a, "team.invited", when=datetime(2024, 1, 1, 0, number, tzinfo=UTC), data={"n": number})
    client = signed_in_client(tenant_a)

    with django_assert_max_num_queries(11):  # 10, plus the notification bell's unread count
        first = client.get("/audit-log/?action=team.invited")
    second = client.get("/audit-log/?action=team.invited&page=2")

    assert _rows(first) == 50
    assert b"Page 1 of 2" in first.content
    assert b'href="?action=team.invited&amp;page=2"' in first.content
    assert _rows(second) == 1
    assert b"<dt>n</dt><dd>0</dd>" in second.content  # the oldest is last


@pytest.mark.parametrize("role", [Role.MEMBER, Role.VIEWER])
def test_audit_log_is_forbidden_for_members_and_viewers(tenant_a, role):
    make_member(tenant_a, email="reader@alpha.test", role=role)

    response = signed_in_client(tenant_a, "reader@alpha.test").get("/audit-log/")

    assert response.status_code == 403
    assert b"does not allow this" in response.content


def test_audit_log_is_open_to_admins(tenant_a):
    make_member(tenant_a, email="admin@alpha.test", role=Role.ADMIN)

    assert signed_in_client(tenant_a, "admin@alpha.test").get("/audit-log/").status_code == 200


def test_audit_log_sends_anonymous_visitors_to_sign_in(tenant_a):
    response = client_for(tenant_a.host).get("/audit-log/")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/audit-log/"


def test_audit_log_tenant_b_never_sees_tenant_a_events(tenant_a, tenant_b):
    _record(tenant_a, "team.invited", actor=Actor(type=ActorType.USER, id="7", label="only-in-alpha@alpha.test"))

    b_page = _page(tenant_b).content.decode()
    b_filtered = _page(tenant_b, "?actor=only-in-alpha@alpha.test")

    assert "only-in-alpha@alpha.test" not in b_page
    assert b"No events match these filters." in b_filtered.content
    assert "only-in-alpha@alpha.test" in _page(tenant_a).content.decode()

"""The API keys portal page through HTTP: create, rotate, revoke, secrets shown once, roles, tenants."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone
from django.utils.html import escape
from django_tenants.utils import schema_context

from accounts.models import Role
from apikeys.models import ApiKey
from apikeys.scopes import ROLE_SCOPES, SCOPE_DESCRIPTIONS, Scope
from apikeys.secrets import api_key_hash
from apikeys.services import IssuedApiKey, api_key_create, api_key_revoke
from audit.models import AuditEvent
from audit.services import Actor
from conftest import client_for, make_member, signed_in_client

SECRET = re.compile(r'id="api-key-secret" value="(agk_live_[0-9A-Za-z]+)"')
SIGNING_SECRET = re.compile(r'id="api-key-signing-secret" value="(whsk_[\w-]+)"')
SUBMISSION = re.compile(r'name="submission" value="([\w-]+)"')


def _issue(tenant_fixture, name: str = "Existing", scopes: tuple[str, ...] = (Scope.AGENTS_READ,)) -> IssuedApiKey:
    return api_key_create(
        tenant=tenant_fixture.tenant,
        name=name,
        scopes=list(scopes),
        actor=Actor.system("tests"),
        granter_scopes=frozenset(scopes),
    )


def _events(tenant_fixture, action: str) -> list[AuditEvent]:
    with schema_context(tenant_fixture.schema):
        return list(AuditEvent.objects.filter(action=action))


def _create_form(**overrides) -> dict:
    return {"name": "CRM sync", "scopes": [Scope.AGENTS_READ, Scope.CHAT], **overrides}


def _secret_in(response) -> str:
    match = SECRET.search(response.content.decode())
    assert match, "no secret on the page"
    return match.group(1)


# --- Listing --------------------------------------------------------------------------------


def test_api_keys_page_lists_active_keys_by_default_and_all_on_request(tenant_a):
    active = _issue(tenant_a, name="Live dashboard").key
    revoked = api_key_revoke(key=_issue(tenant_a, name="Old importer").key, actor=Actor.system("tests"))
    client = signed_in_client(tenant_a)

    default = client.get("/settings/api-keys/").content.decode()
    everything = client.get("/settings/api-keys/?status=all").content.decode()
    only_revoked = client.get("/settings/api-keys/?status=revoked").content.decode()

    assert "Live dashboard" in default and "Old importer" not in default
    assert f"{active.prefix}…{active.last4}" in default
    assert "Live dashboard" in everything and "Old importer" in everything
    assert 'badge badge-revoked">Revoked' in everything
    assert "Old importer" in only_revoked and "Live dashboard" not in only_revoked
    assert f"/settings/api-keys/{revoked.pk}/revoke/" not in everything  # no actions on a revoked key


def test_api_keys_page_shows_an_empty_state(tenant_a):
    response = signed_in_client(tenant_a).get("/settings/api-keys/")

    assert response.status_code == 200
    assert b"No active keys yet." in response.content


def test_api_keys_page_offers_every_scope_of_an_owner_with_its_description(tenant_a):
    page = signed_in_client(tenant_a).get("/settings/api-keys/").content.decode()

    for scope in Scope:
        assert f'name="scopes" value="{scope}"' in page
        assert escape(SCOPE_DESCRIPTIONS[scope]) in page


def test_api_keys_page_paginates_fifty_keys_per_page(tenant_a, django_assert_max_num_queries):
    for number in range(51):
        _issue(tenant_a, name=f"Key {number:02d}")
    client = signed_in_client(tenant_a)

    with django_assert_max_num_queries(10):
        first = client.get("/settings/api-keys/")
    second = client.get("/settings/api-keys/?page=2")

    assert first.content.decode().count('<tr id="key-') == 50
    assert b"Page 1 of 2" in first.content
    assert b'href="?page=2"' in first.content
    assert second.content.decode().count('<tr id="key-') == 1
    assert b"Key 00" in second.content  # oldest last


# --- Create ---------------------------------------------------------------------------------


def test_api_keys_create_shows_the_secret_once_and_records_the_event(tenant_a):
    client = signed_in_client(tenant_a)

    response = client.post("/settings/api-keys/", _create_form(), REMOTE_ADDR="203.0.113.7")

    assert response.status_code == 201
    assert "no-store" in response["Cache-Control"]
    secret = _secret_in(response)
    assert b"Copy the secret now: you won't see it again." in response.content
    assert b"api-key-signing-secret" not in response.content
    key = ApiKey.objects.get(tenant=tenant_a.tenant, name="CRM sync")
    assert key.secret_hash == api_key_hash(secret)
    assert (key.scopes, key.created_by_label) == ([Scope.AGENTS_READ, Scope.CHAT], tenant_a.owner_email)
    [event] = _events(tenant_a, "api_key.created")
    assert (event.actor_label, event.target_id, event.ip_address) == (tenant_a.owner_email, key.pk, "203.0.113.7")
    assert event.request_id == response["X-Request-ID"]
    assert secret not in str(event.data)

    # Nowhere else: not on the next page, not in the session, not in a cookie (messages).
    listing = client.get("/settings/api-keys/")
    assert secret.encode() not in listing.content
    assert f"{key.prefix}…{key.last4}" in listing.content.decode()
    assert secret not in str(dict(client.session.items()))
    assert all(secret not in morsel.value for morsel in client.cookies.values())


def test_api_keys_create_with_expiry_allowlist_and_signing(tenant_a):
    expires_on = (timezone.now() + timedelta(days=30)).date()

    response = signed_in_client(tenant_a).post(
        "/settings/api-keys/",
        _create_form(
            expires_at=expires_on.isoformat(),
            allowed_cidrs="203.0.113.0/24\r\n\r\n  2001:db8::1 \r\n",
            signing_required="on",
        ),
    )

    assert response.status_code == 201
    assert SIGNING_SECRET.search(response.content.decode())
    key = ApiKey.objects.get(tenant=tenant_a.tenant, name="CRM sync")
    assert key.expires_at == datetime(expires_on.year, expires_on.month, expires_on.day, tzinfo=UTC)
    assert key.allowed_cidrs == ["203.0.113.0/24", "2001:db8::1/128"]
    assert key.signing_required is True


CREATE_ERRORS = {
    "no name": ({"name": ""}, "This field is required."),
    "no scopes": ({"scopes": []}, "Choose at least one scope."),
    "unknown scope": ({"scopes": ["everything"]}, "“everything” is not a scope you can grant."),
    "bad range": ({"allowed_cidrs": "10.0.0.0/8\nnot-an-ip"}, "“not-an-ip” is not an IPv4 or IPv6 address"),
    "past expiry": ({"expires_at": "2020-01-01"}, "Must be in the future."),
    "bad date": ({"expires_at": "someday"}, "Enter a valid date."),
}


@pytest.mark.parametrize(("overrides", "message"), CREATE_ERRORS.values(), ids=CREATE_ERRORS.keys())
def test_api_keys_create_errors_rerender_the_form_and_create_nothing(tenant_a, overrides, message):
    response = signed_in_client(tenant_a).post("/settings/api-keys/", _create_form(**overrides))

    assert response.status_code == 400
    assert message in response.content.decode()
    assert b"Create an API key" in response.content
    assert not ApiKey.objects.filter(tenant=tenant_a.tenant).exists()
    assert _events(tenant_a, "api_key.created") == []


def test_api_keys_create_over_the_limit_is_a_conflict_shown_on_the_form(tenant_a, monkeypatch):
    monkeypatch.setattr("apikeys.services.MAX_KEYS_PER_TENANT", 1)
    _issue(tenant_a)

    response = signed_in_client(tenant_a).post("/settings/api-keys/", _create_form())

    assert response.status_code == 409
    assert "at most 1 active keys" in response.content.decode()
    assert ApiKey.objects.filter(tenant=tenant_a.tenant).count() == 1


def test_api_keys_resubmitted_create_form_makes_no_second_key(tenant_a):
    client = signed_in_client(tenant_a)
    token = SUBMISSION.search(client.get("/settings/api-keys/").content.decode()).group(1)

    first = client.post("/settings/api-keys/", _create_form(submission=token))
    again = client.post("/settings/api-keys/", _create_form(submission=token), follow=True)

    assert first.status_code == 201
    assert b"That form was already sent" in again.content
    assert not SECRET.search(again.content.decode())
    assert ApiKey.objects.filter(tenant=tenant_a.tenant).count() == 1


def test_api_keys_failed_create_can_be_corrected_and_resent_with_the_same_form(tenant_a):
    client = signed_in_client(tenant_a)
    token = SUBMISSION.search(client.get("/settings/api-keys/").content.decode()).group(1)

    refused = client.post("/settings/api-keys/", _create_form(submission=token, allowed_cidrs="nope"))
    corrected = client.post("/settings/api-keys/", _create_form(submission=token))

    assert (refused.status_code, corrected.status_code) == (400, 201)


# --- Scopes beyond the user's role ----------------------------------------------------------


def test_api_keys_scopes_beyond_the_users_role_are_not_offered_and_refused(tenant_a, monkeypatch):
    admin_scopes = frozenset({Scope.AGENTS_READ, Scope.KEYS_MANAGE})
    monkeypatch.setitem(ROLE_SCOPES, Role.ADMIN, admin_scopes)
    make_member(tenant_a, email="admin@alpha.test", role=Role.ADMIN)
    client = signed_in_client(tenant_a, "admin@alpha.test")

    page = client.get("/settings/api-keys/").content.decode()
    refused = client.post("/settings/api-keys/", _create_form(scopes=[Scope.AGENTS_READ, Scope.BILLING_WRITE]))
    allowed = client.post("/settings/api-keys/", _create_form(scopes=[Scope.AGENTS_READ]))

    assert set(re.findall(r'name="scopes" value="([^"]+)"', page)) == admin_scopes
    assert refused.status_code == 400
    assert "“billing:write” is not a scope you can grant." in refused.content.decode()
    assert allowed.status_code == 201
    assert [key.scopes for key in ApiKey.objects.filter(tenant=tenant_a.tenant)] == [[Scope.AGENTS_READ]]


# --- Rotate ---------------------------------------------------------------------------------


def test_api_keys_rotate_shows_the_new_secret_once_and_keeps_the_old_for_the_overlap(tenant_a):
    issued = _issue(tenant_a, name="Billing export")
    client = signed_in_client(tenant_a)

    form = client.get(f"/settings/api-keys/{issued.key.pk}/rotate/")
    response = client.post(f"/settings/api-keys/{issued.key.pk}/rotate/", {"overlap_seconds": "3600"})

    assert form.status_code == 200
    assert b"Rotate \xe2\x80\x9cBilling export\xe2\x80\x9d" in form.content
    for choice in (b"None: the old secret stops working now", b"1 hour", b"24 hours", b"7 days"):
        assert choice in form.content
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    new_secret = _secret_in(response)
    assert new_secret != issued.secret
    assert b"Keeps working until" in response.content
    key = ApiKey.objects.get(pk=issued.key.pk)
    assert (key.secret_hash, key.previous_secret_hash) == (api_key_hash(new_secret), api_key_hash(issued.secret))
    assert key.previous_valid_until > timezone.now() + timedelta(minutes=59)
    [event] = _events(tenant_a, "api_key.rotated")
    assert (event.actor_label, event.target_id, event.data) == (tenant_a.owner_email, key.pk, {"overlap_seconds": 3600})
    assert new_secret.encode() not in client.get("/settings/api-keys/").content


def test_api_keys_rotate_without_overlap_drops_the_old_secret(tenant_a):
    issued = _issue(tenant_a)

    response = signed_in_client(tenant_a).post(f"/settings/api-keys/{issued.key.pk}/rotate/", {"overlap_seconds": "0"})

    assert b"Stopped working now" in response.content
    assert ApiKey.objects.get(pk=issued.key.pk).previous_secret_hash is None


def test_api_keys_rotate_refuses_an_overlap_that_is_not_offered(tenant_a):
    issued = _issue(tenant_a)

    response = signed_in_client(tenant_a).post(
        f"/settings/api-keys/{issued.key.pk}/rotate/", {"overlap_seconds": "9999999"}
    )

    assert response.status_code == 400
    assert b"Select a valid choice." in response.content
    assert ApiKey.objects.get(pk=issued.key.pk).secret_hash == issued.key.secret_hash


def test_api_keys_rotate_of_a_revoked_key_is_refused(tenant_a):
    key = api_key_revoke(key=_issue(tenant_a).key, actor=Actor.system("tests"))
    client = signed_in_client(tenant_a)

    page = client.get(f"/settings/api-keys/{key.pk}/rotate/")
    response = client.post(f"/settings/api-keys/{key.pk}/rotate/", {"overlap_seconds": "0"})

    assert b"only active keys can be rotated" in page.content
    assert b"Rotate key" not in page.content
    assert response.status_code == 409
    assert b"only active keys can be rotated" in response.content
    assert _events(tenant_a, "api_key.rotated") == []


def test_api_keys_rotating_a_key_stronger_than_the_users_role_is_refused(tenant_a, monkeypatch):
    monkeypatch.setitem(ROLE_SCOPES, Role.ADMIN, frozenset({Scope.AGENTS_READ, Scope.KEYS_MANAGE}))
    make_member(tenant_a, email="admin@alpha.test", role=Role.ADMIN)
    issued = _issue(tenant_a, scopes=(Scope.AGENTS_READ, Scope.BILLING_WRITE))

    response = signed_in_client(tenant_a, "admin@alpha.test").post(
        f"/settings/api-keys/{issued.key.pk}/rotate/", {"overlap_seconds": "0"}
    )

    assert response.status_code == 403
    assert "scopes you do not have: billing:write" in response.content.decode()
    assert not SECRET.search(response.content.decode())
    assert ApiKey.objects.get(pk=issued.key.pk).secret_hash == issued.key.secret_hash


def test_api_keys_resubmitted_rotation_does_not_rotate_twice(tenant_a):
    issued = _issue(tenant_a)
    client = signed_in_client(tenant_a)
    path = f"/settings/api-keys/{issued.key.pk}/rotate/"
    token = SUBMISSION.search(client.get(path).content.decode()).group(1)

    first = client.post(path, {"overlap_seconds": "0", "submission": token})
    again = client.post(path, {"overlap_seconds": "0", "submission": token}, follow=True)

    assert ApiKey.objects.get(pk=issued.key.pk).secret_hash == api_key_hash(_secret_in(first))
    assert b"That form was already sent" in again.content
    assert len(_events(tenant_a, "api_key.rotated")) == 1


# --- Revoke ---------------------------------------------------------------------------------


def test_api_keys_revoke_asks_for_confirmation_then_revokes(tenant_a):
    issued = _issue(tenant_a, name="Zapier")
    client = signed_in_client(tenant_a)

    confirm = client.get(f"/settings/api-keys/{issued.key.pk}/revoke/")
    assert confirm.status_code == 200
    assert "Revoke “Zapier”?" in confirm.content.decode()
    assert ApiKey.objects.get(pk=issued.key.pk).revoked_at is None

    response = client.post(f"/settings/api-keys/{issued.key.pk}/revoke/", follow=True)

    assert response.redirect_chain == [("/settings/api-keys/", 302)]
    assert "“Zapier” was revoked." in response.content.decode()
    assert ApiKey.objects.get(pk=issued.key.pk).revoked_at is not None
    [event] = _events(tenant_a, "api_key.revoked")
    assert (event.actor_label, event.target_id) == (tenant_a.owner_email, issued.key.pk)


def test_api_keys_revoke_twice_explains_instead_of_failing(tenant_a):
    key = api_key_revoke(key=_issue(tenant_a).key, actor=Actor.system("tests"))

    response = signed_in_client(tenant_a).post(f"/settings/api-keys/{key.pk}/revoke/", follow=True)

    assert response.status_code == 200
    assert b"This key is already revoked." in response.content


# --- Who may use the page -------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.MEMBER, Role.VIEWER])
def test_api_keys_pages_are_forbidden_for_members_and_viewers(tenant_a, role):
    key = _issue(tenant_a).key
    make_member(tenant_a, email="reader@alpha.test", role=role)
    client = signed_in_client(tenant_a, "reader@alpha.test")

    responses = [
        client.get("/settings/api-keys/"),
        client.post("/settings/api-keys/", _create_form(scopes=[Scope.AGENTS_READ])),
        client.get(f"/settings/api-keys/{key.pk}/rotate/"),
        client.post(f"/settings/api-keys/{key.pk}/rotate/", {"overlap_seconds": "0"}),
        client.get(f"/settings/api-keys/{key.pk}/revoke/"),
        client.post(f"/settings/api-keys/{key.pk}/revoke/"),
    ]

    assert [response.status_code for response in responses] == [403] * 6
    stored = ApiKey.objects.get(tenant=tenant_a.tenant)
    assert (stored.secret_hash, stored.revoked_at) == (key.secret_hash, None)
    dashboard = client.get("/").content
    assert b'href="/settings/api-keys/"' not in dashboard
    assert b'href="/audit-log/"' not in dashboard


def test_api_keys_pages_send_anonymous_visitors_to_sign_in(tenant_a):
    key = _issue(tenant_a).key
    client = client_for(tenant_a.host)

    for path in ("/settings/api-keys/", f"/settings/api-keys/{key.pk}/rotate/", f"/settings/api-keys/{key.pk}/revoke/"):
        response = client.post(path, {"overlap_seconds": "0"})
        assert response.status_code == 302, path
        assert response["Location"].startswith("/accounts/login/"), path
    assert ApiKey.objects.get(pk=key.pk).revoked_at is None


@pytest.mark.parametrize("role", [Role.OWNER, Role.ADMIN])
def test_api_keys_managers_find_the_page_in_the_nav_and_settings(tenant_a, role):
    make_member(tenant_a, email="manager@alpha.test", role=role)
    client = signed_in_client(tenant_a, "manager@alpha.test")

    dashboard = client.get("/").content.decode()
    settings_page = client.get("/settings/").content.decode()

    assert re.search(r'<a href="/settings/api-keys/"\s*>API keys</a>', dashboard)
    assert re.search(r'<a href="/audit-log/"\s*>Audit log</a>', dashboard)
    assert 'href="/settings/api-keys/"' in settings_page.split("Integrations")[1]
    assert 'href="/settings/api-keys/" aria-current="page"' in client.get("/settings/api-keys/").content.decode()


# --- Two tenants ----------------------------------------------------------------------------


def test_api_keys_tenant_b_never_sees_or_touches_tenant_a_keys(tenant_a, tenant_b):
    a_key = _issue(tenant_a, name="Alpha secret integration").key
    client_b = signed_in_client(tenant_b)

    listing = client_b.get("/settings/api-keys/?status=all").content.decode()
    responses = [
        client_b.get(f"/settings/api-keys/{a_key.pk}/revoke/"),
        client_b.post(f"/settings/api-keys/{a_key.pk}/revoke/"),
        client_b.get(f"/settings/api-keys/{a_key.pk}/rotate/"),
        client_b.post(f"/settings/api-keys/{a_key.pk}/rotate/", {"overlap_seconds": "0"}),
    ]

    assert "Alpha secret integration" not in listing
    assert a_key.pk not in listing and f"{a_key.prefix}…{a_key.last4}" not in listing
    assert "No active keys" in listing or "No keys match" in listing
    assert [response.status_code for response in responses] == [404] * 4
    stored = ApiKey.objects.get(pk=a_key.pk)
    assert (stored.secret_hash, stored.revoked_at) == (a_key.secret_hash, None)
    assert _events(tenant_a, "api_key.revoked") == [] and _events(tenant_b, "api_key.revoked") == []


def test_api_keys_created_on_tenant_b_belong_to_b_only(tenant_a, tenant_b):
    signed_in_client(tenant_b).post("/settings/api-keys/", _create_form(name="Beta key"))

    assert ApiKey.objects.get(name="Beta key").tenant == tenant_b.tenant
    assert b"Beta key" not in signed_in_client(tenant_a).get("/settings/api-keys/").content
    assert len(_events(tenant_b, "api_key.created")) == 1
    assert _events(tenant_a, "api_key.created") == []

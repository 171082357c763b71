"""allauth's flows end to end on tenant hosts: TOTP two-factor, password reset, email
verification, sign-out and removed members. Real pages, real mail outbox, no mocks.
"""

from __future__ import annotations

import re
import time
from urllib.parse import quote

from allauth.account.models import EmailAddress
from allauth.mfa import app_settings as mfa_settings
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import SECRET_SESSION_KEY, format_hotp_value, hotp_value
from django.core import mail
from django.core.mail import EmailMessage
from django.test import Client
from django_tenants.utils import schema_context

from accounts.models import Role, User
from accounts.services import member_remove
from conftest import PASSWORD, TenantFixture, client_for, make_member, signed_in_client

NEW_PASSWORD = "another-long-passphrase-42"
TOTP_ACTIVATE = "/accounts/2fa/totp/activate/"
MFA_AUTHENTICATE = "/accounts/2fa/authenticate/"
RESET_KEY_LINK = re.compile(r"http://(?P<host>[^/\s]+)(?P<path>/accounts/password/reset/key/\S+/)")
CONFIRM_LINK = re.compile(r"http://(?P<host>[^/\s]+)(?P<path>/accounts/confirm-email/\S+/)")


def _sign_in(client: Client, email: str, password: str = PASSWORD):  # type: ignore[no-untyped-def]
    return client.post("/accounts/login/", {"login": email, "password": password})


def _is_signed_in(client: Client) -> bool:
    return client.get("/").status_code == 200


def _client_after_sign_in(host: str, email: str, password: str) -> Client:
    client = client_for(host)
    _sign_in(client, email, password)
    return client


def _user(schema: str, email: str) -> User:
    with schema_context(schema):
        return User.objects.get(email=email)


# --- TOTP two-factor ------------------------------------------------------------------------


def _current_totp_code(secret: str) -> str:
    """The code an authenticator app shows now (allauth's default tolerance is 0 windows).

    Waits out the last second of a window so the code cannot expire between here and the server.
    """
    period = mfa_settings.TOTP_PERIOD
    if period - time.time() % period < 1:
        time.sleep(1.1)
    return format_hotp_value(hotp_value(secret, int(time.time()) // period))


def _another_code(code: str) -> str:
    return f"{(int(code) + 1) % 10 ** len(code):0{len(code)}}"


def _activate_totp(client: Client) -> str:
    """Walk allauth's pages as a signed-in user would (confirm the password, scan, type the code)."""
    asked = client.get(TOTP_ACTIVATE)
    assert asked.status_code == 302
    assert asked["Location"] == f"/accounts/reauthenticate/?next={quote(TOTP_ACTIVATE, safe='')}"
    assert client.get(asked["Location"]).status_code == 200
    page = client.post(asked["Location"], {"password": PASSWORD}, follow=True)
    assert page.redirect_chain == [(TOTP_ACTIVATE, 302)]
    secret = client.session[SECRET_SESSION_KEY]  # shown to the user as the QR code / text key
    assert secret.encode() in page.content

    activated = client.post(TOTP_ACTIVATE, {"code": _current_totp_code(secret)})

    assert activated.status_code == 302
    assert activated["Location"] == "/accounts/2fa/recovery-codes/"
    return secret


def _owner_with_totp(tenant: TenantFixture) -> tuple[Client, str]:
    client = signed_in_client(tenant)
    return client, _activate_totp(client)


def _recovery_codes(client: Client) -> list[str]:
    response = client.get("/accounts/2fa/recovery-codes/download/")
    assert response.status_code == 200
    return response.content.decode().split()


def _authenticator_types(schema: str) -> set[str]:
    with schema_context(schema):
        return set(Authenticator.objects.values_list("type", flat=True))


def test_totp_activation_through_allauth_pages_creates_authenticators_in_tenant_a_only(tenant_a, tenant_b):
    client, _ = _owner_with_totp(tenant_a)

    assert client.get("/accounts/2fa/").status_code == 200
    assert _authenticator_types(tenant_a.schema) == {Authenticator.Type.TOTP, Authenticator.Type.RECOVERY_CODES}
    assert _authenticator_types(tenant_b.schema) == set()
    assert _authenticator_types("public") == set()
    with schema_context(tenant_a.schema):
        totp = Authenticator.objects.get(type=Authenticator.Type.TOTP)
        assert totp.user.email == tenant_a.owner_email


def test_totp_activation_refuses_a_wrong_code(tenant_a):
    client = signed_in_client(tenant_a)
    client.post(client.get(TOTP_ACTIVATE)["Location"], {"password": PASSWORD})
    client.get(TOTP_ACTIVATE)
    secret = client.session[SECRET_SESSION_KEY]

    response = client.post(TOTP_ACTIVATE, {"code": _another_code(_current_totp_code(secret))})

    assert response.status_code == 200  # the form again, with its error
    assert response.context["form"].errors["code"]
    assert _authenticator_types(tenant_a.schema) == set()


def test_totp_sign_in_waits_for_the_code_and_refuses_a_wrong_one(tenant_a):
    _, secret = _owner_with_totp(tenant_a)
    client = client_for(tenant_a.host)

    first_step = _sign_in(client, tenant_a.owner_email)

    assert first_step.status_code == 302
    assert first_step["Location"] == MFA_AUTHENTICATE
    portal = client.get("/")
    assert portal.status_code == 302
    assert portal["Location"].startswith("/accounts/login/")
    assert client.get(MFA_AUTHENTICATE).status_code == 200

    wrong = client.post(MFA_AUTHENTICATE, {"code": _another_code(_current_totp_code(secret))})

    assert wrong.status_code == 200
    assert wrong.context["form"].errors["code"]
    assert not _is_signed_in(client)

    right = client.post(MFA_AUTHENTICATE, {"code": _current_totp_code(secret)})

    assert right.status_code == 302
    assert right["Location"] == "/"
    assert _is_signed_in(client)


def test_totp_the_password_alone_still_signs_in_where_no_two_factor_is_set_up(tenant_a, tenant_b):
    """The same address on tenant B is another person, without A's authenticator."""
    _owner_with_totp(tenant_a)
    make_member(tenant_b, email=tenant_a.owner_email, role=Role.OWNER)
    on_b = client_for(tenant_b.host)

    response = _sign_in(on_b, tenant_a.owner_email)

    assert response.status_code == 302
    assert response["Location"] == "/"
    assert _is_signed_in(on_b)


def test_totp_recovery_code_signs_in_once(tenant_a):
    owner_client, _ = _owner_with_totp(tenant_a)
    codes = _recovery_codes(owner_client)
    assert len(codes) == mfa_settings.RECOVERY_CODE_COUNT

    first = client_for(tenant_a.host)
    _sign_in(first, tenant_a.owner_email)
    assert first.post(MFA_AUTHENTICATE, {"code": codes[0]})["Location"] == "/"
    assert _is_signed_in(first)

    again = client_for(tenant_a.host)
    _sign_in(again, tenant_a.owner_email)
    reused = again.post(MFA_AUTHENTICATE, {"code": codes[0]})

    assert reused.status_code == 200
    assert reused.context["form"].errors["code"]
    assert not _is_signed_in(again)
    assert again.post(MFA_AUTHENTICATE, {"code": codes[1]})["Location"] == "/"  # the others still work


# --- Password reset -------------------------------------------------------------------------


def _reset_links(messages: list[EmailMessage]) -> list[re.Match[str]]:
    return [match for message in messages for match in RESET_KEY_LINK.finditer(str(message.body))]


def test_password_reset_email_link_sets_a_new_password_on_the_tenant(tenant_a):
    make_member(tenant_a, email="forgetful@alpha.test")
    client = client_for(tenant_a.host)

    requested = client.post("/accounts/password/reset/", {"email": "Forgetful@Alpha.test"})

    assert requested.status_code == 302
    [message] = mail.outbox
    assert message.to == ["forgetful@alpha.test"]
    assert message.subject.startswith(f"[{tenant_a.tenant.name}] ")
    assert f"Hello from {tenant_a.tenant.name}!" in message.body  # the workspace, not the hostname
    [link] = _reset_links([message])
    assert link["host"] == tenant_a.host

    form_page = client.get(link["path"], follow=True)  # allauth moves the key into the session
    assert form_page.status_code == 200
    set_password_path = form_page.redirect_chain[-1][0]
    changed = client.post(set_password_path, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})

    assert changed.status_code == 302
    assert _is_signed_in(_client_after_sign_in(tenant_a.host, "forgetful@alpha.test", NEW_PASSWORD))
    assert not _is_signed_in(_client_after_sign_in(tenant_a.host, "forgetful@alpha.test", PASSWORD))
    assert client.get(link["path"], follow=True).context["token_fail"]  # the link is spent


def test_password_reset_requested_on_tenant_b_cannot_touch_tenant_a_user(tenant_a, tenant_b):
    make_member(tenant_a, email="only-on-a@alpha.test")
    password_before = _user(tenant_a.schema, "only-on-a@alpha.test").password

    response = client_for(tenant_b.host).post("/accounts/password/reset/", {"email": "only-on-a@alpha.test"})

    assert response.status_code == 302  # same answer as for a known address: no account probing
    assert _reset_links(mail.outbox) == []  # at most allauth's "no account here" notice
    assert all(tenant_b.tenant.name in message.subject for message in mail.outbox)
    assert _user(tenant_a.schema, "only-on-a@alpha.test").password == password_before


def test_password_reset_link_of_tenant_a_is_refused_on_tenant_b(tenant_a, tenant_b):
    """User ids repeat across schemas (each starts at 1), so the token must not carry over."""
    assert _user(tenant_a.schema, tenant_a.owner_email).pk == _user(tenant_b.schema, tenant_b.owner_email).pk
    client_for(tenant_a.host).post("/accounts/password/reset/", {"email": tenant_a.owner_email})
    [link] = _reset_links(mail.outbox)
    on_b = client_for(tenant_b.host)

    page = on_b.get(link["path"])

    assert page.status_code == 200
    assert page.context["token_fail"]
    on_b.post(link["path"], {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert not _is_signed_in(_client_after_sign_in(tenant_b.host, tenant_b.owner_email, NEW_PASSWORD))
    assert _is_signed_in(_client_after_sign_in(tenant_b.host, tenant_b.owner_email, PASSWORD))
    assert client_for(tenant_a.host).get(link["path"])["Location"].endswith("-set-password/")  # still good on A


# --- Email verification after self-service signup -------------------------------------------


def _signup(slug: str, email: str) -> Client:
    """Sign a company up on the public host and follow the hand-off; the portal client is returned."""
    response = client_for("localhost").post(
        "/signup/",
        {"company_name": slug.title(), "slug": slug, "email": email, "password": NEW_PASSWORD, "plan": "starter"},
    )
    assert response.status_code == 302, response.content
    portal = client_for(f"{slug}.localhost")
    assert portal.get(response["Location"].removeprefix(f"http://{slug}.localhost"))["Location"] == "/"
    return portal


def _confirmation_link(email: str) -> re.Match[str]:
    [message] = [message for message in mail.outbox if message.to == [email]]
    match = CONFIRM_LINK.search(str(message.body))
    assert match, message.body
    return match


def _is_verified(schema: str, email: str) -> bool:
    with schema_context(schema):
        return EmailAddress.objects.get(email=email).verified


def test_email_verification_link_from_signup_confirms_on_the_new_tenant(db):
    portal = _signup("hooli-verify", "gavin@hooli.test")
    assert not _is_verified("t_hooli_verify", "gavin@hooli.test")
    [message] = mail.outbox
    assert message.subject.startswith("[Hooli-Verify] ")
    link = _confirmation_link("gavin@hooli.test")
    assert link["host"] == "hooli-verify.localhost"

    page = portal.get(link["path"])

    assert page.status_code == 200
    assert b"gavin@hooli.test" in page.content
    assert not _is_verified("t_hooli_verify", "gavin@hooli.test")  # GET only asks

    confirmed = portal.post(link["path"])

    assert confirmed.status_code == 302
    assert _is_verified("t_hooli_verify", "gavin@hooli.test")


def test_email_verification_link_of_one_tenant_does_not_verify_another_tenants_address(db):
    """Someone signs up claiming an address they cannot read, then replays the link their own
    signup mailed them: both addresses are row 1 of their schema, so an id-based key would match.
    """
    claimant_portal = _signup("endframe", "ceo@bigcorp.test")
    _signup("pied-piper", "richard@piedpiper.test")
    with schema_context("t_endframe"):
        claimed_pk = EmailAddress.objects.get(email="ceo@bigcorp.test").pk
    with schema_context("t_pied_piper"):
        assert EmailAddress.objects.get(email="richard@piedpiper.test").pk == claimed_pk
    link = _confirmation_link("richard@piedpiper.test")

    claimant_portal.post(link["path"])

    assert not _is_verified("t_endframe", "ceo@bigcorp.test")
    assert not _is_verified("t_pied_piper", "richard@piedpiper.test")


# --- Sign-out and removed members -----------------------------------------------------------


def test_logout_post_ends_the_session(tenant_a):
    client = client_for(tenant_a.host)
    _sign_in(client, tenant_a.owner_email)
    assert _is_signed_in(client)

    asked = client.get("/accounts/logout/")  # GET only asks for confirmation
    assert asked.status_code == 200
    assert _is_signed_in(client)

    response = client.post("/accounts/logout/")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/"
    portal = client.get("/")
    assert portal.status_code == 302
    assert portal["Location"] == "/accounts/login/?next=/"


def test_login_refused_for_a_removed_member(tenant_a):
    leaver = make_member(tenant_a, email="leaver@alpha.test")
    with schema_context(tenant_a.schema):
        member_remove(member=leaver, actor_user=User.objects.get(email=tenant_a.owner_email))
    client = client_for(tenant_a.host)

    response = _sign_in(client, "leaver@alpha.test")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/inactive/"
    assert client.get("/accounts/inactive/").status_code == 200
    assert not _is_signed_in(client)

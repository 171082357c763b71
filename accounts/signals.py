"""Sign-ins and failed sign-ins go to the audit trail of the schema they happened in.

Django announces them only through these signals (allauth's login goes through
django.contrib.auth.login), so receivers are the one place to catch them.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from accounts.services import auth_event_record


@receiver(user_logged_in)
def on_logged_in(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    auth_event_record(action="auth.login", email=user.email, user=user)


@receiver(user_logged_out)
def on_logged_out(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if user is not None:
        auth_event_record(action="auth.logout", email=user.email, user=user)


@receiver(user_login_failed)
def on_login_failed(sender: Any, credentials: dict[str, Any], request: Any = None, **kwargs: Any) -> None:
    email = str(credentials.get("email") or credentials.get("username") or credentials.get("login") or "")
    auth_event_record(action="auth.login_failed", email=email)

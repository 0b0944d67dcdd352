"""Security events into the audit chain: sign-ins, second factors, passwords.

Failed sign-ins are logged (username only, never what was typed) rather than
chained: an anonymous stranger must not be able to grow the audit log at will.
allauth's rate limits bound them anyway.
"""

from __future__ import annotations

import logging
from typing import Any

from allauth.account.signals import password_changed, password_reset, password_set
from allauth.mfa.signals import authenticator_added, authenticator_removed, authenticator_reset
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.dispatch import receiver
from django.http import HttpRequest

from herald.audit.actions import record

log = logging.getLogger("herald.accounts")


def _ip(request: HttpRequest | None) -> str:
    return str(request.META.get("REMOTE_ADDR", "")) if request is not None else ""


def _on_user(user: Any, action: str, request: HttpRequest | None, **after: Any) -> None:
    record(
        acting_user=user,
        action=action,
        obj=user,
        object_type="auth.user",
        object_id=user.get_username(),
        after={**after, "ip": _ip(request)},
    )


@receiver(user_logged_in, dispatch_uid="herald.accounts.login")
def logged_in(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    _on_user(user, "account.login", request)


@receiver(user_login_failed, dispatch_uid="herald.accounts.login_failed")
def login_failed(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    # Django has already masked anything sensitive in ``credentials``; keep only the name.
    name = str(credentials.get("username") or credentials.get("email") or "")[:150]
    log.warning("failed sign-in for %r from %s", name, _ip(request))


@receiver(authenticator_added, dispatch_uid="herald.accounts.mfa_added")
def mfa_added(sender: Any, request: HttpRequest, user: Any, authenticator: Any, **kw: Any) -> None:
    _on_user(user, "mfa.add", request, type=str(authenticator.type))


@receiver(authenticator_removed, dispatch_uid="herald.accounts.mfa_removed")
def mfa_removed(
    sender: Any, request: HttpRequest, user: Any, authenticator: Any, **kw: Any
) -> None:
    _on_user(user, "mfa.remove", request, type=str(authenticator.type))


@receiver(authenticator_reset, dispatch_uid="herald.accounts.mfa_reset")
def mfa_reset(sender: Any, request: HttpRequest, user: Any, authenticator: Any, **kw: Any) -> None:
    _on_user(user, "mfa.reset", request, type=str(authenticator.type))


@receiver(password_changed, dispatch_uid="herald.accounts.password_changed")
@receiver(password_set, dispatch_uid="herald.accounts.password_set")
@receiver(password_reset, dispatch_uid="herald.accounts.password_reset")
def password_event(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    _on_user(user, "account.password", request)

"""Herald's allauth adapters: invitation-only sign-up, where to go after login, MFA at rest.

- Nobody signs up on their own. A person arrives with an invitation link; by
  password (``views.accept``) or through a single sign-on provider, which may
  create the account only while a usable invitation is in the session.
- After login, anyone who must have a second factor and has none is sent to set
  one up (the sign-in counts as a recent authentication, so the password is not
  asked again); then staff go to the desk and collaborators to their account page.
- TOTP secrets are encrypted in the database with a key derived from SECRET_KEY.
- The last second factor of someone who needs one cannot be removed.
"""

from __future__ import annotations

import base64
import time
from typing import Any

from allauth.account import app_settings as account_settings
from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.internal.flows.login import get_authentication_records
from allauth.mfa.adapter import DefaultMFAAdapter
from allauth.mfa.models import Authenticator
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from cryptography.fernet import Fernet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.crypto import salted_hmac

from herald.accounts import access
from herald.accounts.models import Invitation
from herald.core.clientip import client_ip

INVITATION_SESSION_KEY = "herald_invitation"


def invitation_in_session(request: HttpRequest) -> Invitation | None:
    pk = request.session.get(INVITATION_SESSION_KEY)
    if not isinstance(pk, int):
        return None
    invitation = Invitation.objects.filter(pk=pk).first()
    return invitation if invitation is not None and invitation.is_usable else None


def signed_in_recently(request: HttpRequest | None) -> bool:
    """Whether this session's user authenticated (signed in or reauthenticated) within
    the reauthentication timeout, by any method (password, second factor, SSO)."""
    if request is None or not request.user.is_authenticated:
        return False
    records = get_authentication_records(request, request.user)
    newest = max((r.get("at", 0) for r in records if isinstance(r, dict)), default=0)
    return time.time() - float(newest) < account_settings.REAUTHENTICATION_TIMEOUT


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest) -> bool:
        # Password sign-up happens only on the invitation page, never on allauth's form.
        return False

    def is_reauthentication_required(self, *, app: str, **kwargs: Any) -> bool:
        """A sign-in within ``ACCOUNT_REAUTHENTICATION_TIMEOUT`` counts as a recent one.

        allauth counts only explicit reauthentications, so someone sent from the login
        to set up a second factor was asked for the password they had just typed."""
        required = bool(super().is_reauthentication_required(app=app, **kwargs))
        return required and not signed_in_recently(self.request)

    def get_client_ip(self, request: HttpRequest) -> str:
        """The address allauth's per-address limits count: Herald's one reading of it."""
        return client_ip(request) or super().get_client_ip(request)

    def get_login_redirect_url(self, request: HttpRequest) -> str:
        user = request.user
        if access.needs_mfa(user) and not access.has_mfa(user):
            return reverse("mfa_index")
        if access.can(user, "desk.work"):
            return super().get_login_redirect_url(request)
        if access.can(user, "desk.view"):
            return reverse("web:advisory_list")
        return reverse("accounts:home")


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest, sociallogin: Any) -> bool:
        return invitation_in_session(request) is not None

    def save_user(self, request: HttpRequest, sociallogin: Any, form: Any = None) -> Any:
        from herald.accounts.actions import do_accept_invitation_for

        invitation = invitation_in_session(request)
        if invitation is not None:
            sociallogin.user.email = invitation.email
        user = super().save_user(request, sociallogin, form)
        if invitation is not None:
            do_accept_invitation_for(invitation, user)
            request.session.pop(INVITATION_SESSION_KEY, None)
        return user


def _fernet() -> Fernet:
    key = salted_hmac("herald.accounts.mfa", "totp-secrets", algorithm="sha256").digest()
    return Fernet(base64.urlsafe_b64encode(key))


class MFAAdapter(DefaultMFAAdapter):
    def encrypt(self, text: str) -> str:
        return _fernet().encrypt(text.encode()).decode()

    def decrypt(self, encrypted_text: str) -> str:
        return _fernet().decrypt(encrypted_text.encode()).decode()

    def get_totp_issuer(self) -> str:
        from herald.core.models import VendorProfile

        return f"Herald ({VendorProfile.get().name})"

    def can_delete_authenticator(self, authenticator: Authenticator) -> bool:
        user = authenticator.user
        if authenticator.type == Authenticator.Type.RECOVERY_CODES or not access.needs_mfa(user):
            return True
        others = Authenticator.objects.filter(
            user_id=user.pk, type__in=[Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN]
        ).exclude(pk=authenticator.pk)
        return others.exists()

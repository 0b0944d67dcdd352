"""What the accounts tests share: a signed-in client per member of the cast, and a token."""

from __future__ import annotations

import re
from typing import Any, cast

from django.contrib.auth.models import AbstractUser, User
from django.test import Client

from herald.accounts.actions import do_create_token
from herald.accounts.models import ApiToken
from herald.test import HeraldTestCase


def client_for(user: AbstractUser | None) -> Client:
    """A browser signed in as ``user`` (whose second factor the cast already has)."""
    client = Client()
    if user is not None:
        client.force_login(cast(User, user))
    return client


def invitation_secret(html: str) -> str:
    match = re.search(r"/desk/invitation/([A-Za-z0-9_-]+)/", html)
    assert match, "no invitation link on the page"
    return match.group(1)


class AccountsTestCase(HeraldTestCase):
    def token_for(
        self, user: AbstractUser, scopes: list[str], days: int = 30, **kwargs: Any
    ) -> tuple[ApiToken, str]:
        return do_create_token(
            user=user, name="test", scopes=scopes, days=days, acting_user=user, **kwargs
        )

    def bearer(self, value: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {value}"}

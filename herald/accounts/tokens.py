"""Secret values: API tokens and invitation links. Generated here, never stored in clear.

A token reads ``hrld_<32 url-safe characters>``; the database keeps its SHA-256
(the value has 190 bits of entropy, so a plain hash cannot be reversed by
guessing) and its first characters as a name. ``authenticate_token`` is the one
place a presented value is checked: malformed, unknown, revoked, expired or
belonging to a disabled account all give ``None``, and nothing is written then.
"""

from __future__ import annotations

import hashlib
import re
import secrets

from django.utils import timezone

from herald.accounts.models import ApiToken

TOKEN_PREFIX = "hrld_"  # noqa: S105  (a marker that names the kind, not a secret)
TOKEN_RE = re.compile(r"^hrld_[A-Za-z0-9_-]{43}$")
# Anything that looks like a token, wherever it appears (logs are scrubbed with it).
TOKEN_ANYWHERE_RE = re.compile(r"hrld_[A-Za-z0-9_-]{8,}")


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def new_token_value() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def new_invitation_value() -> str:
    return secrets.token_urlsafe(32)


def display_prefix(value: str) -> str:
    return value[len(TOKEN_PREFIX) : len(TOKEN_PREFIX) + 8]


def authenticate_token(value: str, *, ip: str | None = None) -> ApiToken | None:
    """The active token with this value, its last use recorded; ``None`` otherwise."""
    if not TOKEN_RE.match(value or ""):
        return None
    token = (
        ApiToken.objects.select_related("user")
        .filter(token_hash=digest(value), revoked_at=None, expires_at__gt=timezone.now())
        .first()
    )
    if token is None or not token.user.is_active:
        return None
    now = timezone.now()
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=now, last_used_ip=ip)
    token.last_used_at, token.last_used_ip = now, ip
    return token

"""The access review: every account, what it can reach, and what needs a look.

One function builds the rows; the admin's page and ``herald access-review``
(CSV or JSON) both print them, so they cannot disagree.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from dataclasses import asdict, dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import timezone

from herald.accounts import access
from herald.accounts.models import ApiToken, Collaboration


@dataclass
class TokenRow:
    id: int
    prefix: str
    name: str
    scopes: list[str]
    status: str
    created_at: str
    expires_at: str
    last_used_at: str | None


@dataclass
class AccountRow:
    id: int
    username: str
    email: str
    role: str
    active: bool
    mfa: list[str]
    sso: list[str]
    last_login: str | None
    items: list[str]
    tokens: list[TokenRow] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)


def _when(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


def unused_days() -> int:
    return int(getattr(settings, "HERALD_UNUSED_ACCOUNT_DAYS", 90))


def review_rows(now: dt.datetime | None = None) -> list[AccountRow]:
    from allauth.mfa.models import Authenticator
    from allauth.socialaccount.models import SocialAccount

    now = now or timezone.now()
    cutoff = now - dt.timedelta(days=unused_days())
    factors: dict[int, set[str]] = {}
    for user_id, kind in Authenticator.objects.values_list("user_id", "type"):
        factors.setdefault(user_id, set()).add(str(kind))
    sso: dict[int, list[str]] = {}
    for user_id, provider in SocialAccount.objects.values_list("user_id", "provider"):
        sso.setdefault(user_id, []).append(provider)
    items: dict[int, list[str]] = {}
    for c in Collaboration.objects.select_related("advisory", "incident").order_by("pk"):
        items.setdefault(c.user_id, []).append(c.item_label)
    tokens: dict[int, list[ApiToken]] = {}
    for t in ApiToken.objects.order_by("created_at"):
        tokens.setdefault(t.user_id, []).append(t)
    rows = []
    for user in get_user_model().objects.order_by("username"):
        role = access.role_of(user) if user.is_active else access.role_of_inactive(user)
        mfa = sorted(k for k in factors.get(user.pk, set()))
        token_rows = [
            TokenRow(
                id=t.pk,
                prefix=t.prefix,
                name=t.name,
                scopes=list(t.scopes),
                status=t.status,
                created_at=t.created_at.isoformat(),
                expires_at=t.expires_at.isoformat(),
                last_used_at=_when(t.last_used_at),
            )
            for t in tokens.get(user.pk, [])
        ]
        row = AccountRow(
            id=user.pk,
            username=user.get_username(),
            email=user.email,
            role=role,
            active=user.is_active,
            mfa=mfa,
            sso=sorted(sso.get(user.pk, [])),
            last_login=_when(user.last_login),
            items=items.get(user.pk, []),
            tokens=token_rows,
        )
        private = role in access.STAFF_ROLES or bool(row.items)
        signs_in = {"totp", "webauthn"} & set(mfa)
        if user.is_active and private and not signs_in:
            row.flags.append("no-mfa")
        last_seen = max(
            [d for d in [user.last_login, *(t.last_used_at for t in tokens.get(user.pk, []))] if d],
            default=None,
        )
        if user.is_active and (last_seen or user.date_joined) < cutoff:
            row.flags.append(f"unused-{unused_days()}d")
        if any(t.status == "active" and t.last_used_at is None and t.created_at < cutoff
               for t in tokens.get(user.pk, [])):  # fmt: skip
            row.flags.append("token-never-used")
        rows.append(row)
    return rows


def as_json(rows: list[AccountRow]) -> str:
    return json.dumps(
        {"generated_at": timezone.now().isoformat(), "accounts": [asdict(r) for r in rows]},
        indent=2,
        ensure_ascii=False,
    )


CSV_COLUMNS = [
    "username", "email", "role", "active", "mfa", "sso", "last_login", "items",
    "tokens", "token_last_used", "flags",
]  # fmt: skip


def as_csv(rows: list[AccountRow]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for r in rows:
        values: list[Any] = [
            r.username,
            r.email,
            r.role or "-",
            "yes" if r.active else "no",
            " ".join(r.mfa) or "none",
            " ".join(r.sso),
            r.last_login or "never",
            "; ".join(r.items),
            "; ".join(f"{t.prefix} {t.name} [{','.join(t.scopes)}] {t.status}" for t in r.tokens),
            "; ".join(f"{t.prefix} {t.last_used_at or 'never'}" for t in r.tokens),
            " ".join(r.flags),
        ]
        # A cell starting with = + - @ is a formula to a spreadsheet: quote it out.
        writer.writerow([_cell(v) for v in values])
    return out.getvalue()


def _cell(value: Any) -> str:
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") and text != "-" else text

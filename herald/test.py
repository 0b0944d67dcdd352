"""The shared cast and helpers for Herald's tests.

Data is set up through the actions, as a user would, never by poking rows.
``alice`` is an admin, ``bob`` a responder on the desk, ``sam`` on support,
``vera`` a viewer, ``charlie`` an outsider with an account but no desk access.
Every staff member of the cast has a TOTP authenticator (the desk lets nobody in
without a second factor); ``totp_code(user)`` gives its current code, computed
like an authenticator app does.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from pathlib import Path
from typing import Any, NoReturn

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractUser
from django.test import TestCase, TransactionTestCase

from herald.advisories.models import Advisory, Vulnerability
from herald.core.models import Product, VendorProfile
from herald.incidents.models import Incident
from herald.publication.actions import do_create_advisory, do_declare_incident, do_publish_advisory

PASSWORD = "correct-horse-battery-staple-42"  # noqa: S105  (test accounts only)

# ../shared beside the project's root: the seed page, official schemas and real
# documents. It exists in development and CI, never on a user's machine.
# The test harness reads its own variables (HERALD_SHARED, CI) from the
# environment: they are not settings of the product, which herald/settings.py reads.
SHARED = Path(os.environ.get("HERALD_SHARED", Path(__file__).resolve().parents[2] / "shared"))


def must_run() -> bool:
    """CI (``CI`` or ``HERALD_REQUIRE_SERVICES=1``): every test runs, none skips."""
    return bool(os.environ.get("CI")) or os.environ.get("HERALD_REQUIRE_SERVICES") == "1"


def unavailable(problem: str) -> NoReturn:
    """A test's peer, tool or file is missing: skip saying why, but fail in CI."""
    if must_run():
        pytest.fail(f"{problem}; CI must run this test (HERALD_REQUIRE_SERVICES=1)", pytrace=False)
    pytest.skip(problem)


def shared_path(*parts: str) -> Path:
    """A file under ../shared; skips the test without it, except in CI where it must exist."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        unavailable(f"{path} not found: ../shared exists only in development and CI")
    return path


def make_user(
    username: str,
    *,
    staff: bool = False,
    superuser: bool = False,
    role: str | None = None,
    mfa: bool | None = None,
) -> AbstractUser:
    """An account; ``role`` (admin, responder, support, viewer) sets its flags to match.

    Staff get a TOTP authenticator unless ``mfa=False``: a fixture, like the
    password, not a way around the second factor (which logins still ask for).
    """
    from herald.accounts.models import Account, Role

    user = get_user_model().objects.create_user(
        username=username, email=f"{username}@example.com", password=PASSWORD
    )
    if role is not None:
        staff, superuser = role in (Role.ADMIN, Role.RESPONDER), role == Role.ADMIN
        Account.objects.create(user=user, role=role)
    user.is_staff = staff or superuser
    user.is_superuser = superuser
    user.save()
    if mfa if mfa is not None else (staff or superuser or bool(role)):
        give_totp(user)
    return user


def give_totp(user: AbstractUser) -> str:
    """Activate a TOTP authenticator for ``user`` and return its secret."""
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    return secret


def totp_code(user: AbstractUser, *, step: int = 0) -> str:
    """The code ``user``'s authenticator app shows now (RFC 6238: HOTP of time / 30 s)."""
    from allauth.mfa.models import Authenticator
    from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
    from allauth.mfa.utils import decrypt

    authenticator = Authenticator.objects.get(user=user, type=Authenticator.Type.TOTP)
    secret = decrypt(authenticator.data["secret"])
    counter = int(time.time()) // 30 + step
    return format_hotp_value(hotp_value(secret, counter))


def unused_cve(first: str = "CVE-2026-12345") -> str:
    """``first``, or the next CVE id no advisory has yet: one advisory per CVE."""
    year, number = first.rsplit("-", 1)
    for n in range(int(number), int(number) + 10_000):
        cve = f"{year}-{n}"
        if not Vulnerability.objects.filter(cve_id=cve).exists():
            return cve
    raise AssertionError("no unused CVE id near " + first)


def publishable(**overrides: Any) -> dict[str, Any]:
    """Fields of an advisory that can be published as it is."""
    values: dict[str, Any] = {
        "title": "Stored XSS in dashboard names",
        "description": "A dashboard name could carry a script that ran for viewers.",
        "severity": "medium",
        "affected_users": "Cloud customers in the US and EU regions.",
        "resolution": "Fixed in [#1234](https://github.com/example/app/pull/1234). Nothing to do.",
        "discovered_at": dt.date(2026, 1, 10),
        "reported_at": dt.date(2026, 1, 11),
        "fixed_at": dt.date(2026, 1, 12),
        "status": "fixed",
        "cve_ids": ["CVE-2026-12345"],
    }
    values.update(overrides)
    return values


class CastMixin:
    """The cast and the helpers; shared by both kinds of test case."""

    alice: AbstractUser
    bob: AbstractUser
    sam: AbstractUser
    vera: AbstractUser
    charlie: AbstractUser
    product: Product

    @classmethod
    def make_cast(cls) -> None:
        profile = VendorProfile.get()
        profile.name = "Northwind"
        profile.regions = ["US", "EU"]
        profile.advisory_prefix = "NW"
        profile.status_page_url = "https://status.example.com/"
        profile.save()
        cls.alice = make_user("alice", superuser=True)
        cls.bob = make_user("bob", staff=True)
        cls.sam = make_user("sam", role="support")
        cls.vera = make_user("vera", role="viewer")
        cls.charlie = make_user("charlie")
        cls.product = Product.objects.create(name="Northwind Cloud", slug="cloud")

    def declare(self, title: str = "Dashboard XSS", **kwargs: Any) -> Incident:
        return do_declare_incident(title=title, acting_user=self.bob, **kwargs)

    def draft(self, incident: Incident | None = None, **overrides: Any) -> Advisory:
        incident = incident or Incident.objects.filter(status="open").first() or self.declare()
        if "cve_ids" not in overrides:
            overrides["cve_ids"] = [unused_cve()]
        if "title" not in overrides:
            # One title per day on the handbook page: later drafts get a number.
            title = publishable()["title"]
            taken = Advisory.objects.filter(title__startswith=title).count()
            overrides["title"] = f"{title} ({taken + 1})" if taken else title
        return do_create_advisory(
            acting_user=self.bob, incident=incident, **publishable(**overrides)
        )

    def published(self, incident: Incident | None = None, **overrides: Any) -> Advisory:
        return do_publish_advisory(self.draft(incident, **overrides), acting_user=self.bob)


class HeraldTestCase(CastMixin, TestCase):
    """Each test in a transaction that is rolled back: fast, for most tests."""

    @classmethod
    def setUpTestData(cls) -> None:
        cls.make_cast()


class HeraldTransactionTestCase(CastMixin, TransactionTestCase):
    """Real commits: for workers, other processes and concurrent connections."""

    def setUp(self) -> None:
        self.make_cast()

"""The authorization matrix: every URL pattern and API operation, against every role.

``PAGES`` and ``API`` say who may open each address. The test walks the URL
resolver and the OpenAPI document: **an address with no entry fails the test**,
so a new page or endpoint is allowed to someone on purpose, never by accident.
To add one, put its route name (``namespace:name``) or ``"METHOD /api/v1/path"``
in the table with the set of people who may use it.

"Allowed" means the request is not refused (no 401/403, no trip to the login or
second-factor page) and does not fail (no 5xx); "denied" means 403 for someone
signed in and the login page for an anonymous visitor (401 on the API).
"""

from __future__ import annotations

from typing import Any

from django.test import Client

from herald.accounts.tests.base import AccountsTestCase, client_for
from herald.accounts.tests.surfaces import operations, routes

ANON, ADMIN, RESPONDER, SUPPORT, VIEWER, OUTSIDER = (
    "anonymous", "admin", "responder", "support", "viewer", "outsider",
)  # fmt: skip
EVERYONE = frozenset({ANON, ADMIN, RESPONDER, SUPPORT, VIEWER, OUTSIDER})
SIGNED_IN = EVERYONE - {ANON}
STAFF = frozenset({ADMIN, RESPONDER, SUPPORT, VIEWER})
READS_INCIDENTS = frozenset({ADMIN, RESPONDER, SUPPORT})
FULL_DESK = frozenset({ADMIN, RESPONDER})
ADMINS = frozenset({ADMIN})
# allauth's own pages (sign-in, second factors, password, SSO): allauth decides.
ALLAUTH = "allauth"

PAGES: dict[str, frozenset[str] | str] = {
    # Public surfaces.
    "publishing:security-txt": EVERYONE,
    "publishing:pgp-key": EVERYONE,
    "publishing:favicon": EVERYONE,
    "publishing:markdown": EVERYONE,
    "publishing:atom": EVERYONE,
    "publishing:rss": EVERYONE,
    "publishing:product-atom": EVERYONE,
    "publishing:product-rss": EVERYONE,
    "osv:query": EVERYONE,
    "osv:querybatch": EVERYONE,
    "osv:vuln": EVERYONE,
    "notify:subscribe": EVERYONE,
    "notify:confirm": EVERYONE,
    "notify:manage": EVERYONE,
    "notify:unsubscribe": EVERYONE,
    "intake:report_form": EVERYONE,
    "intake:thread": EVERYONE,
    "web:root": EVERYONE,
    "web:public_index": EVERYONE,
    "web:public_archive": EVERYONE,
    "web:public_advisory": EVERYONE,
    "web:public_product_vex": EVERYONE,
    "web:login": EVERYONE,
    "web:logout": EVERYONE,
    "accounts:accept": EVERYONE,
    # Operations: liveness and readiness for load balancers; the metrics are gated by
    # a token or the client's network, not by role (the test client is loopback).
    "ops:healthz": EVERYONE,
    "ops:readyz": EVERYONE,
    "ops:metrics": EVERYONE,
    # The full desk: notifications, reports, dashboard, search, metrics, writes.
    "notify:campaigns": FULL_DESK,
    "notify:campaign": FULL_DESK,
    "notify:campaign_action": FULL_DESK,
    "notify:deliveries": FULL_DESK,
    "notify:delivery": FULL_DESK,
    "notify:delivery_redrive": FULL_DESK,
    "notify:customers": FULL_DESK,
    "notify:customer": FULL_DESK,
    "notify:channels": FULL_DESK,  # responders read the list; its changes are admins' below
    "notify:subscribers": FULL_DESK,
    "notify:subscriber_add": FULL_DESK,
    "notify:subscriber_remove": FULL_DESK,
    # The local outbox holds reporters' private links and subscribers' tokens.
    "web:outbox": FULL_DESK,
    "web:outbox_message": FULL_DESK,
    "web:outbox_raw": FULL_DESK,
    "intake:desk_reports": FULL_DESK,
    "intake:desk_rewards": FULL_DESK,
    "intake:desk_mail": FULL_DESK,
    "intake:desk_raw_mail": FULL_DESK,
    "intake:desk_attachment": FULL_DESK,
    "intake:desk_report": FULL_DESK,
    "web:dashboard": FULL_DESK,
    "web:search": FULL_DESK,
    "web:metrics": FULL_DESK,
    "web:metrics_csv": FULL_DESK,
    "web:cvss_score": FULL_DESK,
    "web:incident_declare": FULL_DESK,
    "web:incident_note": FULL_DESK,
    "web:incident_resolve": FULL_DESK,
    "web:incident_handbook_pull_request": FULL_DESK,
    "web:incident_handbook_refresh": FULL_DESK,
    "web:advisory_create": FULL_DESK,
    "web:advisory_edit": FULL_DESK,
    "web:advisory_publish": FULL_DESK,
    "web:advisory_fix": FULL_DESK,
    "web:advisory_resolve": FULL_DESK,
    "web:advisory_withdraw": FULL_DESK,
    "web:advisory_schedule": FULL_DESK,
    "web:advisory_vulnerability_add": FULL_DESK,
    "web:advisory_vulnerability_edit": FULL_DESK,
    "web:advisory_vulnerability_remove": FULL_DESK,
    "web:advisory_github_link": FULL_DESK,
    "web:advisory_github_cve": FULL_DESK,
    "web:advisory_github_refresh": FULL_DESK,
    "accounts:invite": FULL_DESK,
    "accounts:collaborators": FULL_DESK,
    "accounts:collaborator_remove": FULL_DESK,
    # Reading: incidents for support up, published advisories for every staff role.
    "web:incident_list": READS_INCIDENTS,
    "web:incident_detail": READS_INCIDENTS,
    "web:advisory_list": STAFF,
    "web:advisory_detail": STAFF,
    "web:advisory_preview": STAFF,
    "web:advisory_revisions": STAFF,
    # One's own account.
    "accounts:home": SIGNED_IN,
    "accounts:token_create": STAFF,
    "accounts:token_revoke": SIGNED_IN,
    # Admins only.
    "accounts:people": ADMINS,
    "accounts:person": ADMINS,
    "accounts:invitation_revoke": ADMINS,
    "accounts:access_review": ADMINS,
    "accounts:audit": ADMINS,
    "accounts:audit_export": ADMINS,
    # Channels hold webhook secrets, Slack URLs and SMTP logins.
    "notify:channel_create": ADMINS,
    "notify:channel_action": ADMINS,
    # The API's own URL patterns; their operations are in API below.
    "api/^v1/": EVERYONE,
}
# allauth's routes by name prefix, and its unnamed redirects by pattern.
ALLAUTH_PREFIXES = ("account_", "mfa_", "socialaccount_", "openid_connect_", "desk/account/")

API: dict[str, frozenset[str] | str] = {
    "GET /api/v1/advisories": EVERYONE,
    "GET /api/v1/advisories/{id}": EVERYONE,
    "GET /api/v1/products": EVERYONE,
    # Token endpoints: "scope" is what the token needs; the set is whose role allows it.
    "GET /api/v1/desk/whoami": "read:" + ",".join(sorted(STAFF)),  # any valid token
    "GET /api/v1/desk/advisories": "read:" + ",".join(sorted(STAFF)),
    "GET /api/v1/desk/advisories/{identifier}": "read:" + ",".join(sorted(STAFF)),
    "POST /api/v1/desk/advisories": "write:" + ",".join(sorted(FULL_DESK)),
    "PATCH /api/v1/desk/advisories/{identifier}": "write:" + ",".join(sorted(FULL_DESK)),
    "POST /api/v1/desk/advisories/{identifier}/publish": "publish:" + ",".join(sorted(FULL_DESK)),
    "POST /api/v1/desk/advisories/{identifier}/vulnerabilities": "write:"
    + ",".join(sorted(FULL_DESK)),
    "PATCH /api/v1/desk/advisories/{identifier}/vulnerabilities/{number}": "write:"
    + ",".join(sorted(FULL_DESK)),
    "POST /api/v1/desk/advisories/{identifier}/vulnerabilities/{number}/remove": "write:"
    + ",".join(sorted(FULL_DESK)),
    # The intake's reports: anyone reports; the desk's reads need a full-desk session.
    "POST /api/v1/reports": EVERYONE,
    "GET /api/v1/reports/thread/{token}": EVERYONE,
    "POST /api/v1/reports/thread/{token}/messages": EVERYONE,
    "GET /api/v1/reports": "session:" + ",".join(sorted(FULL_DESK)),
    "GET /api/v1/reports/{tracking_id}": "session:" + ",".join(sorted(FULL_DESK)),
}


def _expected_for(key: str) -> frozenset[str] | str:
    if key in PAGES:
        return PAGES[key]
    if key.startswith(ALLAUTH_PREFIXES) or key.startswith("api-v1:"):
        return ALLAUTH if not key.startswith("api-v1:") else EVERYONE
    raise KeyError(key)


class MatrixTest(AccountsTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.incident = self.declare()
        self.advisory = self.published(self.incident)
        self.people: dict[str, Any] = {
            ANON: None,
            ADMIN: self.alice,
            RESPONDER: self.bob,
            SUPPORT: self.sam,
            VIEWER: self.vera,
            OUTSIDER: self.charlie,
        }
        self.clients = {who: client_for(user) for who, user in self.people.items()}

    def values_for(self, key: str) -> dict[str, str]:
        if key.startswith("web:incident_"):
            return {"identifier": self.incident.identifier}
        return {"identifier": self.advisory.identifier, "year": "2026", "slug": "cloud"}

    def test_every_route_has_an_entry(self) -> None:
        missing = []
        for route in routes():
            try:
                _expected_for(route.key)
            except KeyError:
                missing.append(f"{route.key}  ({route.pattern})")
        assert missing == [], "add these to PAGES in herald/accounts/tests/test_matrix.py"

    def test_every_api_operation_has_an_entry(self) -> None:
        missing = [op.key for op in operations() if op.key not in API]
        assert missing == [], "add these to API in herald/accounts/tests/test_matrix.py"

    def test_each_role_opens_exactly_the_pages_the_table_gives_it(self) -> None:
        for route in routes():
            expected = _expected_for(route.key)
            if expected == ALLAUTH or route.key.startswith(("api-v1:", "api/")):
                continue
            assert not isinstance(expected, str)
            url = route.path(self.values_for(route.key))
            for who, client in self.clients.items():
                with self.subTest(route=route.key, who=who):
                    response = client.get(url)
                    status = response.status_code
                    location = response.get("Location", "")
                    refused = (
                        status in (401, 403)
                        or "/desk/login/" in location
                        or ("/desk/account/2fa/" in location and who != ANON)
                    )
                    if route.key == "ops:readyz":
                        # No worker runs in this test: not ready, and saying why.
                        assert status in (200, 503), f"{url} as {who}: {status}"
                        assert "failing" in response.json()
                    else:
                        assert status < 500, f"{url} as {who}: {status}"
                    if who in expected:
                        assert not refused, f"{url} refused {who}: {status} {location}"
                    elif who == ANON:
                        assert "/desk/login/" in location, f"{url} let {who} in: {status}"
                    else:
                        assert status == 403, f"{url} let {who} in: {status}"

    def test_each_role_uses_exactly_the_api_the_table_gives_it(self) -> None:
        values = {
            "id": self.advisory.identifier,
            "identifier": self.advisory.identifier,
            "token": "x" * 20,
            "tracking_id": "x",
        }
        for op in operations():
            expected = API[op.key]
            url = op.url(values)
            call = {"GET": "get", "POST": "post", "PATCH": "patch", "DELETE": "delete"}
            if isinstance(expected, frozenset):
                # Public reads answer anyone; public writes (a report) are the intake's tests.
                if op.method == "GET":
                    response = Client().get(url)
                    assert response.status_code not in (401, 403), op.key
                continue
            kind, _, allowed = expected.partition(":")
            allowed_set = set(allowed.split(","))
            for who, user in self.people.items():
                with self.subTest(op=op.key, who=who):
                    if kind == "session":
                        client = self.clients[who]
                        response = getattr(client, call[op.method])(url)
                        ok = response.status_code not in (401, 403)
                        assert ok == (who in allowed_set), f"{op.key} {who}"
                        continue
                    if user is None:
                        response = getattr(Client(), call[op.method])(url)
                        assert response.status_code == 401
                        continue
                    from herald.accounts.models import ApiToken

                    scope = kind
                    with_scope = self._token(user, [scope]) if who in STAFF else None
                    if with_scope is None:
                        continue  # outsiders cannot hold tokens at all
                    response = getattr(Client(), call[op.method])(
                        url, {}, content_type="application/json", headers=self.bearer(with_scope)
                    )
                    refused = response.status_code in (401, 403)
                    assert response.status_code < 500, response.content
                    assert refused != (who in allowed_set), (
                        f"{op.key} as {who}: {response.status_code}"
                    )
                    ApiToken.objects.all().delete()

    def _token(self, user: Any, scopes: list[str]) -> str | None:
        """A token with ``scopes``, made the way a role could not: to test the API's check."""
        import datetime as dt

        from django.utils import timezone

        from herald.accounts import tokens
        from herald.accounts.models import ApiToken

        value = tokens.new_token_value()
        ApiToken.objects.create(
            user=user,
            name="matrix",
            prefix=tokens.display_prefix(value),
            token_hash=tokens.digest(value),
            scopes=scopes,
            expires_at=timezone.now() + dt.timedelta(days=1),
        )
        return value

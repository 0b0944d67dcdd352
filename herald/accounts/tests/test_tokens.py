"""API tokens: shown once, stored hashed, scoped, expiring, revocable, last use recorded.

Expired, revoked, malformed and unknown tokens get 401; a good token without the
scope (or whose owner's role lacks the right) gets 403; and nothing changes.
"""

from __future__ import annotations

import datetime as dt

from django.test import Client
from django.utils import timezone

from herald.accounts.models import ApiToken
from herald.accounts.tests.base import AccountsTestCase, client_for
from herald.accounts.tokens import digest
from herald.advisories.models import Advisory
from herald.audit.models import AuditEvent


class TokenTest(AccountsTestCase):
    def test_a_token_is_shown_once_and_only_its_hash_is_kept(self) -> None:
        bob = client_for(self.bob)
        response = bob.post("/desk/me/tokens/", {"name": "CI", "scopes": ["read"], "days": 30})
        assert response.status_code == 201
        value = response.context["new_token"]
        assert value.startswith("hrld_")
        token = ApiToken.objects.get(user_id=self.bob.pk)
        assert token.token_hash == digest(value) and value not in str(token.__dict__)
        assert value not in bob.get("/desk/me/").content.decode()
        assert value not in str(list(AuditEvent.objects.values_list("after", flat=True)))
        answer = Client().get("/api/v1/desk/whoami", headers=self.bearer(value))
        assert answer.status_code == 200
        assert answer.json()["username"] == "bob" and answer.json()["scopes"] == ["read"]
        token.refresh_from_db()
        assert token.last_used_at is not None

    def test_a_viewer_cannot_mint_a_write_token(self) -> None:
        response = client_for(self.vera).post(
            "/desk/me/tokens/", {"name": "x", "scopes": ["write"], "days": 30}
        )
        assert response.status_code == 400
        assert not ApiToken.objects.exists()

    def test_bad_tokens_are_401_and_change_nothing(self) -> None:
        _, good = self.token_for(self.bob, ["read", "write"])
        expired, expired_value = self.token_for(self.bob, ["read", "write"])
        ApiToken.objects.filter(pk=expired.pk).update(
            expires_at=timezone.now() - dt.timedelta(seconds=1)
        )
        revoked, revoked_value = self.token_for(self.bob, ["read", "write"])
        client_for(self.bob).post(f"/desk/tokens/{revoked.pk}/revoke/")
        incident = self.declare()
        body = {"title": "Made by a bad token", "incident": incident.identifier}
        for value in (
            expired_value,
            revoked_value,
            "hrld_short",
            good[:-1] + ("A" if good[-1] != "A" else "B"),
            "not-a-token",
            "",
        ):
            with self.subTest(value=value[:12]):
                response = Client().post(
                    "/api/v1/desk/advisories",
                    body,
                    content_type="application/json",
                    headers=self.bearer(value),
                )
                assert response.status_code == 401
                assert response["WWW-Authenticate"].startswith("Bearer")
                assert response.json()["detail"]
        assert Client().get("/api/v1/desk/whoami").status_code == 401
        assert not Advisory.objects.filter(title="Made by a bad token").exists()
        expired.refresh_from_db()
        assert expired.last_used_at is None

    def test_the_wrong_scope_is_403_and_changes_nothing(self) -> None:
        _, read_only = self.token_for(self.bob, ["read"])
        draft = self.draft()
        response = Client().post(
            f"/api/v1/desk/advisories/{draft.identifier}/publish",
            {"expected_version": draft.version},
            content_type="application/json",
            headers=self.bearer(read_only),
        )
        assert response.status_code == 403
        assert "publish" in response.json()["detail"]
        draft.refresh_from_db()
        assert draft.state == "draft"

    def test_a_token_whose_owner_lost_the_role_is_refused(self) -> None:
        from herald.accounts.actions import do_set_role

        _, value = self.token_for(self.bob, ["read", "write"])
        do_set_role(self.bob, "viewer", acting_user=self.alice)
        response = Client().post(
            "/api/v1/desk/advisories",
            {"title": "After demotion"},
            content_type="application/json",
            headers=self.bearer(value),
        )
        assert response.status_code == 403
        assert not Advisory.objects.filter(title="After demotion").exists()

    def test_create_update_and_publish_through_the_api(self) -> None:
        _, value = self.token_for(self.bob, ["read", "write", "publish"])
        incident = self.declare()
        api = Client()
        created = api.post(
            "/api/v1/desk/advisories",
            {
                "incident": incident.identifier,
                "title": "Open redirect in login",
                "description": "The next parameter was not checked.",
                "severity": "low",
                "affected_users": "Everyone on the cloud.",
                "resolution": "Fixed.",
                "status": "fixed",
                "reported_at": "2026-01-02",
                "fixed_at": "2026-01-03",
                "affected": [{"product": "cloud"}],
            },
            content_type="application/json",
            headers=self.bearer(value),
        )
        assert created.status_code == 201, created.content
        data = created.json()
        assert data["state"] == "draft" and data["incident"] == incident.identifier
        stale = data["version"]
        changed = api.patch(
            f"/api/v1/desk/advisories/{data['identifier']}",
            {"expected_version": stale, "summary": "Redirects to other sites."},
            content_type="application/json",
            headers=self.bearer(value),
        )
        assert changed.status_code == 200, changed.content
        conflict = api.patch(
            f"/api/v1/desk/advisories/{data['identifier']}",
            {"expected_version": stale, "summary": "Lost update"},
            content_type="application/json",
            headers=self.bearer(value),
        )
        assert conflict.status_code == 409
        published = api.post(
            f"/api/v1/desk/advisories/{data['identifier']}/publish",
            {"expected_version": changed.json()["version"]},
            content_type="application/json",
            headers=self.bearer(value),
        )
        assert published.status_code == 200, published.content
        identifier = published.json()["identifier"]
        assert published.json()["state"] == "published"
        assert Client().get(f"/api/v1/advisories/{identifier}").status_code == 200
        event = AuditEvent.objects.get(action="advisory.publish")
        assert event.actor == "bob"

    def test_invalid_input_is_422_naming_the_field(self) -> None:
        _, value = self.token_for(self.bob, ["write"])
        response = Client().post(
            "/api/v1/desk/advisories",
            {"title": "x", "severity": "apocalyptic"},
            content_type="application/json",
            headers=self.bearer(value),
        )
        assert response.status_code == 422
        assert response.json()["errors"][0]["parameter"] == "severity"

    def test_support_reads_only_what_support_may_through_the_api(self) -> None:
        draft = self.draft(title="Support must not read this")
        published = self.published(title="Support may read this")
        _, value = self.token_for(self.sam, ["read"])
        listing = Client().get("/api/v1/desk/advisories", headers=self.bearer(value)).json()
        titles = [a["title"] for a in listing["results"]]
        assert titles == ["Support may read this"]
        assert (
            Client().get(f"/api/v1/desk/advisories/{draft.identifier}", headers=self.bearer(value))
        ).status_code == 404
        ok = Client().get(
            f"/api/v1/desk/advisories/{published.identifier}", headers=self.bearer(value)
        )
        assert ok.status_code == 200

    def test_an_admin_revokes_someone_elses_token_and_it_stops_working(self) -> None:
        token, value = self.token_for(self.bob, ["read"])
        assert client_for(self.sam).post(f"/desk/tokens/{token.pk}/revoke/").status_code == 404
        response = client_for(self.alice).post(
            f"/desk/tokens/{token.pk}/revoke/", {"next": f"/desk/admin/people/{self.bob.pk}/"}
        )
        self.assertRedirects(
            response, f"/desk/admin/people/{self.bob.pk}/", fetch_redirect_response=False
        )
        token.refresh_from_db()
        assert token.revoked_at is not None and token.revoked_by == self.alice
        assert Client().get("/api/v1/desk/whoami", headers=self.bearer(value)).status_code == 401
        assert AuditEvent.objects.filter(action="token.revoke", actor="alice").exists()


class FindingTheAccountPages(AccountsTestCase):
    """Every desk page leads to the account, and an admin's account to everyone else's."""

    def test_the_header_links_the_account_and_the_account_links_an_admin_onwards(self) -> None:
        from herald.test import make_user

        admin = client_for(make_user("ada", role="admin"))
        dashboard = admin.get("/desk/").content.decode()
        assert 'href="/desk/me/"' in dashboard
        home = admin.get("/desk/me/").content.decode()
        for page in ("/desk/admin/people/", "/desk/admin/invite/", "/desk/admin/audit/"):
            assert f'href="{page}"' in home
        assert admin.get("/desk/admin/people/").status_code == 200

        # A responder manages no one: the links would only lead to a refusal.
        responder = client_for(make_user("rex", role="responder"))
        assert 'href="/desk/admin/people/"' not in responder.get("/desk/me/").content.decode()

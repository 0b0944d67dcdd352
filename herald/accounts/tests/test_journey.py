"""The issue's journey: a new staff member is invited, is held at the second-factor
set-up until it is done, signs in with TOTP or a passkey, and sees only what the role
allows. TOTP codes are computed as an authenticator app does (RFC 6238, allauth's
own helpers); the passkey is a software authenticator (tests/webauthn.py) whose
credentials go through allauth's and fido2's real verification.
"""

from __future__ import annotations

import json
import time

from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from django.contrib.auth import get_user_model
from django.test import Client

from herald.accounts.tests.base import AccountsTestCase, client_for, invitation_secret
from herald.accounts.tests.webauthn import SoftAuthenticator
from herald.audit.models import AuditEvent

NEW_PASSWORD = "lantern-orchard-quietly-9"


def code_for(secret: str) -> str:
    return format_hotp_value(hotp_value(secret, int(time.time()) // 30))


class InvitationJourneyTest(AccountsTestCase):
    def invite(self, **fields: str) -> str:
        admin = client_for(self.alice)
        response = admin.post("/desk/admin/invite/", fields)
        assert response.status_code == 201, response.content
        return invitation_secret(response.content.decode())

    def accept(self, secret: str, username: str = "dana") -> Client:
        newcomer = Client()
        page = newcomer.get(f"/desk/invitation/{secret}/")
        self.assertContains(page, "Join the Northwind security desk")
        response = newcomer.post(
            f"/desk/invitation/{secret}/",
            {"username": username, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
        )
        self.assertRedirects(response, "/desk/account/2fa/", fetch_redirect_response=False)
        return newcomer

    def activate_totp(self, browser: Client) -> str:
        page = browser.get("/desk/account/2fa/totp/activate/")
        assert page.status_code == 200
        secret = page.context["form"].secret
        # allauth sends "authenticator added" after the commit; the audit row follows it.
        with self.captureOnCommitCallbacks(execute=True):
            response = browser.post("/desk/account/2fa/totp/activate/", {"code": code_for(secret)})
        assert response.status_code == 302, response.content
        return secret

    def test_an_invited_responder_reaches_nothing_until_totp_is_set_up(self) -> None:
        secret = self.invite(email="dana@example.com", role="responder")
        dana = self.accept(secret)
        for url in ("/desk/", "/desk/incidents/", "/desk/advisories/", "/desk/me/"):
            response = dana.get(url)
            self.assertRedirects(response, "/desk/account/2fa/", fetch_redirect_response=False)
        assert dana.post("/desk/incidents/new/", {"title": "x"}).status_code == 302
        # The API does not take the half-finished session either.
        assert dana.get("/api/v1/reports").status_code == 401
        totp_secret = self.activate_totp(dana)
        assert dana.get("/desk/incidents/").status_code == 200
        # The link worked once.
        assert Client().get(f"/desk/invitation/{secret}/").status_code == 404
        # A later sign-in asks for the code after the password.
        visitor = Client()
        response = visitor.post("/desk/login/", {"login": "dana", "password": NEW_PASSWORD})
        self.assertRedirects(response, "/desk/account/2fa/authenticate/")
        assert visitor.get("/desk/").status_code == 302
        bad = visitor.post("/desk/account/2fa/authenticate/", {"code": "000000"})
        assert bad.status_code == 200 and visitor.get("/desk/").status_code == 302
        response = visitor.post("/desk/account/2fa/authenticate/", {"code": code_for(totp_secret)})
        self.assertRedirects(response, "/desk/", fetch_redirect_response=False)
        assert visitor.get("/desk/").status_code == 200
        actions = set(AuditEvent.objects.values_list("action", flat=True))
        assert {
            "account.invite",
            "account.invitation_accept",
            "mfa.add",
            "account.login",
        } <= actions

    def test_an_invited_viewer_signs_in_with_a_passkey_and_sees_only_published_advisories(
        self,
    ) -> None:
        draft = self.draft(title="Unannounced token leak")
        published = self.published(title="Announced XSS")
        secret = self.invite(email="val@example.com", role="viewer")
        val = self.accept(secret, username="val")
        key = SoftAuthenticator(origin="https://testserver")
        page = val.get("/desk/account/2fa/webauthn/add/", secure=True)
        assert page.status_code == 200
        options = page.context["js_data"]["creation_options"]["publicKey"]
        response = val.post(
            "/desk/account/2fa/webauthn/add/",
            {"name": "Laptop", "passwordless": "on", "credential": json.dumps(key.create(options))},
            secure=True,
        )
        assert response.status_code == 302, response.content
        user = get_user_model().objects.get(username="val")
        assert Authenticator.objects.filter(user=user, type="webauthn").exists()
        # Passwordless sign-in from a fresh browser: the passkey alone.
        browser = Client()
        options = browser.get(
            "/desk/account/2fa/webauthn/login/", secure=True, HTTP_ACCEPT="application/json"
        ).json()["request_options"]["publicKey"]
        assertion = key.get(options, rp_id="testserver")
        response = browser.post(
            "/desk/account/2fa/webauthn/login/", {"credential": json.dumps(assertion)}, secure=True
        )
        assert response.status_code == 302
        listing = browser.get("/desk/advisories/", secure=True)
        assert listing.status_code == 200
        self.assertContains(listing, published.identifier)
        self.assertNotContains(listing, "Unannounced token leak")
        assert browser.get(f"/desk/advisories/{draft.identifier}/", secure=True).status_code == 404
        assert browser.get("/desk/incidents/", secure=True).status_code == 403
        assert (
            browser.get(f"/desk/advisories/{published.identifier}/edit/", secure=True).status_code
            == 403
        )

    def test_a_researcher_invited_to_one_draft_sees_that_draft_and_nothing_else(self) -> None:
        theirs = self.draft(title="Their SSRF finding")
        other = self.draft(title="Somebody else's finding")
        response = client_for(self.bob).post(
            "/desk/admin/invite/", {"email": "rita@example.org", "item": theirs.identifier}
        )
        assert response.status_code == 201  # responders invite collaborators
        rita = self.accept(invitation_secret(response.content.decode()), username="rita")
        self.activate_totp(rita)
        home = rita.get("/desk/me/")
        self.assertContains(home, theirs.identifier)
        assert rita.get(f"/desk/advisories/{theirs.identifier}/").status_code == 200
        assert rita.get(f"/desk/advisories/{theirs.identifier}/preview/").status_code == 200
        assert rita.get(f"/desk/advisories/{other.identifier}/").status_code == 404
        assert rita.get(f"/desk/incidents/{theirs.incident.identifier}/").status_code == 403
        for url in ("/desk/", "/desk/incidents/", f"/desk/advisories/{theirs.identifier}/edit/"):
            assert rita.get(url).status_code == 403, url

    def test_a_responder_cannot_invite_staff_and_nobody_signs_up_alone(self) -> None:
        response = client_for(self.bob).post(
            "/desk/admin/invite/", {"email": "eve@example.com", "role": "admin"}
        )
        assert response.status_code == 403
        assert Client().get("/desk/account/signup/").status_code == 200
        Client().post(
            "/desk/account/signup/",
            {
                "email": "eve@example.com",
                "username": "eve",
                "password1": NEW_PASSWORD,
                "password2": NEW_PASSWORD,
            },
        )
        assert not get_user_model().objects.filter(username="eve").exists()

    def test_a_weak_password_is_refused_at_the_invitation(self) -> None:
        secret = self.invite(email="weak@example.com", role="support")
        response = Client().post(
            f"/desk/invitation/{secret}/",
            {"username": "weak", "password1": "password123", "password2": "password123"},
        )
        assert response.status_code == 400
        self.assertContains(response, "too common", status_code=400)
        assert not get_user_model().objects.filter(username="weak").exists()

    def test_a_revoked_or_expired_invitation_is_refused(self) -> None:
        from herald.accounts.models import Invitation

        secret = self.invite(email="late@example.com", role="support")
        invitation = Invitation.objects.get(email="late@example.com")
        client_for(self.alice).post(f"/desk/admin/invitations/{invitation.pk}/revoke/")
        assert Client().get(f"/desk/invitation/{secret}/").status_code == 404
        assert Client().get("/desk/invitation/not-a-real-secret-at-all-0000/").status_code == 404

    def test_the_last_second_factor_of_a_staff_member_cannot_be_removed(self) -> None:
        bob = client_for(self.bob)
        response = bob.post("/desk/account/2fa/totp/deactivate/", {"code": ""})
        assert Authenticator.objects.filter(user=self.bob, type="totp").exists()
        assert response.status_code in (200, 302, 403)

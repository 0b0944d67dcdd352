"""Signing in with a recovery code at the second-factor prompt, as the prompt says."""

from __future__ import annotations

from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from django.test import Client

from herald.test import PASSWORD, HeraldTestCase

PROMPT = "/desk/account/2fa/authenticate/"


class RecoveryCodeSignInTests(HeraldTestCase):
    def sign_in(self) -> Client:
        visitor = Client()
        response = visitor.post("/desk/login/", {"login": "bob", "password": PASSWORD})
        self.assertRedirects(response, PROMPT)
        return visitor

    def test_the_prompt_says_a_recovery_code_works_and_one_does_once(self) -> None:
        codes = RecoveryCodes.activate(self.bob).get_unused_codes()
        visitor = self.sign_in()
        self.assertContains(visitor.get(PROMPT), "One of your recovery codes works here too")
        response = visitor.post(PROMPT, {"code": codes[0]})
        self.assertRedirects(response, "/desk/", fetch_redirect_response=False)
        assert visitor.get("/desk/").status_code == 200

        again = self.sign_in()
        assert again.post(PROMPT, {"code": codes[0]}).status_code == 200  # refused: used
        assert again.get("/desk/").status_code == 302
        response = again.post(PROMPT, {"code": codes[1]})
        self.assertRedirects(response, "/desk/", fetch_redirect_response=False)

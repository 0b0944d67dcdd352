"""Setting up a second factor right after signing in, as a newcomer meets it: no second
password prompt, then the recovery codes page leads on to the desk."""

from __future__ import annotations

import time
from unittest import mock

from django.test import Client, override_settings

from herald.accounts.tests.base import AccountsTestCase
from herald.accounts.tests.test_journey import code_for
from herald.test import PASSWORD, make_user

ACTIVATE = "/desk/account/2fa/totp/activate/"


class SetUpAfterSignInTest(AccountsTestCase):
    def sign_in(self, username: str = "nina") -> Client:
        make_user(username, staff=True, mfa=False)
        browser = Client()
        response = browser.post("/desk/login/", {"login": username, "password": PASSWORD})
        self.assertRedirects(response, "/desk/account/2fa/", fetch_redirect_response=False)
        return browser

    def test_setting_up_totp_right_after_signing_in_asks_for_no_password_again(self) -> None:
        browser = self.sign_in()
        page = browser.get(ACTIVATE)
        assert page.status_code == 200, page.get("Location")
        with self.captureOnCommitCallbacks(execute=True):
            response = browser.post(ACTIVATE, {"code": code_for(page.context["form"].secret)})
        self.assertRedirects(
            response, "/desk/account/2fa/recovery-codes/", fetch_redirect_response=False
        )

    def test_a_sign_in_older_than_the_reauthentication_timeout_asks_again(self) -> None:
        browser = self.sign_in()
        later = time.time() + 301
        with (
            override_settings(ACCOUNT_REAUTHENTICATION_TIMEOUT=300),
            mock.patch("time.time", return_value=later),
        ):
            response = browser.get(ACTIVATE)
        assert response.status_code == 302
        assert response["Location"].startswith("/desk/account/reauthenticate/")

    def test_the_recovery_codes_page_leads_on_to_the_desk(self) -> None:
        browser = self.sign_in()
        page = browser.get(ACTIVATE)
        with self.captureOnCommitCallbacks(execute=True):
            browser.post(ACTIVATE, {"code": code_for(page.context["form"].secret)})
        codes = browser.get("/desk/account/2fa/recovery-codes/")
        self.assertContains(codes, "Continue to the desk")
        link = '<a class="button primary" href="/desk/">Continue to the desk</a>'
        self.assertContains(codes, link, html=True)
        assert browser.get("/desk/").status_code == 200

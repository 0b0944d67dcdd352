"""Protection: security headers and CSP, no inline script anywhere, CSRF, login lockout,
idle sessions, secrets kept out of logs, and Markdown that cannot carry script."""

from __future__ import annotations

import logging
import re
import time
from pathlib import Path
from typing import cast

from django.contrib.auth.models import User
from django.test import Client, override_settings

from herald.accounts.logs import RedactSecrets, redact
from herald.accounts.tests.base import AccountsTestCase, client_for
from herald.core.markdown import render
from herald.test import PASSWORD

HERALD = Path(__file__).resolve().parents[2]


class HeaderTest(AccountsTestCase):
    def test_every_page_has_a_strict_csp_and_security_headers(self) -> None:
        for client, url in (
            (Client(), "/security/advisories/"),
            (Client(), "/desk/login/"),
            (client_for(self.bob), "/desk/incidents/"),
            (Client(), "/api/v1/advisories"),
            (Client(), "/no/such/page/"),
        ):
            with self.subTest(url=url):
                response = client.get(url)
                csp = response["Content-Security-Policy"]
                assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp
                assert "frame-ancestors 'none'" in csp and "default-src 'none'" in csp
                assert response["X-Content-Type-Options"] == "nosniff"
                assert response["Referrer-Policy"] == "same-origin"
                assert "camera=()" in response["Permissions-Policy"]
                assert response["X-Frame-Options"] == "DENY"
                assert "Strict-Transport-Security" not in response  # plain HTTP here

    @override_settings(SECURE_HSTS_SECONDS=31536000, SESSION_COOKIE_SECURE=True)
    def test_hsts_is_sent_over_https_when_cookies_are_secure(self) -> None:
        response = Client().get("/security/advisories/", secure=True)
        assert response["Strict-Transport-Security"].startswith("max-age=31536000")

    def test_no_template_has_inline_script_style_or_handlers(self) -> None:
        offenders = []
        for path in HERALD.rglob("templates/**/*.html"):
            text = path.read_text(encoding="utf-8")
            if re.search(r"<style\b", text):
                offenders.append(f"{path}: <style> element")
            for tag in re.findall(r"<script\b[^>]*>", text):
                if "src=" not in tag and "application/json" not in tag:
                    offenders.append(f"{path}: {tag}")
            if re.search(r"\son[a-z]+\s*=", text):
                offenders.append(f"{path}: inline event handler")
            if re.search(r"<[a-z][^>]*\sstyle\s*=", text):
                offenders.append(f"{path}: style attribute")
            if "javascript:" in text:
                offenders.append(f"{path}: javascript: URL")
        assert offenders == []

    def test_session_and_csrf_cookies_are_http_only_and_same_site(self) -> None:
        response = Client().post("/desk/login/", {"login": "bob", "password": PASSWORD})
        cookie = next(c for name, c in response.cookies.items() if "session" in name)
        assert cookie["httponly"] and cookie["samesite"] == "Lax"


class CsrfTest(AccountsTestCase):
    def test_a_desk_post_without_the_csrf_token_is_refused(self) -> None:
        browser = Client(enforce_csrf_checks=True)
        browser.force_login(cast(User, self.bob))
        response = browser.post("/desk/incidents/new/", {"title": "Forged"})
        assert response.status_code == 403
        response = browser.post("/desk/logout/")
        assert response.status_code == 403


class LockoutTest(AccountsTestCase):
    def test_five_wrong_passwords_lock_the_account_name_out(self) -> None:
        for _ in range(5):
            Client(REMOTE_ADDR="10.0.0.1").post("/desk/login/", {"login": "bob", "password": "x"})
        # From another address, and with the right password: still refused for now.
        response = Client(REMOTE_ADDR="10.0.0.2").post(
            "/desk/login/", {"login": "bob", "password": PASSWORD}
        )
        assert response.status_code == 429 or b"Too many failed login attempts" in response.content
        assert "_auth_user_id" not in response.client.session


class IdleSessionTest(AccountsTestCase):
    @override_settings(HERALD_SESSION_IDLE_SECONDS=600)
    def test_a_session_left_idle_is_ended(self) -> None:
        bob = client_for(self.bob)
        assert bob.get("/desk/incidents/").status_code == 200
        session = bob.session
        session["herald_seen"] = int(time.time()) - 601
        session.save()
        response = bob.get("/desk/incidents/")
        self.assertRedirects(
            response, "/desk/login/?next=/desk/incidents/", fetch_redirect_response=False
        )


class LogTest(AccountsTestCase):
    def test_tokens_passwords_and_one_time_links_never_reach_a_log(self) -> None:
        _, value = self.token_for(self.bob, ["read"])
        with self.assertLogs("herald.test", level="INFO") as captured:
            logger = logging.getLogger("herald.test")
            logger.addFilter(RedactSecrets())
            try:
                logger.info("request with Authorization: Bearer %s", value)
                logger.info("token %s failed", value)
                logger.info("GET /desk/invitation/%s/", "A" * 43)
                logger.info("form password=%s&login=bob", PASSWORD)
            finally:
                logger.filters.clear()
        text = "\n".join(captured.output)
        assert value not in text and value[5:] not in text
        assert PASSWORD not in text and "A" * 43 not in text
        assert "[redacted]" in text

    def test_a_failed_login_logs_the_name_but_not_the_password(self) -> None:
        with self.assertLogs("herald.accounts", level="WARNING") as captured:
            Client().post("/desk/login/", {"login": "bob", "password": "hunter2-secret"})
        assert "bob" in "\n".join(captured.output)
        assert "hunter2-secret" not in "\n".join(captured.output)

    def test_redact_leaves_ordinary_text_alone(self) -> None:
        assert redact("published NW-2026-0001 for bob") == "published NW-2026-0001 for bob"


class MarkdownTest(AccountsTestCase):
    def test_markdown_cannot_carry_script_or_dangerous_links(self) -> None:
        hostile = (
            "<script>alert(1)</script>\n\n[x](javascript:alert(1)) [y](data:text/html,hi)\n\n"
            '<img src=x onerror="alert(1)">\n\n<a href="https://e.com" onclick="x()">a</a>\n\n'
            "![i](https://evil.example/t.png)\n\n| a |\n|:-:|\n| <b style='x'>b</b> |"
        )
        html = render(hostile)
        tags = re.findall(r"<[a-z][^>]*>", html)  # real tags; escaped text is no tag
        assert not [t for t in tags if re.search(r"\son\w+=|style=|javascript:|data:", t)]
        assert not [t for t in tags if t.startswith(("<script", "<img", "<iframe"))]
        assert "&lt;script&gt;" in html  # shown as text, not dropped silently
        assert 'rel="noopener noreferrer nofollow"' in render("[ok](https://example.com)")

    def test_a_draft_with_hostile_markdown_renders_safely_on_the_desk(self) -> None:
        advisory = self.draft(description="<script>alert('desk')</script> **bold**")
        page = client_for(self.bob).get(f"/desk/advisories/{advisory.identifier}/preview/")
        assert b"<script>alert" not in page.content

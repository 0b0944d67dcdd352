"""Running the desk in a real headless Chromium for the browser tests.

Playwright drives Debian's ``chromium`` (``HERALD_CHROMIUM`` overrides the path;
test tools cannot download browsers here). Without Playwright, Chromium or
axe-core the tests skip and say why; with ``HERALD_REQUIRE_SERVICES=1`` (CI) a
missing piece fails the run instead, so a green CI means the browser really ran.

Signing in does not depend on the login form: ``signed_in`` copies the session of
a test client (``force_login``, as every web test does) into the browser context.
One test exercises the real form.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.staticfiles.testing import StaticLiveServerTestCase
from django.test import Client

from herald.test import CastMixin, unavailable

HERE = Path(__file__).resolve().parent
AXE = HERE / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = HERE.parents[3] / "docs" / "screenshots"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
INSTALL_HINT = (
    "apt-get install -y chromium; pip install playwright==1.65.2; "
    "npm ci --prefix herald/web/tests/browser"
)


def chromium_path() -> str | None:
    explicit = os.environ.get("HERALD_CHROMIUM")
    if explicit:
        return explicit if Path(explicit).exists() else None
    return shutil.which("chromium") or shutil.which("chromium-browser")


def browser_problem() -> str | None:
    if importlib.util.find_spec("playwright") is None:
        return "the playwright Python package is not installed"
    if chromium_path() is None:
        return "no chromium binary (Debian package chromium, or HERALD_CHROMIUM)"
    return None


def _skip_or_fail(problem: str) -> None:
    unavailable(f"{problem}: browser tests skipped ({INSTALL_HINT})")


class BrowserTestCase(CastMixin, StaticLiveServerTestCase):
    """A live server on a free loopback port, and one headless Chromium for the class."""

    host = "127.0.0.1"
    playwright: Any
    browser: Any
    _async_unsafe: str | None

    @classmethod
    def setUpClass(cls) -> None:
        problem = browser_problem()
        if problem:
            _skip_or_fail(problem)
        # Playwright's sync API runs an event loop in this thread; the ORM calls the
        # tests make between browser steps are still synchronous and safe.
        cls._async_unsafe = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
        super().setUpClass()
        from playwright.sync_api import sync_playwright

        cls.playwright = sync_playwright().start()
        cls.browser = cls.playwright.chromium.launch(
            executable_path=chromium_path(), args=CHROMIUM_ARGS, headless=True
        )

    @classmethod
    def tearDownClass(cls) -> None:
        if getattr(cls, "browser", None) is not None:
            cls.browser.close()
            cls.playwright.stop()
        super().tearDownClass()
        if cls._async_unsafe is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)

    def setUp(self) -> None:
        super().setUp()
        self.make_cast()
        self.contexts: list[Any] = []

    def tearDown(self) -> None:
        for context in self.contexts:
            context.close()
        super().tearDown()

    def new_page(self, *, javascript: bool = True) -> Any:
        context = self.browser.new_context(
            viewport={"width": 1400, "height": 1000}, java_script_enabled=javascript
        )
        context.set_default_timeout(10_000)
        self.contexts.append(context)
        return context.new_page()

    def signed_in(self, user: Any, *, javascript: bool = True) -> Any:
        """A page whose browser carries ``user``'s session, made without the login form."""
        client = Client()
        client.force_login(user)
        page = self.new_page(javascript=javascript)
        cookie = client.cookies[settings.SESSION_COOKIE_NAME]
        page.context.add_cookies(
            [{"name": cookie.key, "value": cookie.value, "url": self.live_server_url}]
        )
        return page

    def url(self, path: str) -> str:
        return self.live_server_url + path

    def screenshot(self, page: Any, name: str) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=False)

    def axe_violations(self, page: Any) -> list[dict[str, Any]]:
        """Serious and critical axe-core violations of the page as it is now."""
        if not AXE.exists():
            _skip_or_fail(f"axe-core is not installed at {AXE}")
        # Served from the page's own origin, so the desk's CSP (script-src 'self') stays on.
        page.route("**/__axe__.js", lambda route: route.fulfill(path=str(AXE)))
        page.add_script_tag(url=self.url("/__axe__.js"))
        result = page.evaluate(
            "async () => await axe.run(document, {runOnly: {type: 'tag', values: "
            "['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}})"
        )
        return [
            {
                "id": v["id"],
                "impact": v["impact"],
                "help": v["help"],
                "nodes": [n["target"] for n in v["nodes"]][:5],
            }
            for v in result["violations"]
            if v["impact"] in ("serious", "critical")
        ]

    def assert_accessible(self, page: Any) -> None:
        violations = self.axe_violations(page)
        assert violations == [], json.dumps(violations, indent=2)

"""Every public and desk page in Chromium: no CSP violation, and styled by web.css.

Herald's CSP allows no inline style or script, so a page that relies on one renders
unstyled while every HTML-level test passes. Here Chromium opens each page with
the CSP as served; the test fails on any violation Chromium reports (the
``securitypolicyviolation`` event and the console's "Refused to ..." messages),
and on any page whose computed styles are not the stylesheet's (body margin and
font, the header's background and layout), so an unstyled page cannot pass.
Each page is photographed into ``var/test/screenshots/pages`` for a look; a few go
to docs/screenshots with the others.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from django.urls import reverse
from django.utils import timezone

from herald.core.mail import keep
from herald.core.models import Product
from herald.intake.actions import do_add_note, do_submit_report
from herald.notify import actions as notify
from herald.notify.customer_files import parse_customer_file
from herald.notify.models import Campaign, Delivery
from herald.publication.actions import do_resolve_advisory
from herald.web.tests.browser.support import BrowserTestCase

PAGE_SHOTS = Path(os.environ.get("HERALD_HOME", "var")) / "screenshots" / "pages"
DOC_SHOTS = {"report-form", "subscribe", "desk-reports", "desk-campaigns", "public-index"}

WATCH_CSP = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__csp.push(e.violatedDirective + ' blocked ' + (e.blockedURI || 'inline') +
                    ' at ' + (e.sourceFile || location.pathname) + ':' + e.lineNumber);
});
"""

# What only web.css sets: the browser's defaults are an 8px body margin, Times,
# and a transparent, block-level header.
STYLES = """() => {
  const body = getComputedStyle(document.body);
  const header = document.querySelector('header.site-header');
  const wrap = header && header.querySelector('.wrap');
  return {
    margin: body.marginTop,
    font: body.fontFamily,
    header: header ? getComputedStyle(header).backgroundColor : null,
    headerLayout: wrap ? getComputedStyle(wrap).display : null,
    sheets: [...document.styleSheets].map((s) => s.href || 'inline'),
  };
}"""

# The outermost elements that reach past the window, to say what makes a page too wide.
WIDEST = """() => [...document.querySelectorAll('body *')]
  .filter((e) => e.getBoundingClientRect().right > innerWidth + 1
    && !(e.parentElement && e.parentElement.getBoundingClientRect().right > innerWidth + 1))
  .slice(0, 3)
  .map((e) => e.tagName.toLowerCase() + (e.className ? '.' + e.className : '')
    + ' ' + Math.round(e.getBoundingClientRect().right))"""

PLACEHOLDER_FITS = """(e) => {
  const s = getComputedStyle(e);
  const ctx = document.createElement('canvas').getContext('2d');
  ctx.font = s.font;
  return {placeholder: e.placeholder, text: ctx.measureText(e.placeholder).width,
          box: e.clientWidth - parseFloat(s.paddingLeft) - parseFloat(s.paddingRight)};
}"""

CUSTOMERS = (
    "customer_id,organisation,region,contact_email,contact_name,contact_role,product,"
    "deployment,version\nacme,Acme Corp,EU,sec@acme.example,Ana,CISO,cloud,cloud,\n"
)


class StyledPageCase(BrowserTestCase):
    """Opens pages and fails on a CSP violation or a page web.css does not style."""

    def seed(self) -> dict[str, str]:
        """One of each thing a page shows, made through the actions."""
        Product.objects.create(name="Northwind Agent", slug="agent")
        notify.do_import_customers(parse_customer_file(CUSTOMERS), acting_user=self.alice)
        current = self.published(
            title="Stored XSS in dashboard names",
            confirmed_exposure=True,
            affected_regions=["EU"],
            affected=[{"product": "cloud", "deployment": "cloud", "region": "EU"}],
        )
        past = self.published(title="Open redirect after login", cve_ids=["CVE-2026-22222"])
        do_resolve_advisory(past, acting_user=self.bob)
        draft = self.draft(title="Token leak in build logs", cve_ids=[])
        report = do_submit_report(
            source="web",
            email="ada@researcher.example",
            title="SSRF through webhook URLs",
            body="The webhook URL can point at the metadata service.",
            # A long unbroken address, as reporters paste them: it must wrap at 390 px.
            product_hint="https://app.northwind.example/api/projects/1/settings/webhooks/edit",
            acknowledge=False,
        )
        do_add_note(report, "Reproduced on staging.", acting_user=self.bob)
        subscriber = notify.do_subscribe("reader@example.com")
        notify.do_create_channel(
            name="security-team",
            kind="email",
            config={"to": "security-team@example.com"},
            internal=True,
            acting_user=self.alice,
        )
        kept = keep(
            b"From: security@example.com\r\nTo: ada@researcher.example\r\n"
            b"Subject: Your report\r\nMessage-ID: <1@example.com>\r\n\r\n"
            b"Follow https://security.example.com/security/reports/x/ to answer.\r\n",
            sender="security@example.com",
            recipients=["ada@researcher.example"],
        )
        campaign = Campaign.objects.get(advisory=current)
        delivery = Delivery.objects.order_by("pk").first()
        assert delivery is not None
        return {
            "current": current.identifier,
            "past": past.identifier,
            "year": str(timezone.now().year),
            "draft": draft.identifier,
            "incident": current.incident.identifier,
            "report": report.tracking_id,
            "report_token": report.token,
            "subscriber_token": subscriber.token,
            "campaign": str(campaign.pk),
            "delivery": str(delivery.pk),
            "customer": str(_customer_pk()),
            "mail": str(kept.pk),
        }

    def visit(self, page: Any, path: str, name: str) -> dict[str, Any]:
        """Open ``path``; fail on a CSP violation or a missing stylesheet; photograph it."""
        console: list[str] = []
        page.on("console", lambda m: console.append(m.text) if m.type == "error" else None)
        response = page.goto(self.url(path))
        assert response is not None and response.status == 200, (path, response and response.status)
        page.wait_for_load_state("load")
        violations = page.evaluate("() => window.__csp") + [
            text for text in console if "Content Security Policy" in text
        ]
        assert violations == [], f"{path}: {violations}"
        styles: dict[str, Any] = page.evaluate(STYLES)
        assert any(s.endswith("/static/herald/web.css") for s in styles["sheets"]), (path, styles)
        assert styles["margin"] == "0px", (path, styles)
        assert "system-ui" in styles["font"], (path, styles)
        assert styles["header"] == "rgb(245, 246, 249)", (path, styles)
        assert styles["headerLayout"] == "flex", (path, styles)
        PAGE_SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(PAGE_SHOTS / f"{name}.png"))
        if name in DOC_SHOTS:
            self.screenshot(page, name)
        return styles

    def page_with_csp_watch(self, user: Any = None) -> Any:
        page = self.signed_in(user) if user is not None else self.new_page()
        page.context.add_init_script(WATCH_CSP)
        return page


class EveryPageTest(StyledPageCase):
    def test_every_public_page_is_styled_without_breaking_the_csp(self) -> None:
        ids = self.seed()
        page = self.page_with_csp_watch()
        for name, path in (
            ("public-index", "/security/advisories/"),
            ("public-advisory", f"/security/advisories/{ids['current']}/"),
            ("public-archive", f"/security/advisories/archive/{ids['year']}/"),
            ("public-product-vex", "/security/products/cloud/vex/"),
            ("report-form", "/security/report/"),
            ("report-thread", f"/security/reports/{ids['report_token']}/"),
            ("subscribe", "/security/subscribe/"),
            ("subscribe-confirm", f"/security/subscribe/confirm/{ids['subscriber_token']}/"),
            ("subscription", f"/security/subscriptions/{ids['subscriber_token']}/"),
            ("unsubscribe", f"/security/unsubscribe/{ids['subscriber_token']}/"),
            ("login", "/desk/login/"),
        ):
            with self.subTest(page=name):
                self.visit(page, path, name)

    def test_the_spam_trap_is_hidden_from_people_and_from_the_keyboard(self) -> None:
        page = self.page_with_csp_watch()
        self.visit(page, "/security/report/", "report-form")
        trap = page.locator("input[name=website]")
        box = trap.bounding_box()
        assert box is not None and box["x"] + box["width"] <= 0  # off screen
        assert trap.get_attribute("tabindex") == "-1"
        assert trap.get_attribute("autocomplete") == "off"
        assert page.locator(".hp").get_attribute("aria-hidden") == "true"
        assert page.locator(".hp").evaluate("(e) => getComputedStyle(e).position") == "absolute"
        self.assert_accessible(page)

    def test_the_first_advisory_starts_near_the_top_on_a_desktop_and_a_phone(self) -> None:
        self.seed()
        for device, viewport, limit in (
            ("desktop", {"width": 1400, "height": 1000}, 400),
            ("phone", {"width": 390, "height": 844}, 600),
        ):
            context = self.browser.new_context(viewport=viewport)
            self.contexts.append(context)
            page = context.new_page()
            page.goto(self.url("/security/advisories/"))
            top = page.locator("article.advisory").first.bounding_box()
            assert top is not None and top["y"] < limit, (device, top)
            assert page.get_by_role("link", name="Report a vulnerability", exact=True).is_visible()
            assert page.get_by_role("link", name="Subscribe by e-mail", exact=True).is_visible()
            self.assert_accessible(page)
            PAGE_SHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(PAGE_SHOTS / f"public-index-{device}.png"))

    def test_no_page_is_wider_than_a_phone_or_a_laptop(self) -> None:
        # A page wider than the window scrolls sideways as a whole: the header's menu
        # must wrap, wide tables scroll in their own box, and selects stay in bounds.
        ids = self.seed()
        public = [
            "/security/advisories/",
            f"/security/advisories/{ids['current']}/",
            f"/security/advisories/archive/{ids['year']}/",
            "/security/products/cloud/vex/",
            "/security/report/",
            f"/security/reports/{ids['report_token']}/",
            "/security/subscribe/",
        ]
        desk = [
            "/desk/",
            "/desk/advisories/",
            f"/desk/advisories/{ids['current']}/",
            "/desk/advisories/new/",
            f"/desk/advisories/{ids['draft']}/edit/",
            f"/desk/advisories/{ids['draft']}/vulnerabilities/new/",
            "/desk/reports/",
            f"/desk/reports/{ids['report']}/",
            "/desk/notify/deliveries/",
            "/desk/outbox/",
            reverse("accounts:audit"),
        ]
        too_wide = []
        for width in (390, 1280):
            for user, paths in ((None, public), (self.alice, desk)):
                page = self.signed_in(user) if user is not None else self.new_page()
                page.set_viewport_size({"width": width, "height": 900})
                for path in paths:
                    response = page.goto(self.url(path))
                    assert response is not None and response.status == 200, path
                    wide = page.evaluate("() => document.documentElement.scrollWidth")
                    if wide > width:
                        too_wide.append((width, path, wide, page.evaluate(WIDEST)))
                    name = path
                    for key in ("report_token", "draft", "current", "report"):
                        name = name.replace(ids[key], key)  # stable names: no random ids
                    name = "wide-" + re.sub(r"[^a-z0-9]+", "-", name).strip("-")
                    PAGE_SHOTS.mkdir(parents=True, exist_ok=True)
                    page.screenshot(path=str(PAGE_SHOTS / f"{name}-{width}.png"))
        assert too_wide == [], "\n".join(map(str, too_wide))

    def test_the_product_rows_fit_the_editor_on_a_laptop(self) -> None:
        # Every column of a product row, its status last, in view at 1280 px: the table
        # scrolled inside its fieldset and hid the status and the delete box.
        ids = self.seed()
        page = self.signed_in(self.alice)
        page.set_viewport_size({"width": 1280, "height": 900})
        for path in (
            "/desk/advisories/new/",
            f"/desk/advisories/{ids['draft']}/edit/",
            f"/desk/advisories/{ids['draft']}/vulnerabilities/new/",
        ):
            page.goto(self.url(path))
            box = page.evaluate(
                """() => { const f = document.querySelector('#affected-rows');
                  return [f.scrollWidth, f.clientWidth]; }"""
            )
            assert box[0] <= box[1], (path, box)
            status = page.locator('#affected-rows select[name$="-status"]').first
            assert status.evaluate("s => s.scrollWidth <= s.clientWidth + 24"), path

    def test_the_editor_is_compact_and_folds_what_is_optional(self) -> None:
        ids = self.seed()
        page = self.page_with_csp_watch(self.alice)
        for path in ("/desk/advisories/new/", f"/desk/advisories/{ids['draft']}/edit/"):
            self.visit(page, path, "desk-editor-compact")
            height = page.evaluate("() => document.documentElement.scrollHeight")
            assert height < 3600, (path, height)  # 5,400 px before
            # CVSS v4.0, credits and references fold away while empty.
            assert page.get_by_label("CVSS v4.0 vector").is_hidden()
            page.get_by_text("CVSS v4.0 (optional)").click()
            # is_visible() does not wait: the open <details> may paint a moment later
            # (a CI run under load saw it still hidden).
            page.get_by_label("CVSS v4.0 vector").wait_for(state="visible", timeout=5000)
            assert page.get_by_label("CVSS v4.0 vector").is_visible()
            self.assert_accessible(page)
        page.screenshot(path=str(PAGE_SHOTS / "desk-editor-full.png"), full_page=True)

    def test_every_desk_page_has_the_desk_layout_and_breaks_no_csp(self) -> None:
        ids = self.seed()
        page = self.page_with_csp_watch(self.alice)
        for name, path in (
            ("desk-dashboard", "/desk/"),
            ("desk-search", "/desk/search/?q=XSS"),
            ("desk-metrics", "/desk/metrics/"),
            ("desk-incidents", "/desk/incidents/"),
            ("desk-incident", f"/desk/incidents/{ids['incident']}/"),
            ("desk-incident-new", "/desk/incidents/new/"),
            ("desk-advisories", "/desk/advisories/"),
            ("desk-advisory", f"/desk/advisories/{ids['current']}/"),
            ("desk-advisory-new", "/desk/advisories/new/"),
            ("desk-advisory-edit", f"/desk/advisories/{ids['draft']}/edit/"),
            ("desk-advisory-preview", f"/desk/advisories/{ids['draft']}/preview/"),
            ("desk-advisory-publish", f"/desk/advisories/{ids['draft']}/publish/"),
            ("desk-advisory-revisions", f"/desk/advisories/{ids['current']}/revisions/"),
            ("desk-reports", "/desk/reports/"),
            ("desk-report", f"/desk/reports/{ids['report']}/"),
            ("desk-rewards", "/desk/reports/rewards/"),
            ("desk-mail", "/desk/reports/mail/"),
            ("desk-campaigns", "/desk/notify/campaigns/"),
            ("desk-campaign", f"/desk/notify/campaigns/{ids['campaign']}/"),
            ("desk-deliveries", "/desk/notify/deliveries/"),
            ("desk-delivery", f"/desk/notify/deliveries/{ids['delivery']}/"),
            ("desk-customers", "/desk/notify/customers/"),
            ("desk-customer", f"/desk/notify/customers/{ids['customer']}/"),
            ("desk-subscribers", "/desk/notify/subscribers/"),
            ("desk-subscriber-new", "/desk/notify/subscribers/new/"),
            ("desk-channels", "/desk/notify/channels/"),
            ("desk-channel-new", "/desk/notify/channels/new/"),
            ("desk-outbox", "/desk/outbox/"),
            ("desk-outbox-message", f"/desk/outbox/{ids['mail']}/"),
            ("desk-me", reverse("accounts:home")),
            ("desk-people", reverse("accounts:people")),
            ("desk-person", reverse("accounts:person", args=[self.bob.pk])),
            ("desk-invite", reverse("accounts:invite")),
            ("desk-audit", reverse("accounts:audit")),
            ("desk-mfa", reverse("mfa_index")),
            ("desk-password", reverse("account_change_password")),
            ("desk-passkeys", reverse("mfa_list_webauthn")),
            ("desk-reauthenticate", reverse("account_reauthenticate")),
        ):
            with self.subTest(page=name):
                self.visit(page, path, name)
                if name == "desk-dashboard":
                    # One row at 1280 px: the brand, eight links, the search, the account.
                    page.set_viewport_size({"width": 1280, "height": 900})
                    row = page.locator("header.site-header .wrap").bounding_box()
                    assert row is not None and row["height"] < 70, row
                    # The search box's hint is read whole, not cut at "Search: id, CVE,".
                    fits = page.locator("#desk-q").evaluate(PLACEHOLDER_FITS)
                    assert fits["text"] <= fits["box"], fits
                    self.screenshot(page, "dashboard")
                if name == "desk-advisory-preview":
                    continue  # the public page as it will look, under a preview banner
                # The desk's header: its brand and a navigation, on every desk page.
                header = page.locator("header.site-header")
                assert header.get_by_role("link", name="Herald desk").is_visible(), name
                assert header.get_by_role("navigation").count() >= 1, name


def _customer_pk() -> int:
    from herald.notify.models import Customer

    customer = Customer.objects.get(external_id="acme")
    return int(customer.pk)


class SecondFactorSetUpTest(StyledPageCase):
    def test_a_newcomer_signs_in_sets_up_totp_and_continues_to_the_desk(self) -> None:
        from herald.accounts.tests.test_journey import code_for
        from herald.test import PASSWORD, make_user

        make_user("nina", staff=True, mfa=False)
        page = self.new_page()
        page.context.add_init_script(WATCH_CSP)
        page.goto(self.url("/desk/login/"))
        page.locator("input[name=login]").fill("nina")
        page.locator("input[name=password]").fill(PASSWORD)
        with page.expect_navigation():
            page.get_by_role("button", name="Log in", exact=True).click()
        page.wait_for_url(re.compile(r"/desk/account/2fa/$"))
        # Straight on to the authenticator: the password just typed is not asked again.
        self.visit(page, "/desk/account/2fa/totp/activate/", "desk-totp-activate")
        secret_box = page.locator("#authenticator_secret")
        secret = secret_box.input_value()
        fits = secret_box.evaluate("(e) => e.scrollWidth <= e.clientWidth")
        assert len(secret) >= 32 and fits, secret_box.bounding_box()
        page.get_by_label("Authenticator code").fill(code_for(secret))
        with page.expect_navigation():
            page.get_by_role("button", name="Activate").click()
        page.wait_for_url(re.compile(r"/desk/account/2fa/recovery-codes/$"))
        self.visit(page, "/desk/account/2fa/recovery-codes/", "desk-recovery-codes")
        # Two ways on, read as two: not one underlined run "Download codes Generate new codes".
        download = page.get_by_role("link", name="Download codes").bounding_box()
        generate = page.get_by_role("link", name="Generate new codes").bounding_box()
        assert download is not None and generate is not None
        assert download["x"] + download["width"] + 8 <= generate["x"], (download, generate)
        assert (
            page.get_by_role("link", name="Download codes").evaluate(
                "(e) => getComputedStyle(e).borderTopStyle"
            )
            == "solid"
        )
        page.get_by_role("link", name="Continue to the desk").click()
        page.wait_for_url(re.compile(r"/desk/$"))
        assert page.get_by_role("heading", name="Dashboard").is_visible()

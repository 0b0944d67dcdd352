"""The responder's main journeys in headless Chromium, axe-core on the main pages, screenshots.

Signed in through the session (``signed_in``), a responder declares an incident,
writes an advisory with the CVSS calculator, watches the live preview, publishes
it through the publish dialog and finds it on the public page; then triages a
report. The screenshots in docs/screenshots/ are written here, so they follow the
desk as it changes.
"""

from __future__ import annotations

import datetime as dt
import re

from django.utils import timezone
from playwright.sync_api import expect

from herald.advisories.models import Advisory
from herald.core.models import Product
from herald.intake.actions import do_submit_report
from herald.intake.models import Report
from herald.test import PASSWORD
from herald.web.tests.browser.support import BrowserTestCase


class JourneyTest(BrowserTestCase):
    def seed(self) -> None:
        """A desk in mid-incident: what the dashboard screenshot shows."""
        incident = self.declare("Token leak in build logs", severity="high", commander="alice")
        self.draft(
            incident,
            title="API tokens printed in CI build logs",
            embargo_until=timezone.now() + dt.timedelta(days=3, hours=4),
        )
        do_submit_report(
            source="web",
            email="ada@researcher.example",
            title="SSRF through webhook URLs",
            body="The webhook URL can point at the metadata service.",
            acknowledge=False,
        )

    def test_declare_write_with_the_calculator_preview_publish_and_read_it(self) -> None:
        self.seed()
        page = self.signed_in(self.bob)

        page.goto(self.url("/desk/"))
        assert page.get_by_role("heading", name="Open incidents").is_visible()
        assert page.get_by_text("SSRF through webhook URLs").first.is_visible()
        self.assert_accessible(page)
        self.screenshot(page, "dashboard")

        # Declare an incident.
        page.get_by_role("link", name="Declare an incident").first.click()
        page.get_by_label("Title").fill("Stored XSS in dashboard names")
        page.get_by_label("Severity").select_option("medium")
        page.get_by_role("button", name="Declare").click()
        page.wait_for_url(re.compile(r"/desk/incidents/[^/]+/$"))
        incident_id = page.url.rstrip("/").rsplit("/", 1)[1]
        page.get_by_role("link", name="New advisory in this incident").click()

        # Write the advisory; the calculator builds the vector from choices.
        page.wait_for_selector(".cvss-calc:not([hidden])")
        page.get_by_label("Title").fill("Stored XSS in dashboard names")
        page.get_by_label("Description").fill("A dashboard name could carry a *script*.")
        page.get_by_label("Affected users").fill("Cloud customers in the US and EU regions.")
        page.get_by_label("Reported:", exact=True).fill("2026-01-11")
        for metric, value in (("AV", "N"), ("AC", "L"), ("PR", "N"), ("UI", "R"), ("S", "C"),
                              ("C", "L"), ("I", "L"), ("A", "N")):  # fmt: skip
            page.locator(f"#cvss_v3_vector-{metric}").select_option(value)
        assert page.get_by_label("CVSS v3.1 vector").input_value() == (
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N"
        )
        page.wait_for_selector("output.cvss-score:has-text('Score 6.1 · Medium')")
        # The live preview follows what is typed: the public page and the Markdown entry.
        page.wait_for_selector("#preview-body pre.markdown-entry:has-text('**Severity:** Medium')")
        assert "### Stored XSS in dashboard names" in page.locator(".markdown-entry").inner_text()
        self.assert_accessible(page)
        page.locator("fieldset.cvss").scroll_into_view_if_needed()
        page.evaluate("() => document.querySelector('fieldset.cvss').scrollIntoView()")
        self.screenshot(page, "editor")
        page.get_by_role("button", name="Create draft").click()
        page.wait_for_url(re.compile(r"/desk/advisories/[^/]+/$"))
        draft = Advisory.objects.get(title="Stored XSS in dashboard names")
        assert draft.incident.identifier == incident_id
        assert (draft.severity, str(draft.cvss_v3_score)) == ("medium", "6.1")

        # Preview, then publish through the dialog that says what will happen.
        # expect() waits for the page a click leads to; is_visible() would not.
        page.get_by_role("link", name="Preview").click()
        expect(page.get_by_text("PREVIEW").first).to_be_visible()
        page.go_back()
        page.get_by_role("link", name="Publish", exact=True).click()
        expect(page.get_by_role("heading", name="What will happen")).to_be_visible()
        expect(page.get_by_text("CVE JSON 5")).to_be_visible()
        self.assert_accessible(page)
        page.get_by_role("button", name="Publish now").click()
        page.wait_for_selector("text=published.")
        published = Advisory.objects.get(pk=draft.pk)
        assert published.state == "published"

        # The public sees it.
        actions = page.get_by_role("navigation", name="Advisory actions")
        actions.get_by_role("link", name="Public page").click()
        page.wait_for_url(re.compile(rf"/security/advisories/{published.identifier}/$"))
        assert page.get_by_role("heading", level=1).inner_text() == (
            f"{published.identifier}: Stored XSS in dashboard names"
        )
        self.assert_accessible(page)
        self.screenshot(page, "public-page")

    def test_a_responder_triages_a_report(self) -> None:
        self.seed()
        report = Report.objects.get()
        page = self.signed_in(self.bob)
        page.goto(self.url("/desk/"))
        page.get_by_role("link", name=report.tracking_id, exact=True).click()
        status = page.locator("fieldset", has=page.locator("legend", has_text="Status"))
        status.locator("select").first.select_option("informative")
        with page.expect_navigation():
            status.get_by_role("button", name="Change").click()
        report.refresh_from_db()
        assert report.state == "informative"
        page.goto(self.url("/desk/"))
        expect(page.get_by_text("No report is waiting")).to_be_visible()

    def test_search_finds_the_advisory_from_the_header_box(self) -> None:
        advisory = self.published(title="Open redirect after login", cve_ids=["CVE-2026-22222"])
        page = self.signed_in(self.bob)
        page.goto(self.url("/desk/"))
        page.get_by_label("Search advisories, reports and incidents").fill("CVE-2026-22222")
        page.keyboard.press("Enter")
        page.wait_for_url(re.compile(rf"/desk/advisories/{advisory.identifier}/$"))

    def test_the_editor_previews_without_javascript(self) -> None:
        self.declare()
        page = self.signed_in(self.bob, javascript=False)
        page.goto(self.url("/desk/advisories/new/"))
        assert page.locator(".cvss-calc").first.is_hidden()
        page.get_by_label("Title").fill("Plain form")
        page.get_by_label("CVSS v3.1 vector").fill("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H")
        page.get_by_role("button", name="Preview").click()
        page.wait_for_selector("pre.markdown-entry")
        assert "**Severity:** Critical" in page.locator("pre.markdown-entry").inner_text()
        assert not Advisory.objects.filter(title="Plain form").exists()

    def test_a_vulnerability_gets_a_product_row_and_its_remediations_with_a_live_preview(
        self,
    ) -> None:
        draft = self.draft(self.declare())
        Product.objects.create(name="Northwind SDK", slug="sdk")
        page = self.signed_in(self.bob)
        page.goto(self.url(f"/desk/advisories/{draft.identifier}/vulnerabilities/1/"))
        # The live preview: the public page and Markdown entry with this vulnerability.
        page.wait_for_selector("#preview-body pre.markdown-entry")
        # A product row added on the page can be named by a remediation at once.
        page.locator("#affected-rows button.add-row").click()
        page.get_by_label("Product, row 3").select_option(label="Northwind SDK")
        page.get_by_label("Status, row 3").select_option("fixed")
        page.get_by_label("Fixed, row 3").fill("2.0.1")
        page.get_by_label("Product row, row 1").select_option("3")
        page.get_by_label("Category, row 1").first.select_option("vendor_fix")
        page.get_by_label("Version, row 1", exact=True).last.fill("2.0.1")
        page.get_by_label("Product row, row 2").select_option("3")
        page.get_by_label("Category, row 2").first.select_option("workaround")
        page.get_by_label("Details, row 2").fill("Turn exports off.")
        page.wait_for_selector("#preview-body :text('Northwind SDK')")
        self.assert_accessible(page)
        page.get_by_role("button", name="Save").click()
        page.wait_for_url(re.compile(r"/desk/advisories/[^/]+/$"))
        row = draft.vulnerabilities.get().affected.get(product__slug="sdk")
        assert [r["category"] for r in row.remediations] == ["vendor_fix", "workaround"]
        assert row.remediations[0]["version"] == "2.0.1"

    def test_the_keyboard_reaches_the_skip_link_first(self) -> None:
        page = self.signed_in(self.bob)
        page.goto(self.url("/desk/"))
        page.keyboard.press("Tab")
        focused = page.evaluate("() => document.activeElement.textContent")
        assert focused == "Skip to content"
        page.keyboard.press("Enter")
        # Following a fragment link updates the URL asynchronously; wait for it
        # rather than reading page.url the instant after the key press.
        page.wait_for_url(re.compile(r"/desk/#main$"), timeout=5000)

    def test_the_login_page_is_accessible_and_the_real_form_signs_in(self) -> None:
        page = self.new_page()
        page.goto(self.url("/desk/"))
        page.wait_for_url(re.compile(r"/desk/login/"))
        self.assert_accessible(page)
        # The username field is "login" once accounts adds MFA, "username" before.
        page.locator("input[name=login], input[name=username]").first.fill("bob")
        page.locator("input[name=password]").fill(PASSWORD)
        with page.expect_navigation():
            page.locator("form button[type=submit], form input[type=submit]").last.click()
        if "2fa" in page.url:
            from herald import test as herald_test

            page.locator("input[name=code]").fill(herald_test.totp_code(self.bob))
            with page.expect_navigation():
                page.locator("form button[type=submit]").last.click()
        page.wait_for_url(re.compile(r"/desk/$"))
        expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()


class ReporterJourneyTest(BrowserTestCase):
    """The reporter's side, unsigned: send a report, then use the private page's forms.

    Every form on the page is posted by Chromium itself: the browser decides which
    Origin and Referer a POST carries from the page's Referrer-Policy, and Django's
    CSRF check refuses ``Origin: null``, which a test client never sends.
    """

    def test_a_reporter_sends_a_report_replies_and_changes_the_credit(self) -> None:
        page = self.new_page()
        page.goto(self.url("/security/report/"))
        page.get_by_label("Your e-mail address").fill("ada@researcher.example")
        page.get_by_label("Title").fill("SSRF through webhook URLs")
        page.get_by_label("Description").fill("The webhook URL can reach the metadata service.")
        page.get_by_label("Your name").fill("Ada Lovelace")
        with page.expect_navigation():
            page.get_by_role("button", name="Send report").click()
        page.wait_for_url(re.compile(r"/security/reports/[^/]+/$"))
        report = Report.objects.get()
        assert page.url == self.url(f"/security/reports/{report.token}/")

        page.get_by_label("Your message").fill("It also works against the IPv6 address.")
        with page.expect_navigation():
            page.get_by_role("button", name="Send", exact=True).click()
        expect(page.get_by_text("Your message was added.")).to_be_visible()
        assert "CSRF" not in page.content()
        expect(page.get_by_text("It also works against the IPv6 address.")).to_be_visible()

        credit = page.locator("form", has=page.get_by_role("button", name="Save"))
        credit.get_by_label("Name").fill("Ada King")
        with page.expect_navigation():
            credit.get_by_role("button", name="Save").click()
        expect(page.get_by_text("Your credit preference was saved.")).to_be_visible()
        expect(page.locator("#credit")).to_have_text("Ada King")
        report.refresh_from_db()
        assert report.credit_name == "Ada King"
        # The address is the key: no other origin may learn it from a Referer.
        response = page.request.get(page.url)
        assert response.headers["referrer-policy"] == "same-origin", response.headers

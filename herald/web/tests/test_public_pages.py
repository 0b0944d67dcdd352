"""The public advisories page and one page per advisory, as a visitor sees them."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django.test import Client
from django.utils import timezone

from herald.core.models import VendorProfile
from herald.publication.actions import do_resolve_advisory, do_update_advisory
from herald.web.tests.base import WebTestCase, section


class PublicIndexTest(WebTestCase):
    def test_it_shows_the_advisories_first_then_the_seed_pages_sections_in_order(self) -> None:
        html = self.public_html()
        profile = VendorProfile.get()
        order = [
            "<h1>Security advisories &amp; CVEs</h1>",
            'href="/security/report/"',
            'href="/security/subscribe/"',
            f'<h2 id="current-h">{profile.current_heading}</h2>',
            f'<h2 id="past-h">{profile.past_heading}</h2>',
            "This page contains security advisories",
            'href="https://status.example.com/"',
            profile.approach_heading,
            f'<h2 id="reporting-h">{profile.reporting_heading}</h2>',
            'href="mailto:security@example.com"',
            profile.updating_heading,
            profile.best_practices_heading,
            'id="acknowledgments"',
        ]
        positions = [html.index(text) for text in order]
        assert positions == sorted(positions)

    def test_it_links_the_report_form_and_the_subscription_page_that_exist(self) -> None:
        html = self.public_html()
        actions = html[html.index('class="page-actions"') : html.index('id="current"')]
        assert (
            '<a class="button primary" href="/security/report/">Report a vulnerability' in actions
        )
        assert '<a class="button" href="/security/subscribe/">Subscribe by e-mail' in actions
        assert self.client.get("/security/report/").status_code == 200
        assert self.client.get("/security/subscribe/").status_code == 200
        assert 'href="/security/report/"' in section(html, "reporting")

    def test_every_jump_link_and_security_txt_point_to_anchors_the_page_has(self) -> None:
        html = self.public_html()
        security_txt = self.client.get("/.well-known/security.txt").content.decode()
        anchors = re.findall(r'href="#([\w-]+)"', html)
        anchors += re.findall(r"^(?:Acknowledgments|Policy): \S+#([\w-]+)$", security_txt, re.M)
        assert "acknowledgments" in anchors and "reporting" in anchors
        for anchor in anchors:
            assert f'id="{anchor}"' in html, anchor

    def test_acknowledgments_name_who_the_advisories_on_the_page_credit(self) -> None:
        first = self.published(title="One", credits=[{"name": "Jane Roe", "type": "FINDER"}])
        second = self.published(
            title="Two", credits=[{"name": "Jane Roe"}, {"name": "ada", "type": "REPORTER"}]
        )
        thanks = section(self.public_html(), "acknowledgments")
        assert thanks.index("ada") < thanks.index("Jane Roe")
        assert f'href="/security/advisories/{first.identifier}/"' in thanks
        assert f'href="/security/advisories/{second.identifier}/"' in thanks

    def test_it_links_its_feeds(self) -> None:
        html = self.public_html()
        self.assertInHTML(
            '<link rel="alternate" type="application/atom+xml"'
            ' title="Security advisories &amp; CVEs (Atom)" href="/security/advisories/feed.atom">',
            html,
        )
        assert 'href="/security/advisories/feed.rss"' in html

    def test_it_falls_back_to_a_plain_title_without_front_matter(self) -> None:
        profile = VendorProfile.get()
        profile.front_matter = "sidebar: Handbook\n"
        profile.save()
        assert "<h1>Security advisories</h1>" in self.public_html()

    def test_it_shows_the_empty_state_when_nothing_is_current(self) -> None:
        self.draft()
        current = section(self.public_html(), "current")
        assert "No active advisories" in current
        assert "Currently, there are no active security advisories" in current

    def test_it_lists_a_published_fixed_advisory_under_current_advisories(self) -> None:
        advisory = self.published(title="Token leak in exports")
        html = self.public_html()
        assert "Token leak in exports" in section(html, "current")
        assert "Token leak in exports" not in section(html, "past")
        assert "No active advisories" not in html
        assert f'href="/security/advisories/{advisory.identifier}/"' in html

    def test_it_lists_a_resolved_advisory_under_past_advisories(self) -> None:
        advisory = self.published(title="Token leak in exports")
        do_resolve_advisory(advisory, acting_user=self.bob)
        html = self.public_html()
        assert "Token leak in exports" in section(html, "past")
        assert "Token leak in exports" not in section(html, "current")
        assert "No active advisories" in section(html, "current")

    def test_a_resolved_advisory_shows_each_product_in_its_state_now(self) -> None:
        from herald.core.models import Product

        Product.objects.create(name="Northwind Agent", slug="agent")
        advisory = self.published(
            affected=[
                {"product": "cloud", "deployment": "cloud"},
                {"product": "agent", "deployment": "self_hosted", "fixed": "1.4.0"},
                {"product": "agent", "deployment": "self_hosted", "last_affected": "0.9",
                 "status": "not_affected"},
            ]
        )  # fmt: skip
        do_resolve_advisory(advisory, acting_user=self.bob)
        html = self.public_html(f"/security/advisories/{advisory.identifier}/")
        rows = re.findall(r"<tr><td>(.*?)</td>.*?<td>([^<]*)</td></tr>", html)
        assert ("Northwind Cloud", "Fixed") in rows
        assert ("Northwind Agent", "Affected · fixed in 1.4.0") in rows
        assert ("Northwind Agent", "Not affected") in rows
        # The desk's page says the same as the public one, by the same rule.
        self.client.force_login(self.alice)  # type: ignore[arg-type]  # the test cast's user
        desk = self.client.get(f"/desk/advisories/{advisory.identifier}/").content.decode()
        desk_rows = re.findall(
            # Vulnerability ("all": the row holds for each), product, ..., status.
            r"<tr><td>all</td><td>([^<]*)</td>(?:<td>[^<]*</td>){3}<td>([^<]*)</td></tr>",
            desk,
        )
        assert ("Northwind Cloud", "Fixed") in desk_rows, desk_rows
        assert ("Northwind Agent", "Not affected") in desk_rows

    def test_a_product_row_without_a_region_shows_the_advisorys_regions(self) -> None:
        advisory = self.published(
            affected_users="Cloud customers in the EU region.",
            affected=[{"product": "cloud", "deployment": "cloud"}],
        )
        html = self.public_html(f"/security/advisories/{advisory.identifier}/")
        assert "<p>Regions: EU</p>" in html
        assert "<td>Northwind Cloud</td><td>Cloud</td><td>EU</td>" in html

    def test_the_demo_advisories_name_no_region_their_products_do_not_cover(self) -> None:
        from herald.advisories.models import Advisory
        from herald.core.models import Product
        from herald.ops.demo import load_demo

        Product.objects.all().delete()  # the demo brings its own
        load_demo()
        for advisory in Advisory.objects.filter(state__in=("published", "withdrawn")):
            html = self.public_html(f"/security/advisories/{advisory.identifier}/")
            shown = set(re.findall(r"<p>Regions: ([^<]*)</p>", html))
            cells = re.findall(r"<tr><td>[^<]*</td><td>[^<]*</td><td>([^<]*)</td>", html)
            for regions in shown:
                assert "All" not in cells, (advisory.identifier, regions, cells)

    def test_each_advisory_shows_the_template_block(self) -> None:
        advisory = self.published()
        block = section(self.public_html(), "current")
        published = timezone.localdate(advisory.published_at)
        for text in (
            f"<dt>Date</dt><dd>{published:%B} {published.day}, {published.year}</dd>",
            "<dt>CVE</dt><dd>CVE-2026-12345</dd>",
            "Medium",
            "<dt>Status</dt><dd>Fixed</dd>",
            "<h4>Description</h4>",
            "A dashboard name could carry a script that ran for viewers.",
            "<h4>Affected users</h4>",
            "Cloud customers in the US and EU regions.",
            "<h4>Resolution</h4>",
            'href="https://github.com/example/app/pull/1234"',
            "<strong>Discovered:</strong> January 10, 2026",
            "<strong>Reported:</strong> January 11, 2026",
            "<strong>Fixed:</strong> January 12, 2026",
            "<strong>Disclosed:</strong>",
        ):
            assert text in block

    def test_it_leaves_out_missing_timeline_dates(self) -> None:
        self.published(discovered_at=None)
        block = section(self.public_html(), "current")
        assert "Discovered:" not in block
        assert "Reported:" in block


class PublicAdvisoryPageTest(WebTestCase):
    def test_it_shows_every_field_of_the_advisory(self) -> None:
        advisory = self.published(
            summary="Script in dashboard names.",
            cvss_v3_vector="CVSS:3.1/AV:N/AC:L/PR:L/UI:R/S:C/C:L/I:L/A:N",
            cvss_v4_vector="CVSS:4.0/AV:N/AC:L/AT:N/PR:L/UI:P/VC:L/VI:L/VA:N/SC:L/SI:L/SA:N",
            cwe_ids=["CWE-79"],
            affected=[
                {
                    "product": "cloud",
                    "deployment": "cloud",
                    "region": "EU",
                    "introduced": "1.0",
                    "fixed": "1.4.2",
                    "status": "fixed",
                },
            ],
            credits=[{"name": "Ada Finder", "type": "FINDER"}],
            references=[
                {"url": "https://github.com/example/app/pull/1234", "type": "FIX"},
                {"url": "https://example.com/blog/xss", "type": "ARTICLE"},
            ],
        )
        html = Client().get(f"/security/advisories/{advisory.identifier}/").content.decode()
        for text in (
            f"{advisory.identifier}: Stored XSS in dashboard names",
            "Script in dashboard names.",
            "CVE-2026-12345",
            "CVSS:3.1/AV:N/AC:L/PR:L/UI:R/S:C/C:L/I:L/A:N",
            "CVSS:4.0/AV:N/AC:L/AT:N/PR:L/UI:P/VC:L/VI:L/VA:N/SC:L/SI:L/SA:N",
            f"({advisory.cvss_v3_score})",
            "CWE-79",
            "<td>Northwind Cloud</td><td>Cloud</td><td>EU</td><td>&gt;= 1.0, &lt; 1.4.2</td>"
            "<td>Fixed</td>",
            "Ada Finder",
            "Finder",
            '<span class="ref-type ref-fix">Fix</span> '
            '<a href="https://github.com/example/app/pull/1234"',
            "Article",
            "Revision history",
            "<td>1</td><td>Published</td><td>Published.</td>",
        ):
            assert text in html
        assert "PREVIEW" not in html
        assert 'name="robots"' not in html

    def test_it_lists_each_public_revision(self) -> None:
        advisory = self.published()
        do_update_advisory(
            advisory,
            acting_user=self.bob,
            change_summary="Clarified who is affected.",
            affected_users="Cloud customers in the EU region only.",
        )
        html = Client().get(f"/security/advisories/{advisory.identifier}/").content.decode()
        assert "<td>2</td><td>Updated</td><td>Clarified who is affected.</td>" in html

    def test_it_finds_an_advisory_by_its_cve_id(self) -> None:
        advisory = self.published(cve_ids=["CVE-2026-55555"])
        response = Client().get("/security/advisories/cve-2026-55555/", follow=True)
        assert response.redirect_chain[-1][0] == f"/security/advisories/{advisory.identifier}/"
        self.assertContains(response, "Stored XSS in dashboard names")

    def test_the_root_redirects_to_the_advisories_page(self) -> None:
        response = Client().get("/")
        self.assertRedirects(response, "/security/advisories/")

    def test_a_withdrawn_advisory_shows_a_banner_with_its_reason(self) -> None:
        advisory = self.published(title="Not really a bug")
        response = self.client.post(
            f"/desk/advisories/{advisory.identifier}/withdraw/",
            {"version": advisory.version, "reason": "Published in error: not exploitable."},
        )
        assert response.status_code == 302
        page = Client().get(f"/security/advisories/{advisory.identifier}/").content.decode()
        assert 'class="banner-withdrawn" role="alert"' in page
        assert "Published in error: not exploitable." in page
        assert "<dt>Status</dt><dd>Withdrawn</dd>" in page
        past = section(self.public_html(), "past")
        assert "Not really a bug" in past
        assert '<span class="badge badge-withdrawn">Withdrawn</span>' in past
        assert "Not really a bug" not in section(self.public_html(), "current")

    def test_dates_are_written_as_on_the_seed_page(self) -> None:
        advisory = self.published(disclosed_at=dt.date(2026, 2, 3))
        html = Client().get(f"/security/advisories/{advisory.identifier}/").content.decode()
        assert "<strong>Disclosed:</strong> February 3, 2026" in html


class ArchiveRowsTest(WebTestCase):
    # The year page's rows are written in Python for speed; they must stay what the
    # template loop they replace wrote, escaping included.
    TEMPLATE = (
        "{% load herald_web %}{% for a in advisories %}"
        "    <tr><td><a href=\"{% url 'web:public_advisory' a.identifier %}\">{{ a.identifier }}: "
        '{{ a.title }}</a></td><td>{{ a.published_at|date:"F j, Y" }}</td><td>{{ a.cve_ids|'
        'join:", "|default:"None assigned" }}</td><td><span class="sev sev-{{ a.severity }}">'
        "{{ a.severity|label:\"severity\" }}</span></td><td>{% if a.state == 'withdrawn' %}"
        'Withdrawn{% else %}{{ a.status|label:"status" }}{% endif %}</td></tr>\n{% endfor %}'
    )

    def test_archive_rows_match_the_template(self) -> None:
        from django.template import engines

        from herald.publishing.render.pages import archive_rows

        when = dt.datetime(2026, 3, 9, 23, 59, tzinfo=dt.UTC)
        rows: list[dict[str, Any]] = [
            {"identifier": "NWA-2026-0001", "title": "<script>alert('x')</script> & \"q\"",
             "published_at": when, "severity": "critical", "status": "resolved",
             "state": "published", "cve_ids": ["CVE-2026-1", "CVE-2026-<2>"]},
            {"identifier": "NWA-2026-0002", "title": "Ünïcode ✓", "published_at": when,
             "severity": "low", "status": "fixed", "state": "withdrawn", "cve_ids": []},
            {"identifier": "GHSA x&y", "title": "", "published_at": None,
             "severity": "<b>", "status": "odd<", "state": "published", "cve_ids": None},
        ]  # fmt: skip
        expected = engines["django"].from_string(self.TEMPLATE).render({"advisories": rows})
        assert str(archive_rows(rows)) == expected
        assert "&lt;script&gt;" in expected and "<script>" not in expected

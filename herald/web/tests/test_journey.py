"""Bob runs one vulnerability through the desk, from declaring the incident to "Past"."""

from __future__ import annotations

from django.test import Client

from herald.advisories.models import Advisory
from herald.incidents.models import Incident
from herald.web.tests.base import WebTestCase, form_data, section


class JourneyTest(WebTestCase):
    def test_bob_takes_an_advisory_from_incident_to_past_advisories(self) -> None:
        # Declare the incident.
        response = self.client.post(
            "/desk/incidents/new/",
            {
                "title": "Token leak in CSV exports",
                "severity": "high",
                "summary": "Exports carried API tokens.",
                "reason": "Report from a customer.",
                "commander": "alice",
            },
        )
        incident = Incident.objects.get(title="Token leak in CSV exports")
        self.assertRedirects(response, f"/desk/incidents/{incident.identifier}/")
        assert incident.commander == self.alice

        # Create the draft in it.
        page = self.client.get("/desk/advisories/new/")
        response = self.client.post(
            "/desk/advisories/new/",
            form_data(
                page,
                incident=incident.pk,
                title="API tokens in CSV exports",
                severity="high",
                description="CSV exports included the **API token** of the exporting user.",
                affected_users="Cloud customers in the EU region.",
                reported_at="2026-03-02",
                discovered_at="2026-03-01",
            ),
        )
        advisory = Advisory.objects.get(title="API tokens in CSV exports")
        self.assertRedirects(response, f"/desk/advisories/{advisory.identifier}/")
        assert advisory.incident == incident
        assert advisory.state == "draft"

        # Edit it: an affected product, a credit, a fix link.
        url = f"/desk/advisories/{advisory.identifier}/"
        page = self.client.get(url + "edit/")
        response = self.client.post(
            url + "edit/",
            form_data(
                page,
                cwe_ids="CWE-200",
                **{
                    "affected-0-product": self.product.pk,
                    "affected-0-region": "EU",
                    "affected-0-fixed": "2.4.1",
                    "affected-0-status": "fixed",
                    "credits-0-name": "Grace Reporter",
                    "credits-0-type": "REPORTER",
                    "references-0-url": "https://github.com/example/app/pull/77",
                    "references-0-type": "FIX",
                },
            ),
        )
        self.assertRedirects(response, url)
        advisory.refresh_from_db()
        assert advisory.version == 2
        assert advisory.cwe_ids == ["CWE-200"]
        assert [a.fixed for a in advisory.affected.all()] == ["2.4.1"]

        # Preview it; the public still sees nothing.
        preview = self.client.get(url + "preview/")
        self.assertContains(preview, "PREVIEW")
        self.assertContains(preview, "Grace Reporter")
        assert (
            "API tokens in CSV exports"
            not in Client().get("/security/advisories/").content.decode()
        )

        # Publish it: it is current.
        page = self.client.get(url + "publish/")
        response = self.client.post(url + "publish/", form_data(page))
        advisory.refresh_from_db()  # publication gives the public number, and a new address
        url = f"/desk/advisories/{advisory.identifier}/"
        self.assertRedirects(response, url)
        html = self.public_html()
        assert "API tokens in CSV exports" in section(html, "current")
        assert "<dt>Status</dt><dd>Reported</dd>" in section(html, "current")

        # Mark it fixed: still current, now "Fixed".
        page = self.client.get(url + "fix/")
        response = self.client.post(
            url + "fix/",
            form_data(
                page,
                fixed_at="2026-03-04",
                change_summary="Fix deployed to all regions.",
                resolution="Fixed in [#77](https://github.com/example/app/pull/77). "
                "Rotate your API tokens.",
            ),
        )
        self.assertRedirects(response, url)
        html = self.public_html()
        assert "<dt>Status</dt><dd>Fixed</dd>" in section(html, "current")
        assert "Rotate your API tokens." in section(html, "current")

        # Resolve it: it moves to past.
        page = self.client.get(url + "resolve/")
        response = self.client.post(url + "resolve/", form_data(page))
        self.assertRedirects(response, url)
        html = self.public_html()
        assert "API tokens in CSV exports" in section(html, "past")
        assert "No active advisories" in section(html, "current")

        public = self.public_html(f"/security/advisories/{advisory.identifier}/")
        assert "<td>3</td><td>Updated</td><td>Resolved.</td>" in public
        assert "Fix deployed to all regions." in public

        # The incident's timeline tells the story.
        timeline = self.client.get(f"/desk/incidents/{incident.identifier}/")
        self.assertContains(timeline, f"Advisory {advisory.identifier} published")
        self.assertContains(timeline, f"Advisory {advisory.identifier} resolved")

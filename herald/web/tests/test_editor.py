"""The advisory editor: inline help, the CVSS calculator's scoring, previews, the publish plan."""

from __future__ import annotations

from django.test import override_settings

from herald.advisories.models import Advisory
from herald.web.forms import AdvisoryEditForm
from herald.web.tests.base import WebTestCase, form_data

V31 = "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N"
V40 = "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"


class EditorTest(WebTestCase):
    def test_every_field_of_the_template_has_inline_help(self) -> None:
        form = AdvisoryEditForm()
        missing = [name for name, field in form.fields.items()
                   if not field.help_text and name != "version"]  # fmt: skip
        assert missing == []
        page = self.client.get("/desk/advisories/new/").content.decode()
        # Django ties each help text to its field for screen readers.
        assert 'aria-describedby="id_title_helptext"' in page
        assert 'id="cvss-spec" type="application/json"' in page
        assert "<script>" not in page  # no inline script: the page runs under a strict CSP

    def test_the_calculator_scores_with_the_library_that_scores_on_save(self) -> None:
        ok = self.client.get("/desk/cvss/score/", {"field": "cvss_v3_vector", "vector": V31})
        assert ok.json() == {"vector": V31, "score": "6.1", "severity": "medium"}
        v4 = self.client.get("/desk/cvss/score/", {"field": "cvss_v4_vector", "vector": V40})
        assert v4.json()["severity"] == "critical"
        bad = self.client.get(
            "/desk/cvss/score/", {"field": "cvss_v3_vector", "vector": "CVSS:3.1/AV:Q"}
        )
        assert "error" in bad.json()
        assert self.client_for(self.charlie).get("/desk/cvss/score/").status_code == 403

    def test_a_saved_vector_sets_severity_and_score(self) -> None:
        page = self.client.get("/desk/advisories/new/")
        incident = self.declare()
        response = self.client.post(
            "/desk/advisories/new/",
            form_data(page, incident=incident.pk, title="XSS", cvss_v3_vector=V31, severity=""),
        )
        assert response.status_code == 302
        advisory = Advisory.objects.get(title="XSS")
        assert (advisory.severity, str(advisory.cvss_v3_score)) == ("medium", "6.1")

    def test_preview_without_script_shows_the_page_and_markdown_and_saves_nothing(self) -> None:
        incident = self.declare()
        page = self.client.get("/desk/advisories/new/")
        data = form_data(
            page,
            incident=incident.pk,
            title="Stored XSS in names",
            description="A *crafted* name runs script.",
            affected_users="Cloud customers in the EU.",
            reported_at="2026-01-11",
            cvss_v3_vector=V31,
            _preview="1",
        )
        response = self.client.post("/desk/advisories/new/", data)
        assert response.status_code == 200
        html = response.content.decode()
        assert "<em>crafted</em>" in html  # the public page, rendered
        assert "### Stored XSS in names" in html  # the Markdown entry
        assert "**Severity:** Medium" in html
        assert "Ready to publish" in html
        assert not Advisory.objects.filter(title="Stored XSS in names").exists()

    def test_a_control_character_in_the_form_is_an_error_on_its_field(self) -> None:
        incident = self.declare()
        page = self.client.get("/desk/advisories/new/")
        data = form_data(page, incident=incident.pk, title="Bell \x07 here",
                         description="Hidden \u202e text", reported_at="2026-01-11")  # fmt: skip
        response = self.client.post("/desk/advisories/new/", data)
        assert response.status_code == 400  # the form again, with its errors
        html = response.content.decode()
        assert "U+0007" in html and "U+202E" in html
        assert not Advisory.objects.exists()

    def test_the_preview_of_hostile_text_renders_it_as_text(self) -> None:
        incident = self.declare()
        page = self.client.get("/desk/advisories/new/")
        data = form_data(page, incident=incident.pk, title="<script>alert(1)</script>",
                         description="## Past advisories\n<img src=x onerror=alert(2)>",
                         affected_users="All.", reported_at="2026-01-11", _preview="1")  # fmt: skip
        response = self.client.post("/desk/advisories/new/", data)
        assert response.status_code == 200
        html = response.content.decode()
        assert "<script>alert(1)" not in html and "<img src=x" not in html

    def test_the_script_gets_the_preview_alone_with_what_is_missing(self) -> None:
        page = self.client.get("/desk/advisories/new/")
        response = self.client.post(
            "/desk/advisories/new/",
            form_data(page, title="Half written", _preview="1"),
            HTTP_X_HERALD_FRAGMENT="1",
        )
        html = response.content.decode()
        assert "<html" not in html
        assert "Publishing needs a description." in html

    def test_editing_a_public_advisory_previews_the_differences_from_its_last_revision(
        self,
    ) -> None:
        advisory = self.published()
        url = f"/desk/advisories/{advisory.identifier}/edit/"
        response = self.client.post(
            url,
            form_data(self.client.get(url), title="Stored XSS in dashboard titles", _preview="1"),
        )
        html = response.content.decode()
        assert "Changes from revision 1" in html
        assert "- Stored XSS in dashboard names" in html
        assert "+ Stored XSS in dashboard titles" in html
        advisory.refresh_from_db()
        assert advisory.title == "Stored XSS in dashboard names"

    def test_the_publish_dialog_lists_what_will_happen(self) -> None:
        advisory = self.draft(cve_ids=["CVE-2026-12345"], user_action_required=True)
        html = self.client.get(f"/desk/advisories/{advisory.identifier}/publish/").content.decode()
        assert "What will happen" in html
        surfaces = ("Public page", "Atom and RSS feeds", "OSV", "CSAF 2.0", "CVE JSON 5", "VEX")
        for surface in surfaces:
            assert surface in html
        # Not a CNA here: the dialog says no CVE file is written, and what would change it.
        assert "not written for CVE-2026-12345" in html and "HERALD_CNA_ORG_ID" in html
        with override_settings(HERALD_CNA_ORG_ID="b3476cb9-2e3d-41a6-98d0-0f47421a65b6",
                               HERALD_CNA_SHORT_NAME="northwind"):  # fmt: skip
            html = self.client.get(
                f"/desk/advisories/{advisory.identifier}/publish/"
            ).content.decode()
        assert "a CVE record and CNA container for CVE-2026-12345" in html
        assert "Subscribers told: <strong>0</strong>" in html
        assert "affected customers" in html or "affected customer" in html
        assert "action required from users" in html

    def test_products_and_version_ranges_show_in_the_preview(self) -> None:
        incident = self.declare()
        page = self.client.get("/desk/advisories/new/")
        data = form_data(
            page,
            incident=incident.pk,
            title="Old SDK",
            **{
                "affected-0-product": self.product.pk,
                "affected-0-deployment": "sdk",
                "affected-0-introduced": "2.0.0",
                "affected-0-fixed": "2.4.1",
            },
            _preview="1",
        )
        html = self.client.post("/desk/advisories/new/", data).content.decode()
        assert "Northwind Cloud" in html
        assert "&gt;= 2.0.0, &lt; 2.4.1" in html

"""VEX on the site: OpenVEX and CycloneDX files per advisory, and a page per product.

Publishes through the actions and reads what a visitor (or a scanner) gets: each file
through its consumers' validator, the product page's statuses, the advisory page's links.
"""

from __future__ import annotations

from herald.advisories.models import Advisory
from herald.core.models import Product
from herald.publication.actions import do_withdraw_advisory
from herald.publishing.models import Artifact
from herald.publishing.render.cyclonedx_vex import cyclonedx_problems
from herald.publishing.tests.surfaces_support import WiredArtifacts, artifact, artifact_json, paths
from herald.publishing.tests.world import openvex_validator
from herald.test import HeraldTestCase


def openvex_errors(doc: object) -> list[str]:
    return [e.message for e in openvex_validator().iter_errors(doc)]


class VexSurfaceTests(WiredArtifacts, HeraldTestCase):
    def publish_mixed(self) -> str:
        Product.objects.create(name="Northwind Agent", slug="agent")
        advisory = self.published(
            cve_ids=["CVE-2026-40001", "CVE-2026-40002"],
            affected=[
                {"product": "cloud", "deployment": "cloud"},
                {
                    "product": "agent",
                    "deployment": "sdk",
                    "introduced": "1.0.0",
                    "fixed": "1.4.2",
                },
                {"product": "agent", "deployment": "self_hosted", "status": "not_affected"},
            ],
        )
        return advisory.identifier

    def test_each_advisory_gets_valid_openvex_and_cyclonedx_files(self) -> None:
        identifier = self.publish_mixed()
        openvex_path = f"vex/{identifier}.openvex.json"
        cdx_path = f"vex/{identifier}.cdx.json"
        for path in (openvex_path, cdx_path):
            row = Artifact.objects.get(path=path)
            assert row.content_type == "application/json"
        openvex = artifact_json(openvex_path)
        assert openvex_errors(openvex) == []
        statuses = {
            (s["vulnerability"]["name"], s["status_notes"].split(":")[0], s["status"])
            for s in openvex["statements"]
        }
        # The service fixed in place (no versions), the agent's range and its fix.
        for cve in ("CVE-2026-40001", "CVE-2026-40002"):
            assert (cve, "Northwind Cloud", "fixed") in statuses
            assert (cve, "Northwind Agent", "affected") in statuses
            assert (cve, "Northwind Agent", "fixed") in statuses
            assert (cve, "Northwind Agent", "not_affected") in statuses
        not_affected = [s for s in openvex["statements"] if s["status"] == "not_affected"]
        assert {s["vulnerability"]["name"] for s in not_affected} == {
            "CVE-2026-40001",
            "CVE-2026-40002",
        }
        assert all(s["impact_statement"] for s in not_affected)
        cdx = artifact_json(cdx_path)
        assert cyclonedx_problems(cdx) == []
        assert {v["analysis"]["state"] for v in cdx["vulnerabilities"]} == {
            "exploitable",  # the agent's versions before 1.4.2
            "not_affected",
            "resolved",
        }

    def test_the_product_page_lists_every_vulnerability_with_its_status(self) -> None:
        identifier = self.publish_mixed()
        page = artifact("security/products/agent/vex/index.html").decode()
        assert "Northwind Agent: vulnerability status" in page
        for cve in ("CVE-2026-40001", "CVE-2026-40002"):
            assert cve in page
        assert "Not affected" in page and "Fixed" in page
        assert f'href="/vex/{identifier}.openvex.json"' in page
        # The Django view of the same address gives the same table.
        served = self.client.get("/security/products/agent/vex/").content.decode()
        assert "CVE-2026-40002" in served and "Not affected" in served
        assert self.client.get("/security/products/no-such-product/vex/").status_code == 404

    def test_the_advisory_page_links_its_vex_files_and_product_pages(self) -> None:
        identifier = self.publish_mixed()
        page = artifact(f"security/advisories/{identifier}/index.html").decode()
        assert f'href="/vex/{identifier}.openvex.json"' in page
        assert f'href="/vex/{identifier}.cdx.json"' in page
        assert 'href="/security/products/agent/vex/"' in page

    def test_a_withdrawn_advisory_states_nothing_and_leaves_the_product_page(self) -> None:
        identifier = self.publish_mixed()
        advisory = Advisory.objects.get(identifier=identifier)
        do_withdraw_advisory(advisory, acting_user=self.bob, reason="Not exploitable.")
        openvex = artifact_json(f"vex/{identifier}.openvex.json")
        assert openvex_errors(openvex) == []
        assert {s["status"] for s in openvex["statements"]} == {"under_investigation"}
        assert "Not exploitable." in openvex["statements"][0]["status_notes"]
        assert cyclonedx_problems(artifact_json(f"vex/{identifier}.cdx.json")) == []
        page = artifact("security/products/agent/vex/index.html").decode()
        assert "CVE-2026-40001" not in page

    def test_an_advisory_without_product_rows_has_no_vex_file(self) -> None:
        self.published(cve_ids=["CVE-2026-40003"])
        assert paths("vex/") == []

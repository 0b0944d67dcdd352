"""The desk API adds, changes and removes one vulnerability with the desk's own writes."""

from __future__ import annotations

from typing import Any

from django.test import Client

from herald.accounts.actions import do_create_token
from herald.core.models import Product
from herald.test import HeraldTestCase, unused_cve

V3 = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"


class VulnerabilityApiTest(HeraldTestCase):
    def setUp(self) -> None:
        super().setUp()
        Product.objects.create(name="Northwind SDK", slug="sdk")
        _, value = do_create_token(
            user=self.bob, name="t", scopes=["read", "write"], days=1, acting_user=self.bob
        )
        self.headers = {"Authorization": f"Bearer {value}"}
        self.api = Client()

    def call(self, method: str, path: str, body: dict[str, Any]) -> Any:
        return getattr(self.api, method)(
            f"/api/v1/desk/advisories/{path}",
            body,
            content_type="application/json",
            headers=self.headers,
        )

    def test_add_change_and_remove(self) -> None:
        advisory = self.published(affected=[{"product": "cloud"}])
        cve = unused_cve("CVE-2026-24000")
        added = self.call(
            "post",
            f"{advisory.identifier}/vulnerabilities",
            {
                "expected_version": advisory.version,
                "change_summary": "A second CVE.",
                "cve_id": cve,
                "cwe_ids": ["CWE-89"],
                "cvss_v3_vector": V3,
                "ids": [{"id": "GHSA-aaaa-bbbb-cccc", "role": "alias"}],
                "rows": [
                    {
                        "product": "sdk",
                        "status": "not_affected",
                        "justification": "vulnerable_code_not_in_execute_path",
                    }
                ],
            },
        )
        assert added.status_code == 201, added.content
        body = added.json()
        second = body["vulnerabilities"][1]
        assert second["cve_id"] == cve and second["cvss_v3_score"] == "9.8"
        assert second["affected"][0]["justification"] == "vulnerable_code_not_in_execute_path"
        assert body["revisions"][-1]["summary"] == "A second CVE."

        refused = self.call(
            "patch",
            f"{advisory.identifier}/vulnerabilities/2",
            {
                "expected_version": body["version"],
                "change_summary": "No reason.",
                "rows": [{"product": "sdk", "status": "not_affected"}],
            },
        )
        assert refused.status_code == 422, refused.content
        assert refused.json()["errors"][0]["parameter"] == "affected"
        assert "justification" in refused.json()["errors"][0]["message"]

        changed = self.call(
            "patch",
            f"{advisory.identifier}/vulnerabilities/2",
            {"expected_version": body["version"], "change_summary": "CWE.", "cwe_ids": ["CWE-79"]},
        )
        assert changed.status_code == 200, changed.content
        kept = changed.json()["vulnerabilities"][1]
        assert kept["cwe_ids"] == ["CWE-79"] and kept["affected"][0]["product_slug"] == "sdk"

        missing = self.call(
            "patch",
            f"{advisory.identifier}/vulnerabilities/5",
            {"expected_version": changed.json()["version"], "change_summary": "x", "title": "x"},
        )
        assert missing.status_code == 422 and "position" in missing.content.decode()

        removed = self.call(
            "post",
            f"{advisory.identifier}/vulnerabilities/2/remove",
            {"expected_version": changed.json()["version"], "change_summary": "Not ours."},
        )
        assert removed.status_code == 200, removed.content
        assert len(removed.json()["vulnerabilities"]) == 1
        last = self.call(
            "post",
            f"{advisory.identifier}/vulnerabilities/1/remove",
            {"expected_version": removed.json()["version"], "change_summary": "All."},
        )
        assert last.status_code == 422

    def test_notes_and_references_of_a_vulnerability(self) -> None:
        advisory = self.draft()
        path = f"{advisory.identifier}/vulnerabilities/1"
        refused = self.call(
            "patch",
            path,
            {"expected_version": advisory.version,
             "notes": [{"category": "details", "lang": "not a tag", "text": "x"}]},
        )  # fmt: skip
        assert refused.status_code == 422, refused.content
        error = refused.json()["errors"][0]
        assert error["parameter"] == "notes" and "Note 1: language" in error["message"]
        changed = self.call(
            "patch",
            path,
            {
                "expected_version": advisory.version,
                "notes": [{"category": "details", "lang": "de", "text": "Nur Exporte."}],
                "references": [{"url": "https://example.com/fix", "type": "FIX"}],
            },
        )
        assert changed.status_code == 200, changed.content
        vulnerability = changed.json()["vulnerabilities"][0]
        assert vulnerability["notes"][0]["lang"] == "de"
        assert vulnerability["references"][0]["url"] == "https://example.com/fix"

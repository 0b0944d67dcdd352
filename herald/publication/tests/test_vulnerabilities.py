"""A responder adds vulnerabilities and sets status per product; every surface says it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from herald.advisories.models import Advisory, Affected, Revision
from herald.advisories.snapshot import snapshot_of
from herald.core.errors import ValidationError
from herald.core.models import Product
from herald.publication.actions import (
    do_publish_advisory,
    do_remove_vulnerability,
    do_update_advisory,
    do_write_vulnerability,
)
from herald.publishing.site import surfaces_csaf
from herald.publishing.store.artifacts import read_one
from herald.test import HeraldTestCase, unused_cve

V3 = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"


def document(path: str) -> dict[str, Any]:
    content = read_one(path)
    assert content is not None, f"no artifact {path}"
    return json.loads(content)


class VulnerabilitiesTest(HeraldTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.sdk = Product.objects.create(name="Northwind SDK", slug="sdk")
        self.agent = Product.objects.create(name="Northwind Agent", slug="agent")

    def second(self, advisory: Advisory, **overrides: Any) -> Advisory:
        values: dict[str, Any] = {
            "cve_id": unused_cve("CVE-2026-22000"),
            "title": "Path traversal in exports",
            "cwe_ids": ["CWE-22"],
            "cvss_v3_vector": V3,
            "rows": [
                {
                    "product": "sdk",
                    "status": "not_affected",
                    "justification": "vulnerable_code_not_present",
                },
                {
                    "product": "agent",
                    "status": "fixed",
                    "fixed": "2.4.1",
                    "remediations": [
                        {"category": "vendor_fix", "details": "Upgrade.", "version": "2.4.1"}
                    ],
                },
            ],
        }
        values.update(overrides)
        return do_write_vulnerability(
            advisory,
            acting_user=self.bob,
            expected_version=advisory.version,
            change_summary="Second vulnerability.",
            **values,
        )

    def test_a_second_vulnerability_with_its_own_statuses_reaches_every_surface(self) -> None:
        draft = self.draft(affected=[{"product": "cloud", "fixed": "1.2"}])
        first_cve = draft.cve_ids[0]
        draft = self.second(draft)
        second_cve = draft.cve_ids[1]
        advisory = do_publish_advisory(draft, acting_user=self.bob)
        snap = snapshot_of(advisory)
        assert [v.cve_id for v in snap.vulnerabilities] == [first_cve, second_cve]
        own = {r.product_slug: r for r in snap.vulnerabilities[1].affected}
        assert own["sdk"].status == "not_affected"
        assert own["sdk"].justification == "vulnerable_code_not_present"
        assert own["agent"].status == "fixed" and own["agent"].fixed == "2.4.1"
        # The first vulnerability is not about the SDK or the agent.
        assert {r.product_slug for r in snap.vulnerabilities[0].affected} == {"cloud"}

        csaf = document(surfaces_csaf.document_path(snap))
        by_cve = {v["cve"]: v for v in csaf["vulnerabilities"]}
        assert set(by_cve) == {first_cve, second_cve}
        status = by_cve[second_cve]["product_status"]
        assert status.get("known_not_affected") and status.get("fixed")
        assert "known_not_affected" not in by_cve[first_cve]["product_status"]
        assert by_cve[second_cve]["flags"][0]["label"] == "vulnerable_code_not_present"

        # OSV: one document per vulnerability; the product not affected is not listed.
        first = document(f"osv/x_{advisory.identifier}.json")
        second = document(f"osv/x_{advisory.identifier}-2.json")
        assert first_cve in first["aliases"] and second_cve in second["aliases"]
        named = json.dumps(second["affected"])
        assert "2.4.1" in named and "Northwind Agent" in named, second["affected"]
        assert "Northwind SDK" not in named, second["affected"]
        assert "2.4.1" not in json.dumps(first["affected"])

        api = self.client.get(f"/api/v1/advisories/{advisory.identifier}").json()
        cves = [v["cve_id"] for v in api["vulnerabilities"]]
        assert cves == [first_cve, second_cve]
        rows = {r["product_slug"]: r for r in api["vulnerabilities"][1]["affected"]}
        assert rows["sdk"]["status"] == "not_affected"
        assert rows["agent"]["status"] == "fixed"

    def test_a_public_change_is_a_revision_and_removal_keeps_the_last(self) -> None:
        advisory = self.published(affected=[{"product": "cloud"}])
        advisory = self.second(advisory)
        revision = advisory.revisions.order_by("number").last()
        assert revision is not None and revision.kind == Revision.Kind.UPDATED
        assert revision.summary == "Second vulnerability."
        advisory = do_remove_vulnerability(
            advisory,
            acting_user=self.bob,
            position=1,
            expected_version=advisory.version,
            change_summary="Not ours after all.",
        )
        assert len(advisory.cve_ids) == 1
        assert not Affected.objects.filter(product=self.sdk).exists()
        with pytest.raises(ValidationError) as refused:
            do_remove_vulnerability(
                advisory, acting_user=self.bob, position=0, change_summary="All gone."
            )
        assert "position" in refused.value.message_dict

    def test_refusals_name_the_field_and_the_row(self) -> None:
        advisory = self.draft()
        cases: list[tuple[dict[str, Any], str, str]] = [
            ({"cvss_v3_vector": "CVSS:3.1/AV:X"}, "cvss_v3_vector", ""),
            ({"cwe_ids": ["CWE-abc"]}, "cwe_ids", ""),
            ({"cve_id": "CVE-12"}, "cve_id", ""),
            ({"cve_id": advisory.cve_ids[0]}, "cve_id", "already"),
            (
                {"rows": [{"product": "sdk"}, {"product": "sdk", "status": "not_affected"}]},
                "affected",
                "Row 2: justification",
            ),
            (
                {"rows": [{"product": "sdk", "status": "fixed"}]},
                "affected",
                "Row 1: fixed",
            ),
            ({"rows": [{"product": "nope"}]}, "affected", "Row 1: product"),
        ]
        for values, field, words in cases:
            with self.subTest(values=values):
                with pytest.raises(ValidationError) as refused:
                    self.second(advisory, **values)
                errors = refused.value.message_dict
                assert field in errors, errors
                assert words in " ".join(errors[field]), errors
        other = self.draft()
        with pytest.raises(ValidationError) as refused:
            self.second(advisory, cve_id=other.cve_ids[0])
        assert other.identifier in " ".join(refused.value.message_dict["cve_id"])

    def test_the_shorthand_still_edits_an_advisory_with_one_vulnerability(self) -> None:
        advisory = self.draft()
        cve = unused_cve("CVE-2026-31000")
        advisory = do_update_advisory(
            advisory,
            acting_user=self.bob,
            cve_ids=[cve],
            cwe_ids=["CWE-79"],
            cvss_v3_vector=V3,
        )
        assert advisory.cve_ids == [cve] and advisory.cwe_ids == ["CWE-79"]
        assert advisory.vulnerabilities.count() == 1
        # With two that differ, the shorthand refuses a shared value, naming it...
        advisory = self.second(
            advisory, cvss_v3_vector="CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:L/I:N/A:N"
        )
        with pytest.raises(ValidationError) as refused:
            do_update_advisory(
                advisory,
                acting_user=self.bob,
                cvss_v3_vector="CVSS:3.1/AV:L/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
            )
        assert "cvss_v3_vector" in refused.value.message_dict
        # ...and saving the form unchanged keeps both vulnerabilities as they are.
        advisory = do_update_advisory(advisory, acting_user=self.bob, title="Two bugs")
        assert advisory.vulnerabilities.count() == 2
        assert advisory.vulnerabilities.last().affected.count() == 2  # type: ignore[union-attr]

    def test_a_vulnerability_without_a_cve_survives_the_shorthand(self) -> None:
        advisory = self.draft()
        advisory = self.second(advisory, cve_id="", title="A bug with no CVE yet")
        advisory = do_update_advisory(
            advisory, acting_user=self.bob, cve_ids=advisory.cve_ids, title="Still two"
        )
        assert [v.title for v in advisory.vulnerabilities.all()][1] == "A bug with no CVE yet"

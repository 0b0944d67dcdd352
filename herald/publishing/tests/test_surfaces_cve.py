"""CVE records on the site: one per CVE id, REJECTED once withdrawn, only for a CNA."""

from __future__ import annotations

import json

from django.test import override_settings
from jsonschema import Draft7Validator

from herald.publication.actions import do_withdraw_advisory
from herald.publishing.render.schemas import cna_container_problems, cve_record_problems
from herald.publishing.tests.surfaces_support import (
    CNA_ORG_ID,
    WiredArtifacts,
    artifact_json,
    paths,
)
from herald.test import HeraldTestCase, shared_path


def official_record_problems(record: object) -> list[str]:
    schema = json.loads(
        shared_path("schemas", "cve", "CVE_JSON_bundled_5.1.1.json").read_text("utf-8")
    )
    return [e.message for e in Draft7Validator(schema).iter_errors(record)]


@override_settings(HERALD_CNA_ORG_ID=CNA_ORG_ID, HERALD_CNA_SHORT_NAME="Northwind")
class CveSurfaceTests(WiredArtifacts, HeraldTestCase):
    def test_each_cve_id_gets_a_valid_record_and_cna_container(self) -> None:
        advisory = self.published(
            cve_ids=["CVE-2026-12345", "CVE-2026-12346"],
            cvss_v4_vector="CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
            cwe_ids=["CWE-79"],
        )
        for cve_id in advisory.cve_ids:
            record = artifact_json(f"cve/{cve_id}.json")
            assert record["cveMetadata"]["cveId"] == cve_id
            assert record["cveMetadata"]["state"] == "PUBLISHED"
            assert record["cveMetadata"]["assignerOrgId"] == CNA_ORG_ID
            assert official_record_problems(record) == []
            assert cve_record_problems(record) == []
            container = artifact_json(f"cve/{cve_id}.cna.json")
            assert container == record["containers"]["cna"]
            assert cna_container_problems(container) == []
            assert "cvssV4_0" in container["metrics"][0]

    def test_a_withdrawn_advisory_rejects_its_ids(self) -> None:
        advisory = self.published()
        do_withdraw_advisory(advisory, acting_user=self.bob, reason="Not exploitable.")
        record = artifact_json("cve/CVE-2026-12345.json")
        assert record["cveMetadata"]["state"] == "REJECTED"
        assert record["containers"]["cna"]["rejectedReasons"][0]["value"] == "Not exploitable."
        assert official_record_problems(record) == []
        assert "rejectedReasons" in artifact_json("cve/CVE-2026-12345.cna.json")

    def test_advisories_without_cve_ids_have_no_record(self) -> None:
        self.published(cve_ids=[])
        assert paths("cve/") == []


class WithoutCnaTests(WiredArtifacts, HeraldTestCase):
    def test_no_cna_org_id_means_no_cve_files_and_publishing_goes_on(self) -> None:
        advisory = self.published()
        assert advisory.state == "published"
        assert paths("cve/") == []
        assert paths("osv/")

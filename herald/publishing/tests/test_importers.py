"""Importing OSV, CVE and CSAF documents: real ones, twice, and then exported again.

Every document of ../shared/corpus/real and the good corpora is imported through
the actions, and the advisory it became is rendered again in all three formats:
the output must validate, and keep the document's essential facts (CVE ids,
affected ranges, severity vectors, CWE ids, references).
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

from herald.advisories.models import Advisory
from herald.advisories.snapshot import snapshot_of
from herald.audit.models import AuditEvent
from herald.core.errors import ValidationError
from herald.core.models import Product
from herald.incidents.models import Incident
from herald.publication.actions import do_import_documents
from herald.publishing.render.csaf import render_csaf
from herald.publishing.render.cve5 import render_cve_record
from herald.publishing.render.osv import render_osv
from herald.publishing.render.schemas import csaf_problems, cve_record_problems, osv_problems
from herald.publishing.site.surfaces import site_publisher
from herald.publishing.tests.surfaces_support import CNA_ORG_ID, WiredArtifacts, artifact_json
from herald.test import HeraldTestCase, shared_path


def corpus(*parts: str) -> list[Path]:
    return sorted(shared_path("corpus", *parts).glob("*.json"))


def files(paths: list[Path]) -> list[tuple[str, bytes]]:
    return [(p.name, p.read_bytes()) for p in paths]


def load(path: Path) -> Any:
    return json.loads(path.read_text("utf-8"))


def osv_fixed_versions(doc: dict[str, Any]) -> set[str]:
    return {
        value
        for entry in doc.get("affected") or []
        for range_ in entry.get("ranges") or []
        for event in range_.get("events") or []
        for kind, value in event.items()
        if kind == "fixed" and value
    }


@override_settings(HERALD_CNA_ORG_ID=CNA_ORG_ID)
class ImportTests(WiredArtifacts, HeraldTestCase):
    def reexport(self, advisory: Advisory) -> tuple[dict[str, Any], dict[str, Any], list[Any]]:
        """The advisory in all three formats, each checked by its validator."""
        publisher = site_publisher()
        snapshot = snapshot_of(advisory)
        osv = render_osv(snapshot, publisher)
        assert osv_problems(osv, ecosystems=frozenset({publisher.ecosystem})) == []
        csaf = render_csaf(snapshot, publisher)
        assert csaf_problems(csaf) == []
        records = [render_cve_record(snapshot, cve, publisher) for cve in snapshot.cve_ids]
        for record in records:
            assert cve_record_problems(record) == []
        return osv, csaf, records

    def imported(self, name: str) -> Advisory:
        identifier = self.result_by_file[name]
        return Advisory.objects.get(identifier=identifier)

    def run_import(self, kind: str, paths: list[Path]) -> None:
        result = do_import_documents(files(paths), kind, acting_user=self.bob)
        self.result_by_file = {d.file: d.identifier for d in result.documents}
        # A document describing a vulnerability already imported (same CVE id) is
        # matched, not imported again: its facts are the first document's.
        # It is recorded as another source of that advisory ("source added").
        self.matched = {
            d.file for d in result.documents if d.outcome in ("unchanged", "source added")
        }
        self.result = result

    def test_real_osv_documents_import_and_export_again_with_their_facts(self) -> None:
        paths = corpus("real", "osv") + corpus("osv", "good")
        self.run_import("osv", paths)
        assert self.result.incident_declared and self.result.incident is not None
        assert "GHSA-32vw-r77c-gm67.json" in self.result.incident.declared_reason
        for path in paths:
            source = load(path)
            advisory = self.imported(path.name)
            osv, _csaf, _records = self.reexport(advisory)
            cves = {a for a in [source["id"], *source.get("aliases", [])] if a.startswith("CVE-")}
            assert cves <= set(osv.get("aliases", [])), path.name
            if path.name in self.matched:
                assert cves, path.name
                continue
            assert osv_fixed_versions(source) <= osv_fixed_versions(osv), path.name
            urls = {r["url"] for r in osv["references"]}
            assert {r["url"] for r in source.get("references", [])} <= urls, path.name
            for cwe in (source.get("database_specific") or {}).get("cwe_ids") or []:
                assert cwe in advisory.cwe_ids, path.name
            vectors = {s["score"] for s in source.get("severity") or []}
            kept = {s["score"] for s in osv.get("severity", [])}
            assert {v for v in vectors if v.startswith("CVSS:3")} <= kept | set(), path.name
            assert ("withdrawn" in osv) == ("withdrawn" in source), path.name

    def test_real_cve_records_import_and_export_again_with_their_facts(self) -> None:
        paths = corpus("real", "cve") + corpus("cve", "good")
        # The CVE schema's own examples use ids from years before CVE ids existed
        # (CVE-1337-1234, CVE-1900-1234): Herald refuses them, naming the field.
        fictional = {
            p.name: load(p)["cveMetadata"]["cveId"]
            for p in paths
            if int(load(p).get("cveMetadata", {}).get("cveId", "CVE-2000-0")[4:8]) < 1999
        }
        assert len(fictional) == 3
        with pytest.raises(ValidationError) as caught:
            do_import_documents(
                files([p for p in paths if p.name in fictional]), "cve", acting_user=self.bob
            )
        assert caught.value.message_dict == {
            name: [f"/cveMetadata/cveId: {cve} is not a CVE id (CVE-YYYY-NNNN, 1999 on)"]
            for name, cve in fictional.items()
        }
        paths = [p for p in paths if p.name not in fictional]
        self.run_import("cve", paths)
        for path in paths:
            source = load(path)
            advisory = self.imported(path.name)
            osv, _csaf, records = self.reexport(advisory)
            cna = source.get("containers", {}).get("cna", source)
            if "cveMetadata" in source:
                cve_id = source["cveMetadata"]["cveId"]
                assert advisory.cve_ids == [cve_id]
                rejected = source["cveMetadata"]["state"] == "REJECTED"
                assert records[0]["cveMetadata"]["state"] == (
                    "REJECTED" if rejected else "PUBLISHED"
                ), path.name
            for problem in cna.get("problemTypes") or []:
                for d in problem["descriptions"]:
                    if "cweId" in d:
                        assert d["cweId"] in advisory.cwe_ids, path.name
            source_urls = {r["url"] for r in cna.get("references") or []}
            assert source_urls <= {r["url"] for r in osv["references"]}, path.name
            for metric in cna.get("metrics") or []:
                if "cvssV3_1" in metric:
                    assert advisory.cvss_v3_vector, path.name
                if "cvssV4_0" in metric:
                    assert advisory.cvss_v4_vector == metric["cvssV4_0"]["vectorString"]
            less_than = {
                v["lessThan"]
                for a in cna.get("affected") or []
                for v in a.get("versions") or []
                if v.get("status") == "affected" and "*" not in v.get("lessThan", "*")
            }
            # Each versions entry's end is a fixed event of the row's range.
            fixed = {
                e["fixed"]
                for row in snapshot_of(advisory).affected
                for r in row.all_ranges()
                for e in r.events
                if "fixed" in e
            }
            assert less_than <= fixed, path.name

    def test_real_csaf_documents_import_and_export_again_with_their_facts(self) -> None:
        paths = corpus("real", "csaf") + corpus("csaf", "good")
        self.run_import("csaf", paths)
        for path in paths:
            source = load(path)
            advisory = self.imported(path.name)
            _osv, csaf, _records = self.reexport(advisory)
            cves = {v["cve"] for v in source.get("vulnerabilities", []) if "cve" in v}
            assert cves == set(advisory.cve_ids), path.name
            assert {v["cve"] for v in csaf["vulnerabilities"] if "cve" in v} == cves
            for vuln in source.get("vulnerabilities", []):
                if "cwe" in vuln:
                    assert vuln["cwe"]["id"] in advisory.cwe_ids, path.name
                for score in vuln.get("scores") or []:
                    # A 3.1 vector is Herald's computed score; 3.0 and v2 are kept as given.
                    given = score.get("cvss_v3", {}).get("vectorString", "")
                    kept = {
                        s.vector for v in snapshot_of(advisory).vulnerabilities for s in v.scores
                    }
                    assert (
                        not given
                        or given in kept | {advisory.cvss_v3_vector}
                        or any(
                            v.cvss_v3_vector == given for v in snapshot_of(advisory).vulnerabilities
                        )
                    ), path.name
            assert advisory.affected.exists(), path.name
            # The document's references stay the document's (its CSAF export), and the
            # OSV export links the document itself.
            urls = {r["url"] for r in csaf["document"].get("references") or []}
            for ref in source["document"].get("references") or []:
                assert ref["url"] in urls, path.name

    def test_importing_twice_changes_nothing_the_second_time(self) -> None:
        paths = corpus("real", "osv") + corpus("real", "cve") + corpus("real", "csaf")
        for kind, folder in (("osv", "osv"), ("cve", "cve"), ("csaf", "csaf")):
            do_import_documents(files(corpus("real", folder)), kind, acting_user=self.bob)
        counts = (
            Advisory.objects.count(),
            Product.objects.count(),
            Incident.objects.count(),
            AuditEvent.objects.count(),
        )
        for kind, folder in (("osv", "osv"), ("cve", "cve"), ("csaf", "csaf")):
            again = do_import_documents(files(corpus("real", folder)), kind, acting_user=self.bob)
            assert not again.changed_anything
            assert again.incident is None
        assert counts == (
            Advisory.objects.count(),
            Product.objects.count(),
            Incident.objects.count(),
            AuditEvent.objects.count(),
        )
        assert len(paths) == 26

    def test_withdrawn_and_rejected_documents_become_withdrawn_advisories(self) -> None:
        do_import_documents(
            files([shared_path("corpus", "real", "osv", "GHSA-rwqr-c348-m5wr.json")]),
            "osv",
            acting_user=self.bob,
        )
        result = do_import_documents(
            files([shared_path("corpus", "real", "cve", "CVE-2024-9010.json")]),
            "cve",
            acting_user=self.bob,
        )
        rejected = Advisory.objects.get(identifier=result.documents[0].identifier)
        assert rejected.state == "withdrawn"
        assert "rejected" in rejected.withdrawn_reason.lower() or rejected.withdrawn_reason
        record = artifact_json("cve/CVE-2024-9010.json")
        assert record["cveMetadata"]["state"] == "REJECTED"
        ghsa = Advisory.objects.exclude(pk=rejected.pk).get()
        assert ghsa.state == "withdrawn"
        assert "withdrawn" in artifact_json(f"osv/x_{ghsa.identifier}.json")

    def test_bad_documents_are_refused_naming_the_file_and_nothing_is_imported(self) -> None:
        for kind, bad, good in (
            ("osv", corpus("osv", "bad"), corpus("osv", "good")),
            ("cve", corpus("cve", "bad"), corpus("real", "cve")),
            ("csaf", corpus("csaf", "bad"), corpus("csaf", "good")),
        ):
            with pytest.raises(ValidationError) as caught:
                do_import_documents(files(good + bad), kind, acting_user=self.bob)
            errors = caught.value.message_dict
            assert {p.name for p in bad} <= set(errors), (kind, errors)
            assert all(p.name not in errors for p in good)
            assert any(m.startswith("/") for p in bad for m in errors[p.name] if "JSON" not in m)
        assert Advisory.objects.count() == 0
        assert Incident.objects.count() == 0

    def test_a_document_of_another_format_is_refused(self) -> None:
        with pytest.raises(ValidationError) as caught:
            do_import_documents(
                files([shared_path("corpus", "real", "cve", "CVE-2024-9680.json")]),
                "osv",
                acting_user=self.bob,
            )
        assert caught.value.message_dict == {"CVE-2024-9680.json": ["is a CVE document, not OSV"]}

    def test_an_import_runs_in_the_incident_given(self) -> None:
        incident = self.declare("Migrating our GitHub advisories")
        result = do_import_documents(
            files([shared_path("corpus", "real", "osv", "GHSA-22f2-v57c-j9cx.json")]),
            "osv",
            acting_user=self.bob,
            incident=incident,
        )
        assert not result.incident_declared
        advisory = Advisory.objects.get(identifier=result.documents[0].identifier)
        assert advisory.incident == incident
        assert advisory.published_at is not None
        assert advisory.published_at.isoformat() == "2024-02-28T22:57:26+00:00"
        assert advisory.identifier.startswith("NW-2024-")
        rack = Product.objects.get(ecosystem="RubyGems", package_name="rack")
        # Each affected entry keeps its ranges as the document gives them (ECOSYSTEM).
        rows = list(advisory.affected.all())
        assert {r.product for r in rows} == {rack}
        assert {
            (r["type"], tuple(next(iter(e.items())) for e in r["events"]))
            for row in rows
            for r in row.ranges
        } == {
            ("ECOSYSTEM", (("introduced", "3.0.0"), ("fixed", "3.0.9.1"))),
            ("ECOSYSTEM", (("introduced", "0.4"), ("fixed", "2.2.8.1"))),
        }

    def test_the_cli_imports_documents_and_refuses_bad_ones_with_status_2(self) -> None:
        out = io.StringIO()
        path = shared_path("corpus", "real", "osv", "GHSA-j8r2-6x86-q33q.json")
        call_command("import", "osv", str(path), stdout=out)
        assert "created" in out.getvalue()
        out = io.StringIO()
        call_command("import", "osv", str(path), stdout=out)
        assert "0 created, 0 withdrawn, 1 unchanged" in out.getvalue()
        err = io.StringIO()
        bad = shared_path("corpus", "csaf", "bad", "truncated.json")
        with pytest.raises(CommandError) as caught:
            call_command("import", "csaf", str(bad), stdout=io.StringIO(), stderr=err)
        assert caught.value.returncode == 2
        assert "truncated.json: is not JSON" in err.getvalue()

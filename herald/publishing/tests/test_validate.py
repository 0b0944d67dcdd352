"""``herald validate``: every stored public file re-checked, each problem named."""

from __future__ import annotations

import contextlib
import io
import json

from django.core.management import CommandError, call_command
from django.test import override_settings

from herald.core.models import VendorProfile
from herald.publication.actions import do_withdraw_advisory
from herald.publishing.models import Artifact
from herald.publishing.store.artifacts import regenerate
from herald.publishing.tests.surfaces_support import CNA_ORG_ID, SignedPublicDesk, artifact
from herald.publishing.tests.world import require_csaf_validator
from herald.test import HeraldTestCase


def run() -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("validate", stdout=out, stderr=err)
        return 0, out.getvalue(), err.getvalue()
    except CommandError as exc:
        return exc.returncode, out.getvalue(), err.getvalue()


def tamper(path: str, content: bytes) -> None:
    Artifact.objects.filter(path=path).update(content=content)


@override_settings(HERALD_CNA_ORG_ID=CNA_ORG_ID)
class ValidateTests(SignedPublicDesk, HeraldTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.first = self.published()
        self.second = self.published(title="CSRF on settings", cve_ids=["CVE-2026-20000"])
        do_withdraw_advisory(self.second, acting_user=self.bob, reason="Duplicate.")
        self.csaf = f".well-known/csaf/white/2026/{self.first.identifier.lower()}.json"

    def test_a_clean_site_passes(self) -> None:
        code, out, _ = run()
        assert code == 0, out
        assert out.strip().endswith("0 problem(s).")

    def test_a_tampered_csaf_document_fails_its_hashes_and_signature(self) -> None:
        tamper(self.csaf, artifact(self.csaf).replace(b"Stored XSS", b"Stored XSX"))
        code, out, err = run()
        assert code == 1
        assert f"{self.csaf}: .sha256 does not match the document" in out
        assert f"{self.csaf}: .sha512 does not match the document" in out
        assert f"{self.csaf}: .asc: Signature does not verify" in out
        assert "problem(s) in the published files" in err

    def test_an_invalid_osv_document_is_named_with_its_field(self) -> None:
        path = f"osv/x_{self.first.identifier}.json"
        doc = json.loads(artifact(path))
        doc["severity"] = [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:X"}]
        tamper(path, json.dumps(doc).encode())
        code, out, _ = run()
        assert code == 1
        assert f"{path}: /severity/0/score: invalid vector" in out
        assert "osv/all.zip: " in out  # the archive no longer holds the same bytes

    def test_csaf_mandatory_test_failures_are_reported(self) -> None:
        doc = json.loads(artifact(self.csaf))
        doc["vulnerabilities"][0]["product_status"].setdefault("fixed", []).append("CSAFPID-9999")
        tamper(self.csaf, json.dumps(doc).encode())
        _code, out, _ = run()
        assert "6.1.1" in out

    def test_an_invalid_cve_record_and_a_missing_file_are_reported(self) -> None:
        path = "cve/CVE-2026-12345.json"
        record = json.loads(artifact(path))
        record["cveMetadata"]["assignerOrgId"] = "not-a-uuid"
        tamper(path, json.dumps(record).encode())
        Artifact.objects.filter(path=f"osv/x_{self.second.identifier}.json").delete()
        code, out, _ = run()
        assert code == 1
        assert f"{path}: /cveMetadata/assignerOrgId" in out
        assert f"osv/x_{self.second.identifier}.json: missing" in out

    def test_broken_vex_documents_are_reported(self) -> None:
        advisory = self.published(
            title="Path traversal in exports",
            cve_ids=["CVE-2026-20001"],
            affected=[{"product": "cloud", "deployment": "cloud", "status": "not_affected"}],
        )
        assert run()[0] == 0
        openvex = f"vex/{advisory.identifier}.openvex.json"
        doc = json.loads(artifact(openvex))
        del doc["statements"][0]["impact_statement"]
        tamper(openvex, json.dumps(doc).encode())
        cdx = f"vex/{advisory.identifier}.cdx.json"
        bom = json.loads(artifact(cdx))
        bom["vulnerabilities"][0]["analysis"]["state"] = "exploited"
        tamper(cdx, json.dumps(bom).encode())
        code, out, _ = run()
        assert code == 1
        assert "not_affected needs a justification or an impact statement" in out, out
        assert "/vulnerabilities/0/analysis/state" in out, out

    def test_a_missing_vex_document_is_reported(self) -> None:
        advisory = self.published(
            title="Path traversal in exports",
            cve_ids=["CVE-2026-20002"],
            affected=[{"product": "cloud", "deployment": "cloud", "status": "not_affected"}],
        )
        assert run()[0] == 0  # every file is there
        cdx = f"vex/{advisory.identifier}.cdx.json"
        Artifact.objects.filter(path=cdx).delete()
        code, out, _ = run()
        assert code == 1
        assert f"{cdx}: missing: {advisory.identifier} is public but this file is not" in out

    def test_problems_of_one_kind_are_one_entry_naming_the_files(self) -> None:
        more = [self.published(title=f"Issue {i}", cve_ids=[]) for i in range(5)]
        gone = sorted(f"osv/x_{a.identifier}.json" for a in (self.first, *more))
        Artifact.objects.filter(path__in=gone).delete()
        code, out, _ = run()
        assert code == 1
        lines = out.splitlines()
        first = lines.index(next(x for x in lines if x.startswith("6 problems like: osv/x_")))
        assert lines[first].endswith(" is public but this file is not")
        also = lines[first + 1]
        assert also.startswith("  also ")
        assert all(path in lines[first] + also for path in gone)
        # The archive's complaints, all in one file, name the documents it misses.
        assert any(x.startswith("6 problems like: osv/all.zip: ") for x in lines)
        assert len(lines) < 12
        assert lines[-1].endswith("18 problem(s).")
        listed = io.StringIO()
        with contextlib.suppress(CommandError):
            call_command("validate", "--json", stdout=listed)
        problems = json.loads(listed.getvalue())["problems"]
        assert len(problems) == 18 and all(any(p.startswith(g) for p in problems) for g in gone)

    def test_provider_metadata_and_security_txt_fields_are_checked(self) -> None:
        path = ".well-known/csaf/provider-metadata.json"
        metadata = json.loads(artifact(path))
        metadata["role"] = "csaf_reseller"
        tamper(path, json.dumps(metadata).encode())
        Artifact.objects.update_or_create(
            path=".well-known/security.txt",
            defaults={
                "content": b"Contact: mailto:security@example.com\n"
                b"Expires: 2001-01-01T00:00:00.000Z\n",
                "content_type": "text/plain",
                "etag": "x",
                "generation": 1,
                "updated_at": self.first.updated_at,
            },
        )
        _code, out, _ = run()
        assert f"{path}: /role: must be one of" in out
        assert ".well-known/security.txt: Expires: 2001-01-01T00:00:00.000Z is in the past" in out

    def test_what_the_osv_schema_refuses_is_reported_in_plain_words(self) -> None:
        path = f"osv/x_{self.first.identifier}.json"
        doc = json.loads(artifact(path))
        doc["id"] = self.first.identifier  # the id of Herald before 2026-12: HRLD-, NW-...
        doc["affected"] = [{"package": {"ecosystem": "Northwind", "name": "Northwind Cloud"}}]
        doc["references"][0]["url"] = "not a link"
        tamper(path, json.dumps(doc).encode())
        code, out, _ = run()
        assert code == 1
        assert (
            f"{path}: /id: '{self.first.identifier}' does not start with a prefix the OSV "
            "schema admits (a database registered with OSV, or x_ for a local one)"
        ) in out
        assert (
            f"{path}: /affected/0/package/ecosystem: 'Northwind' is not one of the ecosystems "
            "the OSV schema lists"
        ) in out
        assert f"{path}: /references/0/url: 'not a link' is not a valid uri" in out

    def test_the_former_address_of_a_document_holds_the_same_bytes(self) -> None:
        with override_settings(HERALD_OSV_ID_PREFIX=""):  # served before ids took x_
            regenerate([self.first])
        regenerate([self.first])
        old = f"osv/{self.first.identifier}.json"
        assert artifact(old) == artifact(f"osv/x_{self.first.identifier}.json")
        tamper(old, artifact(old).replace(b"Stored XSS", b"Stored XSX"))
        _code, out, _ = run()
        assert f"{old}: differs from osv/x_{self.first.identifier}.json" in out

    def test_csaf_validator_lib_is_run_and_what_it_refuses_is_reported(self) -> None:
        require_csaf_validator()
        doc = json.loads(artifact(self.csaf))
        # A swift purl without a version: Herald's own rules took it, the library does not.
        leaf = doc["product_tree"]["branches"][0]
        while "branches" in leaf:
            leaf = leaf["branches"][0]
        leaf["product"]["product_identification_helper"] = {
            "purl": "pkg:swift/github.com/apple/swift-nio-http2"
        }
        tamper(self.csaf, json.dumps(doc).encode())
        code, out, _ = run()
        assert code == 1
        assert f"{self.csaf}: csaf-validator-lib: " in out
        assert "mandatoryTest_6_1_13" in out
        assert "note:" not in out

    def test_without_csaf_validator_lib_the_report_says_so(self) -> None:
        with override_settings(HERALD_CSAF_VALIDATOR_DIR="/nonexistent/validators"):
            code, out, _ = run()
        assert code == 0, out
        assert (
            "note: CSAF documents were checked by Herald's own rules only: "
            "csaf-validator-lib is not installed in /nonexistent/validators"
        ) in out

    def test_security_txt_that_sectxt_refuses_is_reported(self) -> None:
        text = artifact(".well-known/security.txt").decode()
        assert text.startswith("-----BEGIN PGP SIGNED MESSAGE-----")
        tampered = text.replace(" - see RFC 9116", " \u2014 see RFC 9116").replace(
            "https://security.northwind.example/security/pgp-key.asc",
            "http://security.northwind.example/security/pgp-key.asc",
        )
        tamper(".well-known/security.txt", tampered.encode())
        _code, out, _ = run()
        assert ".well-known/security.txt: line 4: a non-ASCII character in the signed text" in out
        assert (
            ".well-known/security.txt: Encryption: "
            "http://security.northwind.example/security/pgp-key.asc is not https"
        ) in out

    def test_a_desk_tried_on_this_machine_gets_a_note_not_problems_for_http(self) -> None:
        """`make run` serves http://127.0.0.1:8000: RFC 9116's https rule is for the public."""
        from herald.publishing.store.artifacts import regenerate_everything

        for base, problems in (("http://127.0.0.1:8123", False), ("http://sec.example", True)):
            profile = VendorProfile.get()
            profile.base_url = base
            profile.save()
            regenerate_everything()
            code, out, _ = run()
            if problems:
                assert (
                    code == 1 and "Contact: http://sec.example/security/report/ is not https" in out
                )
            else:
                assert code == 0, out
                assert "note: .well-known/security.txt names http:// URIs (Acknowledgments, " in out
                assert "Set HERALD_BASE_URL to the https address" in out

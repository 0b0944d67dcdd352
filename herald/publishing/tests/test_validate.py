"""``herald validate``: every stored public file re-checked, each problem named."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

from herald.advisories.actions import do_withdraw_advisory
from herald.publishing import signing
from herald.publishing.models import Artifact
from herald.publishing.tests.surfaces_support import CNA_ORG_ID, WiredArtifacts, artifact
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
class ValidateTests(WiredArtifacts, HeraldTestCase):
    @pytest.fixture(autouse=True)
    def _keys(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("HERALD_SIGNING_KEY_DIR", str(tmp_path / "keys"))

    def setUp(self) -> None:
        super().setUp()
        signing.do_generate_signing_key(acting_user=None)
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
        path = f"osv/{self.first.identifier}.json"
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
        Artifact.objects.filter(path=f"osv/{self.second.identifier}.json").delete()
        code, out, _ = run()
        assert code == 1
        assert f"{path}: /cveMetadata/assignerOrgId" in out
        assert f"osv/{self.second.identifier}.json: missing" in out

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

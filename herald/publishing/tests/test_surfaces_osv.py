"""OSV on the site: a document per public advisory, all.zip and modified_id.csv."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from jsonschema import Draft202012Validator

from herald.advisories.models import Advisory
from herald.core.errors import ValidationError
from herald.core.models import Product
from herald.publication.actions import do_update_advisory, do_withdraw_advisory
from herald.publishing.store.artifacts import read_one, regenerate_everything
from herald.publishing.tests.surfaces_support import WiredArtifacts, artifact, artifact_json, paths
from herald.publishing.tests.test_osv import official_osv_validator, schema_errors
from herald.test import HeraldTestCase


def oid(advisory: Advisory) -> str:
    """An advisory's OSV id with the default prefix ("x_": a local database)."""
    return f"x_{advisory.identifier}"


class OsvSurfaceTests(WiredArtifacts, HeraldTestCase):
    def test_publishing_writes_a_valid_document_at_its_id(self) -> None:
        advisory = self.published(
            affected=[{"product": "cloud", "region": "US", "status": "fixed"}],
            cvss_v3_vector="CVSS:3.1/AV:N/AC:L/PR:L/UI:R/S:C/C:L/I:L/A:N",
        )
        doc = artifact_json(f"osv/{oid(advisory)}.json")
        assert doc["id"] == f"x_{advisory.identifier}"
        assert doc["aliases"] == ["CVE-2026-12345"]
        # Published since ids took a prefix: no copy at the former address.
        assert read_one(f"osv/{advisory.identifier}.json") is None
        archive = zipfile.ZipFile(io.BytesIO(artifact("osv/all.zip")))
        assert archive.namelist() == [f"{oid(advisory)}.json"]
        assert artifact("osv/modified_id.csv").decode().split(",")[1] == f"{oid(advisory)}\n"
        assert doc["severity"][0]["type"] == "CVSS_V3"
        validator: Draft202012Validator = official_osv_validator()
        assert schema_errors(validator, doc) == []

    def test_a_draft_reaches_no_osv_file(self) -> None:
        self.draft(title="Embargoed: SSRF in webhooks")
        self.published()
        archive = zipfile.ZipFile(io.BytesIO(artifact("osv/all.zip")))
        assert len(archive.namelist()) == 1
        assert b"Embargoed" not in artifact("osv/all.zip")
        assert all("DRAFT" not in p for p in paths("osv/"))

    def test_all_zip_and_modified_index_list_every_public_advisory(self) -> None:
        first = self.published()
        second = self.published(title="CSRF on the settings page", cve_ids=[])
        archive = zipfile.ZipFile(io.BytesIO(artifact("osv/all.zip")))
        assert sorted(archive.namelist()) == sorted([f"{oid(first)}.json", f"{oid(second)}.json"])
        member = json.loads(archive.read(f"{oid(first)}.json"))
        assert member == artifact_json(f"osv/{oid(first)}.json")
        lines = artifact("osv/modified_id.csv").decode().splitlines()
        assert [line.split(",")[1] for line in lines] == [oid(second), oid(first)]
        assert all(line.split(",")[0].endswith("Z") for line in lines)

    def test_withdrawal_is_carried_into_the_document_and_the_archive(self) -> None:
        advisory = self.published()
        withdrawn = do_withdraw_advisory(advisory, acting_user=self.bob, reason="Not a bug.")
        doc = artifact_json(f"osv/{oid(withdrawn)}.json")
        assert doc["withdrawn"].endswith("Z")
        archive = zipfile.ZipFile(io.BytesIO(artifact("osv/all.zip")))
        assert "withdrawn" in json.loads(archive.read(f"{oid(withdrawn)}.json"))

    def test_regenerating_without_changes_keeps_every_byte(self) -> None:
        self.published()
        before = {p: artifact(p) for p in paths("osv/")}
        result = regenerate_everything()
        assert [p for p in result.changed if p.startswith("osv/")] == []
        assert {p: artifact(p) for p in paths("osv/")} == before

    def test_publishing_refuses_an_advisory_whose_osv_would_be_invalid(self) -> None:
        Product.objects.create(
            name="Legacy plugin", slug="legacy", ecosystem="Bogus", package_name="legacy"
        )
        draft = self.draft(affected=[{"product": "legacy", "fixed": "2.0.0"}])
        from herald.publication.actions import do_publish_advisory

        with pytest.raises(ValidationError) as caught:
            do_publish_advisory(draft, acting_user=self.bob)
        assert "affected" in caught.value.message_dict
        assert "package/ecosystem" in caught.value.message_dict["affected"][0]
        draft.refresh_from_db()
        assert draft.state == "draft"
        assert paths("osv/") == []

    def test_an_update_rewrites_the_document_and_the_index(self) -> None:
        advisory = self.published()
        do_update_advisory(
            advisory,
            acting_user=self.bob,
            change_summary="Clarified.",
            description="Any dashboard name could carry a script.",
        )
        doc = artifact_json(f"osv/{oid(advisory)}.json")
        assert doc["details"].startswith("Any dashboard name")
        archive = zipfile.ZipFile(io.BytesIO(artifact("osv/all.zip")))
        assert json.loads(archive.read(f"{oid(advisory)}.json")) == doc
        line = artifact("osv/modified_id.csv").decode().strip()
        assert line == f"{doc['modified']},{oid(advisory)}"


def _documents_of(archive: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(archive)) as zf:
        assert zf.testzip() is None
        return {name: zf.read(name) for name in zf.namelist()}


class HandBuiltArchiveTests(WiredArtifacts, HeraldTestCase):
    """all.zip is laid out from deflated members: the bytes zipfile writes, read back."""

    def test_the_hand_built_archive_is_zipfiles_archive_byte_for_byte(self) -> None:
        from herald.publishing.site.surfaces_osv import (
            member_of,
            members_of,
            zip_from_members,
            zip_of,
        )

        docs = {
            f"NW-2026-{i:04d}": json.dumps({"id": i, "details": "x" * (i * 37)}).encode()
            for i in range(40)
        }
        docs["NW-2026-ÄÖ"] = '{"summary": "ünïcode"}\n'.encode()
        docs["NW-2026-EMPTY"] = b""
        built = zip_from_members(member_of(i, c) for i, c in docs.items())
        assert built == zip_of(docs)
        assert built is not None
        assert _documents_of(built) == {f"{i}.json": c for i, c in docs.items()}
        members = members_of(built)
        assert members is not None
        assert list(members) == list(docs)
        assert zip_from_members(members.values()) == built
        assert members_of(b"not a zip") is None
        assert members_of(built[:-1]) is None

    def test_publishing_one_more_adds_it_and_keeps_the_others_bytes(self) -> None:
        from herald.publishing.site.surfaces_osv import zip_of

        first = self.published()
        second = self.published(title="CSRF on the settings page", cve_ids=[])
        third = self.published(title="Open redirect after login", cve_ids=[])
        docs = {oid(a): artifact(f"osv/{oid(a)}.json") for a in (first, second, third)}
        archive = artifact("osv/all.zip")
        assert archive == zip_of(dict(sorted(docs.items())))
        assert _documents_of(archive) == {f"{i}.json": c for i, c in docs.items()}

    def test_a_lost_or_damaged_archive_is_rebuilt_from_the_documents(self) -> None:
        from herald.publishing.models import Artifact
        from herald.publishing.site.surfaces_osv import zip_of

        first = self.published()
        Artifact.objects.filter(path="osv/all.zip").update(
            content=b"garbage", blocks=[], etag="written elsewhere"
        )
        second = self.published(title="CSRF on the settings page", cve_ids=[])
        docs = {oid(a): artifact(f"osv/{oid(a)}.json") for a in (first, second)}
        assert artifact("osv/all.zip") == zip_of(dict(sorted(docs.items())))
        Artifact.objects.filter(path="osv/all.zip").delete()
        third = self.published(title="Open redirect after login", cve_ids=[])
        docs[oid(third)] = artifact(f"osv/{oid(third)}.json")
        assert artifact("osv/all.zip") == zip_of(dict(sorted(docs.items())))

    def test_the_members_kept_between_publications_are_the_stored_archives(self) -> None:
        from herald.core.caches import named
        from herald.publishing.models import Artifact
        from herald.publishing.site.surfaces_osv import members_of, zip_of

        first = self.published()
        self.published(title="CSRF on the settings page", cve_ids=[])
        kept = named("osv archive members")
        assert kept.tag == Artifact.objects.get(path="osv/all.zip").etag
        assert kept.entries() == members_of(artifact("osv/all.zip"))
        # Another process wrote the archive since: this one builds on that archive
        # (its member for the first advisory), not on the one it kept.
        other = {oid(first): b'{"written": "elsewhere"}\n'}
        Artifact.objects.filter(path="osv/all.zip").update(
            content=zip_of(other), blocks=[], etag="another process"
        )
        third = self.published(title="Open redirect after login", cve_ids=[])
        listed = _documents_of(artifact("osv/all.zip"))
        assert f"{oid(third)}.json" in listed
        assert listed[f"{oid(first)}.json"] == b'{"written": "elsewhere"}\n'

    def test_documents_stored_since_the_archive_are_taken_from_the_table(self) -> None:
        from herald.publishing.models import Artifact
        from herald.publishing.site.surfaces_osv import zip_of

        first = self.published()
        # A document rewritten without the site files (a batch of a full rebuild),
        # then a publication: the archive must carry the newer stored document.
        Artifact.objects.filter(path=f"osv/{oid(first)}.json").update(
            content=b'{"id": "changed"}\n', generation=10**9
        )
        second = self.published(title="CSRF on the settings page", cve_ids=[])
        docs = {oid(a): artifact(f"osv/{oid(a)}.json") for a in (first, second)}
        assert docs[oid(first)] == b'{"id": "changed"}\n'
        assert artifact("osv/all.zip") == zip_of(dict(sorted(docs.items())))


class OsvSeveralVulnerabilitiesTests(WiredArtifacts, HeraldTestCase):
    def test_an_advisory_with_two_cves_is_two_documents_everywhere(self) -> None:
        advisory = self.published(cve_ids=["CVE-2026-12345", "CVE-2026-12346"])
        first, second = oid(advisory), f"{oid(advisory)}-2"
        docs = [artifact_json(f"osv/{first}.json"), artifact_json(f"osv/{second}.json")]
        assert [d["aliases"] for d in docs] == [["CVE-2026-12345"], ["CVE-2026-12346"]]
        assert docs[0]["related"] == [second, "CVE-2026-12346"]
        assert all(schema_errors(official_osv_validator(), d) == [] for d in docs)
        archive = zipfile.ZipFile(io.BytesIO(artifact("osv/all.zip")))
        assert sorted(archive.namelist()) == sorted([f"{first}.json", f"{second}.json"])
        csv_ids = {line.split(",")[1] for line in artifact("osv/modified_id.csv").decode().split()}
        assert csv_ids == {first, second}

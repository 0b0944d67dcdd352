"""The CSAF 2.0 trusted provider: documents, hashes, signatures, and the provider files."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from herald.publication.actions import do_mark_fixed, do_withdraw_advisory
from herald.publishing.render.schemas import csaf_problems
from herald.publishing.site.surfaces_csaf import provider_metadata_problems
from herald.publishing.store import signing
from herald.publishing.store.artifacts import regenerate_everything
from herald.publishing.tests.surfaces_support import WiredArtifacts, artifact, artifact_json, paths
from herald.publishing.tests.test_csaf import official
from herald.test import HeraldTestCase, shared_path


def provider_validator() -> Draft202012Validator:
    """OASIS's provider schema; it borrows the publisher from the CSAF schema."""
    csaf = json.loads(shared_path("schemas", "csaf", "csaf_json_schema.json").read_text("utf-8"))
    schema = json.loads(
        shared_path("schemas", "csaf", "provider_json_schema.json").read_text("utf-8")
    )
    registry: Registry = Registry().with_resources([(csaf["$id"], Resource.from_contents(csaf))])
    return Draft202012Validator(schema, registry=registry)


class CsafProviderTests(WiredArtifacts, HeraldTestCase):
    @pytest.fixture(autouse=True)
    def _keys(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setitem(settings.HERALD_ENV, "HERALD_SIGNING_KEY_DIR", str(tmp_path / "keys"))

    def doc_path(self, identifier: str) -> str:
        return f".well-known/csaf/white/2026/{identifier.lower()}.json"

    def test_each_document_is_valid_hashed_and_signed(self) -> None:
        key = signing.do_generate_signing_key(acting_user=None)
        advisory = self.published()
        path = self.doc_path(advisory.identifier)
        content = artifact(path)
        doc = json.loads(content)
        assert [e.message for e in official().iter_errors(doc)] == []
        assert csaf_problems(doc) == []
        name = path.rsplit("/", 1)[1]
        assert artifact(path + ".sha256").decode() == (
            f"{hashlib.sha256(content).hexdigest()}  {name}\n"
        )
        assert artifact(path + ".sha512").decode().split()[0] == (
            hashlib.sha512(content).hexdigest()
        )
        assert signing.verify_detached(content, artifact(path + ".asc").decode()) == (
            key.fingerprint
        )

    def test_provider_metadata_is_valid_and_names_the_feed_and_the_keys(self) -> None:
        key = signing.do_generate_signing_key(acting_user=None)
        self.published()
        metadata = artifact_json(".well-known/csaf/provider-metadata.json")
        assert [e.message for e in provider_validator().iter_errors(metadata)] == []
        assert provider_metadata_problems(metadata) == []
        assert metadata["role"] == "csaf_trusted_provider"
        key_url = metadata["public_openpgp_keys"][0]["url"]
        base = "http://127.0.0.1:8000/"
        assert key_url.startswith(base)
        assert (
            artifact(key_url.removeprefix(base))
            .decode()
            .startswith("-----BEGIN PGP PUBLIC KEY BLOCK-----")
        )
        assert metadata["public_openpgp_keys"][0]["fingerprint"] == key.fingerprint.upper()
        feed_url = metadata["distributions"][0]["rolie"]["feeds"][0]["url"]
        feed = artifact_json(feed_url.removeprefix(base))
        assert feed["feed"]["entry"][0]["content"]["src"].endswith(".json")

    def test_the_directory_lists_documents_in_index_and_changes(self) -> None:
        first = self.published()
        second = self.published(title="CSRF on settings", cve_ids=[])
        index = artifact(".well-known/csaf/white/index.txt").decode().splitlines()
        # Each advisory is two CSAF documents: the security advisory and its VEX form.
        assert index == sorted(
            f"2026/{a.identifier.lower()}{kind}.json"
            for a in (first, second)
            for kind in ("", "-vex")
        )
        changes = artifact(".well-known/csaf/white/changes.csv").decode().splitlines()
        assert len(changes) == 4
        assert {c.split(",")[0] for c in changes[:2]} == {
            f'"2026/{second.identifier.lower()}.json"',
            f'"2026/{second.identifier.lower()}-vex.json"',
        }
        for line in index:
            assert artifact(f".well-known/csaf/white/{line}")

    def test_the_vex_form_is_published_beside_the_advisory_and_listed_in_the_feed(
        self,
    ) -> None:
        signing.do_generate_signing_key(acting_user=None)
        advisory = self.published()
        path = self.doc_path(advisory.identifier).removesuffix(".json") + "-vex.json"
        vex = artifact_json(path)
        assert vex["document"]["category"] == "csaf_vex"
        assert vex["document"]["tracking"]["id"] == f"{advisory.identifier}-VEX"
        assert csaf_problems(vex) == []
        assert signing.verify_detached(artifact(path), artifact(path + ".asc").decode())
        name = path.rsplit("/", 1)[1]
        assert artifact(path + ".sha256").decode() == (
            f"{hashlib.sha256(artifact(path)).hexdigest()}  {name}\n"
        )
        feed = artifact_json(".well-known/csaf/feed-tlp-white.json")
        sources = {e["content"]["src"].rsplit("/", 1)[1] for e in feed["feed"]["entry"]}
        assert {name, name.replace("-vex", "")} <= sources
        metadata = artifact_json(".well-known/csaf/provider-metadata.json")
        assert [e.message for e in provider_validator().iter_errors(metadata)] == []

    def test_without_a_key_documents_go_out_unsigned_and_the_provider_is_not_trusted(
        self,
    ) -> None:
        advisory = self.published()
        assert self.doc_path(advisory.identifier) + ".asc" not in paths(".well-known/csaf/")
        metadata = artifact_json(".well-known/csaf/provider-metadata.json")
        assert metadata["role"] == "csaf_provider"
        assert provider_metadata_problems(metadata) == []

    def test_a_revision_and_a_withdrawal_each_write_a_new_version(self) -> None:
        signing.do_generate_signing_key(acting_user=None)
        advisory = self.published(status="reported", fixed_at=None, resolution="")
        path = self.doc_path(advisory.identifier)
        assert artifact_json(path)["document"]["tracking"]["status"] == "interim"
        fixed = do_mark_fixed(
            advisory, acting_user=self.bob, fixed_at="2026-01-12", resolution="Upgrade."
        )
        tracking = artifact_json(path)["document"]["tracking"]
        assert (tracking["version"], tracking["status"]) == ("2", "final")
        do_withdraw_advisory(fixed, acting_user=self.bob, reason="Duplicate of NW-2025-0002.")
        doc = artifact_json(path)
        tracking = doc["document"]["tracking"]
        assert tracking["version"] == "3"
        assert tracking["revision_history"][-1]["summary"].startswith("Withdrawn")
        assert csaf_problems(doc) == []
        assert signing.verify_detached(artifact(path), artifact(path + ".asc").decode())

    def test_an_unchanged_document_keeps_its_signature(self) -> None:
        signing.do_generate_signing_key(acting_user=None)
        advisory = self.published()
        path = self.doc_path(advisory.identifier)
        before = artifact(path + ".asc")
        result = regenerate_everything()
        assert artifact(path + ".asc") == before
        assert not [p for p in result.changed if p.startswith(".well-known/csaf/white/")]


@pytest.mark.parametrize(("folder", "valid"), [("good", True), ("bad", False)])
def test_provider_metadata_checks_agree_with_the_official_schema(folder: str, valid: bool) -> None:
    doc = json.loads(
        shared_path("corpus", "csaf-provider", folder, "provider-metadata.json").read_text()
    )
    official_errors = list(provider_validator().iter_errors(doc))
    problems = provider_metadata_problems(doc)
    assert (official_errors == []) is valid
    assert (problems == []) is valid
    if not valid:
        flagged = {p.split(":")[0] for p in problems}
        assert {"/canonical_url", "/last_updated", "/publisher/category", "/role"} <= flagged


def test_the_rolie_feed_written_from_a_template_is_json_bytes_of_the_document() -> None:
    import datetime as dt
    from types import SimpleNamespace

    from herald.publishing.render.publisher import json_bytes, utc
    from herald.publishing.site.surfaces_csaf import Entry, rolie_feed, rolie_feed_bytes

    publisher: Any = SimpleNamespace(namespace="https://example.com", name='Nörthwind "Co"')
    moment = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    titles = ['Quotes " and \\ backslash', "ünïcode \u2028 \x01 <b>", "\x00rolie-entries\x00", "x"]
    listed = [
        Entry(
            f"NW-2026-{i:04d}",
            t,
            f"2026/nw-2026-{i:04d}.json",
            utc(moment),
            utc(moment + dt.timedelta(i)),
        )
        for i, t in enumerate(titles)
    ]
    for subset in (listed, listed[:2], listed[3:], []):
        assert rolie_feed_bytes(publisher, subset, moment) == json_bytes(
            rolie_feed(publisher, subset, moment)
        )
    # The entries' texts are kept by entry under the base URL they were written with:
    # another namespace (a profile edit) writes them again, never joins the old ones.
    elsewhere: Any = SimpleNamespace(namespace="https://example.org/psirt", name="Other")
    for each in (elsewhere, publisher):
        assert rolie_feed_bytes(each, listed, moment) == json_bytes(
            rolie_feed(each, listed, moment)
        )


class DatabaseDateTextTests(HeraldTestCase):
    def test_the_database_formats_a_date_exactly_as_utc_does(self) -> None:
        # The provider files and modified_id.csv take their dates from UtcText; a
        # difference from utc() would list a document with another date than its own.
        import datetime as dt

        from django.db.models import DateTimeField, Value

        from herald.core.dbfunctions import UtcText
        from herald.core.models import VendorProfile
        from herald.publishing.render.publisher import utc, utc_datetime

        VendorProfile.get()
        plus_two = dt.timezone(dt.timedelta(hours=2))
        for moment in (
            dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC),
            dt.datetime(2026, 12, 31, 23, 59, 59, 999999, tzinfo=dt.UTC),
            dt.datetime(2027, 1, 1, 1, 30, 0, 500000, tzinfo=plus_two),  # 2026 in UTC
        ):
            text = (
                VendorProfile.objects.annotate(t=UtcText(Value(moment, DateTimeField())))
                .values_list("t", flat=True)
                .get()
            )
            assert text == utc(moment)
            assert utc_datetime(text) == moment.replace(microsecond=0)

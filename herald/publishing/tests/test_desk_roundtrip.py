"""Real documents imported through the desk come back out in their own format with
nothing lost (issue #15, point 3): the readers are tested pure in
``test_<kind>_roundtrip``/``test_read_cve``; this is the whole path a vendor takes:
``herald import`` (the database, the product table, the source kept), then the file
the site publishes, compared with the original by ``roundtrip.lost``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.test import override_settings

from herald.advisories.models import Advisory
from herald.advisories.snapshot import snapshot_of
from herald.publication.actions import do_import_documents
from herald.publishing.render.csaf import render_csaf
from herald.publishing.render.cve5 import render_cve_record
from herald.publishing.render.osv import render_osv
from herald.publishing.site.surfaces import site_publisher
from herald.publishing.tests.roundtrip import lost
from herald.test import HeraldTestCase, shared_path

REAL = Path(__file__).parent / "real"


def documents(kind: str) -> list[Path]:
    ours = sorted((REAL / kind).glob("*.json"))
    shared = shared_path("corpus", "real", kind)
    return ours + (sorted(shared.glob("*.json")) if shared.is_dir() else [])


# A desk that is a CNA (the CVE renderer needs an organisation id); an imported record
# keeps its own CNA's identity (test_read_cve).
@override_settings(
    HERALD_CNA_ORG_ID="d5f3f1f2-4d3c-4b77-9d44-0c2d6c0d4c11", HERALD_CNA_SHORT_NAME="northwind"
)
class DeskRoundTrip(HeraldTestCase):
    def export(self, kind: str, advisory: Advisory, original: dict[str, Any]) -> dict[str, Any]:
        snapshot = snapshot_of(advisory)
        publisher = site_publisher()
        if kind == "osv":
            return render_osv(snapshot, publisher)
        if kind == "csaf":
            return render_csaf(snapshot, publisher)
        return render_cve_record(snapshot, original["cveMetadata"]["cveId"], publisher)

    def losses(self, kind: str) -> dict[str, list[str]]:
        paths = documents(kind)
        assert paths, kind
        found: dict[str, list[str]] = {}
        for path in paths:
            raw = path.read_bytes()
            result = do_import_documents([(path.name, raw)], kind, acting_user=self.bob)
            (done,) = result.documents
            if done.outcome not in ("created", "withdrawn"):
                continue  # a second document about a CVE already imported: another source
            original = json.loads(raw)
            if path.name == "GHSA-qppj-fm5r-hxr3.json":
                # GitHub's older "purl-type:swift" is OSV 1.7's SwiftURL (the only
                # change the reader makes: the 1.7 schema refuses the old spelling).
                for entry in original["affected"]:
                    if entry["package"]["ecosystem"] == "purl-type:swift":
                        entry["package"]["ecosystem"] = "SwiftURL"
            advisory = Advisory.objects.get(identifier=done.identifier)
            problems = lost(kind, original, self.export(kind, advisory, original))
            if problems:
                found[path.name] = problems
        return found

    def test_osv_documents_keep_what_they_said(self) -> None:
        assert self.losses("osv") == {}

    def test_cve_records_keep_what_they_said(self) -> None:
        assert self.losses("cve") == {}

    def test_csaf_documents_keep_what_they_said(self) -> None:
        assert self.losses("csaf") == {}

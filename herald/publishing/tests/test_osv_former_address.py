"""OSV documents at their former address (before ids took the x_ prefix): kept for
advisories served there, never made for newer ones."""

from __future__ import annotations

import io
import json
import tempfile
from pathlib import Path

from django.core.management import call_command
from django.test import override_settings

from herald.advisories.models import Advisory
from herald.publishing.store.artifacts import regenerate_everything
from herald.publishing.tests.surfaces_support import WiredArtifacts, artifact, paths
from herald.test import HeraldTestCase


def osv_documents(directory: Path) -> list[str]:
    return sorted(p.name for p in (directory / "osv").glob("*.json"))


class FormerAddressTests(WiredArtifacts, HeraldTestCase):
    def export(self) -> list[str]:
        with tempfile.TemporaryDirectory() as out:
            call_command("export", "site", out, stdout=io.StringIO())
            return osv_documents(Path(out))

    def test_a_new_desk_stores_each_document_once_under_its_osv_id(self) -> None:
        advisory = self.published(cve_ids=["CVE-2026-31000"])
        regenerate_everything()
        assert paths("osv/") == sorted(
            ["osv/all.zip", "osv/modified_id.csv", f"osv/x_{advisory.identifier}.json"]
        )
        doc = json.loads(artifact(f"osv/x_{advisory.identifier}.json"))
        assert doc["aliases"] == ["CVE-2026-31000"]
        assert self.client.get(f"/v1/vulns/{advisory.identifier}").status_code == 404
        assert self.client.get(f"/v1/vulns/x_{advisory.identifier}").status_code == 200
        assert self.export() == [f"x_{advisory.identifier}.json"]

    def test_an_advisory_served_before_the_prefix_keeps_its_former_address(self) -> None:
        with override_settings(HERALD_OSV_ID_PREFIX=""):  # as every desk was before x_
            old = self.published(title="Served before the prefix")
        assert f"osv/{old.identifier}.json" in paths("osv/")

        # The upgrade: the prefix comes, every file is rendered again.
        regenerate_everything()
        new = self.published(title="Published since")
        current = artifact(f"osv/x_{old.identifier}.json")
        assert artifact(f"osv/{old.identifier}.json") == current
        assert old.identifier in json.loads(current)["aliases"]
        answer = self.client.get(f"/v1/vulns/{old.identifier}")
        assert answer.status_code == 200 and answer.content == current
        # The newer one has no former address, no alias, no answer by its identifier.
        assert f"osv/{new.identifier}.json" not in paths("osv/")
        new_doc = json.loads(artifact(f"osv/x_{new.identifier}.json"))
        assert new.identifier not in new_doc.get("aliases", [])
        assert self.client.get(f"/v1/vulns/{new.identifier}").status_code == 404
        assert self.export() == sorted(
            [f"{old.identifier}.json", f"x_{old.identifier}.json", f"x_{new.identifier}.json"]
        )
        assert Advisory.objects.count() == 2

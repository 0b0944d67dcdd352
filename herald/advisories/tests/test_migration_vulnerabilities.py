"""Advisories written before vulnerabilities existed migrate without loss (0004-0006)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import TransactionTestCase

BEFORE = [
    ("advisories", "0003_listing_indexes"),
    ("web", "0001_search_index"),
    ("core", "0004_throttle_moves_to_core"),
]
NOW = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)


def _latest() -> list[tuple[str, str]]:
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


def _migrate(targets: list[tuple[str, str]]):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


class FlatFieldsBecomeVulnerabilities(TransactionTestCase):
    def tearDown(self) -> None:
        _migrate(_latest())

    def old_advisory(self, apps, identifier: str, **fields):
        Incident = apps.get_model("incidents", "Incident")
        Advisory = apps.get_model("advisories", "Advisory")
        Product = apps.get_model("core", "Product")
        Affected = apps.get_model("advisories", "Affected")
        incident = Incident.objects.first() or Incident.objects.create(
            identifier="INC-2026-0001", title="t", severity="high", declared_at=NOW,
            declared_by="alice",
        )  # fmt: skip
        advisory = Advisory.objects.create(
            identifier=identifier, incident=incident, title="Title " + identifier,
            created_at=NOW, updated_at=NOW, created_by="alice", **fields,
        )  # fmt: skip
        product, _ = Product.objects.get_or_create(name="Cloud", slug="cloud")
        Affected.objects.create(advisory=advisory, product=product, fixed="1.4")
        return advisory

    def test_each_cve_becomes_a_vulnerability_with_the_weaknesses_and_scores(self) -> None:
        old = _migrate(BEFORE)
        self.old_advisory(
            old, "NW-2026-0001", cve_ids=["CVE-2026-1001", "CVE-2026-1002"], cwe_ids=["CWE-79"],
            cvss_v3_vector="CVSS:3.1/AV:N/AC:L/PR:L/UI:R/S:C/C:L/I:L/A:N",
            cvss_v3_score=Decimal("5.4"),
        )  # fmt: skip
        self.old_advisory(old, "NW-2026-0002")  # no CVE, no score
        _migrate(_latest())

        from herald.advisories.models import Advisory
        from herald.advisories.snapshot import snapshot_of

        first = snapshot_of(Advisory.objects.get(identifier="NW-2026-0001"))
        assert [v.cve_id for v in first.vulnerabilities] == ["CVE-2026-1001", "CVE-2026-1002"]
        for v in first.vulnerabilities:
            assert v.cwe_ids == ("CWE-79",)
            assert (v.cvss_v3_vector, v.cvss_v3_score) == (
                "CVSS:3.1/AV:N/AC:L/PR:L/UI:R/S:C/C:L/I:L/A:N",
                Decimal("5.4"),
            )
            # The product row, stored once, holds for each vulnerability.
            assert [(r.product_slug, r.fixed) for r in v.affected] == [("cloud", "1.4")]
        assert first.cve_ids == ("CVE-2026-1001", "CVE-2026-1002")
        assert [(r.product_slug, r.fixed) for r in first.affected] == [("cloud", "1.4")]

        second = snapshot_of(Advisory.objects.get(identifier="NW-2026-0002"))
        assert len(second.vulnerabilities) == 1
        assert second.cve_ids == () and second.cvss_v3_score is None

    def test_going_back_restores_the_flat_fields(self) -> None:
        old = _migrate(BEFORE)
        self.old_advisory(
            old, "NW-2026-0003", cve_ids=["CVE-2026-1003"], cwe_ids=["CWE-918"],
            cvss_v4_vector="CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
            cvss_v4_score=Decimal("9.3"),
        )  # fmt: skip
        _migrate(_latest())
        back = _migrate(BEFORE)
        advisory = back.get_model("advisories", "Advisory").objects.get(identifier="NW-2026-0003")
        assert advisory.cve_ids == ["CVE-2026-1003"]
        assert advisory.cwe_ids == ["CWE-918"]
        assert advisory.cvss_v4_score == Decimal("9.3")

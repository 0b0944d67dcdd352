"""Issue #15 point 5: outreach follows each vulnerability's product status.

Customers of a version a vulnerability does not affect, or on a version it is fixed in,
are not told they are affected; reasons name the vulnerability and the status."""

from __future__ import annotations

from herald.advisories.actions import write_vulnerability
from herald.advisories.snapshot import AffectedSnapshot, VersionRange
from herald.core.models import Product
from herald.notify import actions
from herald.notify.customer_files import parse_customer_file
from herald.notify.scope import covers, verdict
from herald.test import HeraldTestCase, unused_cve

CUSTOMERS = """customer_id,organisation,region,contact_email,product,deployment,version
one5,On 1.5,EU,a@one5.example,p,self_hosted,1.5
one9,On 1.9,EU,a@one9.example,p,self_hosted,1.9
two1,On 2.1,EU,a@two1.example,p,self_hosted,2.1
unknown,Unknown,EU,a@unknown.example,p,self_hosted,
q1,Q one,EU,a@q1.example,q,self_hosted,1.0
q2,Q unknown,EU,a@q2.example,q,self_hosted,
"""
NOT_PRESENT = "vulnerable_code_not_present"


class StatusSelectionTests(HeraldTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        Product.objects.create(name="Product P", slug="p")
        Product.objects.create(name="Product Q", slug="q")
        actions.do_import_customers(parse_customer_file(CUSTOMERS), acting_user=cls.alice)

    def two_vulnerabilities(self) -> tuple[str, str, dict[str, tuple[str, ...]]]:
        cve_a, cve_b = unused_cve(), unused_cve("CVE-2026-22345")
        draft = self.draft(cve_ids=[cve_a], affected=[])
        a_rows = [
            {"product": "p", "deployment": "self_hosted", "fixed": "2.0", "status": "affected"},
            {"product": "q", "deployment": "self_hosted", "status": "not_affected",
             "justification": NOT_PRESENT},
        ]  # fmt: skip
        write_vulnerability(draft, acting_user=self.bob, position=0, rows=a_rows)
        b_rows = [
            {"product": "p", "deployment": "self_hosted", "version": "1.5",
             "status": "not_affected", "justification": NOT_PRESENT},
            {"product": "q", "deployment": "self_hosted", "status": "not_affected",
             "justification": NOT_PRESENT},
        ]  # fmt: skip
        write_vulnerability(draft, acting_user=self.bob, cve_id=cve_b, rows=b_rows)
        draft.refresh_from_db()
        assert [v.cve_id for v in draft.vulnerabilities.all()] == [cve_a, cve_b]
        chosen = {m.customer.external_id: m.reasons for m in actions.affected_customers(draft)}
        return cve_a, cve_b, chosen

    def test_each_vulnerability_selects_by_its_own_status_and_versions(self) -> None:
        cve_a, cve_b, chosen = self.two_vulnerabilities()
        # 2.1 is fixed for A and B never affects P; Q is not affected by either.
        assert sorted(chosen) == ["one5", "one9", "unknown"]
        for who in ("one5", "one9", "unknown"):
            (reason,) = chosen[who]  # A only: B says not affected (1.5) or nothing
            assert f"{cve_a} affected" in reason and "< 2.0" in reason
            assert cve_b not in reason
        assert "version not recorded" in chosen["unknown"][0]

    def test_a_product_every_row_of_which_is_not_affected_contacts_nobody(self) -> None:
        _, _, chosen = self.two_vulnerabilities()
        assert not {"q1", "q2"} & set(chosen)

    def test_the_publish_plan_counts_the_same_customers(self) -> None:
        from django.utils import timezone

        from herald.web.publish_plan import publish_plan

        cve_a, _, chosen = self.two_vulnerabilities()
        advisory = actions.Advisory.objects.get(vulnerabilities__cve_id=cve_a)
        advisory.confirmed_exposure = True
        advisory.save(update_fields=["confirmed_exposure"])
        plan = publish_plan(advisory, now=timezone.now())
        assert plan.outreach_customers == len(chosen) == 3

    def test_a_simple_advisory_with_shared_rows_names_its_cve(self) -> None:
        cve = unused_cve()
        draft = self.draft(
            cve_ids=[cve],
            affected=[{"product": "p", "deployment": "self_hosted", "fixed": "2.0"}],
        )
        chosen = {m.customer.external_id: m.reasons for m in actions.affected_customers(draft)}
        assert sorted(chosen) == ["one5", "one9", "unknown"]
        assert f"{cve} affected" in chosen["one9"][0]


def row(**values: object) -> AffectedSnapshot:
    return AffectedSnapshot(product="P", product_slug="p", deployment="sdk", **values)  # type: ignore[arg-type]


def test_ranges_lists_and_single_versions_say_which_versions_a_row_covers() -> None:
    events: tuple[dict[str, str], ...] = ({"introduced": "1.0"}, {"fixed": "1.4"})
    events += ({"introduced": "2.0"}, {"last_affected": "2.2"})
    osv = row(ranges=(VersionRange("ECOSYSTEM", events),))
    assert [covers(osv, v) for v in ("0.9", "1.3", "1.4", "2.1", "2.2", "2.3")] == [
        False, True, False, True, True, False,
    ]  # fmt: skip
    assert covers(row(versions=("1.1", "1.3")), "1.3") is True
    assert covers(row(versions=("1.1", "1.3")), "1.2") is False
    assert covers(row(version="1.5"), "1.5.0") is True
    assert covers(row(), "9.9") is True  # no versions: every version


def test_a_git_range_cannot_be_compared_so_an_affected_row_still_tells() -> None:
    git = row(ranges=(VersionRange("GIT", ({"introduced": "abc123"}, {"fixed": "def456"})),))
    assert covers(git, "1.0") is None
    found = verdict([git], "1.0")
    assert found is not None and "cannot be compared" in found.note
    assert verdict([replace_status(git, "not_affected")], "1.0") is None


def test_fixed_or_not_affected_for_the_version_wins_and_unknown_versions_are_told() -> None:
    everything = row(status="affected")
    assert verdict([everything, row(status="fixed", version="1.5")], "1.5") is None
    assert verdict([everything, row(status="fixed", version="1.5")], "1.6") is not None
    assert verdict([row(status="not_affected")], "") is None
    # Fixed with no version named (a service fixed in place): its users ran it before
    # the fix, so they are told, whatever their version.
    assert verdict([row(status="fixed")], "") is not None
    assert verdict([row(status="fixed")], "1.5") is not None
    assert verdict([row(status="not_affected")], "") is None
    assert verdict([row(status="under_investigation", fixed="2.0")], "") is not None
    cve_default = row(status="not_affected", versions=("1.0",), default_status="affected")
    assert verdict([cve_default], "1.0") is None
    assert verdict([cve_default], "1.1") is not None


def replace_status(r: AffectedSnapshot, status: str) -> AffectedSnapshot:
    from dataclasses import replace

    return replace(r, status=status)

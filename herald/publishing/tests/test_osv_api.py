"""The OSV-compatible query API: osv.dev's shapes, answered from the stored documents."""

from __future__ import annotations

import json
from typing import Any
from unittest import mock

from django.test import override_settings

from herald.core.models import Product
from herald.publication.actions import do_withdraw_advisory
from herald.publishing.models import Artifact
from herald.publishing.osvquery import osv_api
from herald.publishing.store.artifacts import regenerate
from herald.publishing.tests.surfaces_support import WiredArtifacts, artifact
from herald.test import HeraldTestCase


def osv_id(advisory: Any) -> str:
    """The OSV id Herald gives an advisory by default: "x_" (a local database)."""
    return f"x_{advisory.identifier}"


SHA_A = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
SHA_B = "9c1185a5c5e9fc54612808977ee8f548b2258d31"


@override_settings(ROOT_URLCONF="herald.publishing.tests.osv_test_urls")
class OsvApiTests(WiredArtifacts, HeraldTestCase):
    def setUp(self) -> None:
        super().setUp()
        Product.objects.create(
            name="northwind-sdk", slug="sdk", ecosystem="PyPI", package_name="Northwind_SDK"
        )
        Product.objects.create(
            name="Northwind Proxy", slug="proxy", repository_url="https://github.com/nw/proxy"
        )
        Product.objects.create(name="Northwind Server", slug="server")
        self.sdk = self.published(
            title="Token leak in the SDK",
            affected=[
                {"product": "sdk", "deployment": "sdk", "introduced": "1.0.0", "fixed": "1.4.2"},
                {"product": "sdk", "deployment": "sdk", "introduced": "2.0.0", "fixed": "2.0.3"},
            ],
        )
        self.server = self.published(
            title="Path traversal in the server",
            cve_ids=[],
            affected=[
                {
                    "product": "server",
                    "deployment": "self_hosted",
                    "introduced": "2024.1",
                    "last_affected": "2025.9",
                }
            ],
        )
        self.proxy = self.published(
            title="Header smuggling in the proxy",
            cve_ids=["CVE-2026-22222"],
            affected=[
                {"product": "proxy", "deployment": "self_hosted", "introduced": SHA_A,
                 "fixed": SHA_B}
            ],
        )  # fmt: skip

    def post(self, path: str, body: Any) -> tuple[int, Any]:
        response = self.client.post(path, json.dumps(body), content_type="application/json")
        return response.status_code, response.json()

    def test_a_package_version_in_a_range_finds_the_advisory(self) -> None:
        status, body = self.post(
            "/v1/query",
            {"version": "1.4.1", "package": {"name": "northwind-sdk", "ecosystem": "PyPI"}},
        )
        assert status == 200
        assert [v["id"] for v in body["vulns"]] == [osv_id(self.sdk)]
        assert body["vulns"][0] == json.loads(artifact(f"osv/{osv_id(self.sdk)}.json"))

    def test_fixed_and_unlisted_versions_find_nothing(self) -> None:
        for version in ("1.4.2", "0.9", "1.10.0", "2.0.3"):
            status, body = self.post(
                "/v1/query",
                {"version": version, "package": {"name": "northwind-sdk", "ecosystem": "PyPI"}},
            )
            assert (status, body) == (200, {}), version
        status, body = self.post(
            "/v1/query",
            {"version": "2.0.2", "package": {"name": "northwind-sdk", "ecosystem": "PyPI"}},
        )
        assert [v["id"] for v in body["vulns"]] == [osv_id(self.sdk)]

    def test_pypi_names_match_as_pep_503_normalises_them_and_purls_work(self) -> None:
        _, body = self.post("/v1/query", {"package": {"purl": "pkg:pypi/northwind.sdk@1.2"}})
        assert [v["id"] for v in body["vulns"]] == [osv_id(self.sdk)]

    def test_vendor_products_are_under_the_vendors_ecosystem_in_natural_order(self) -> None:
        query = {"package": {"name": "Northwind Server", "ecosystem": "Northwind"}}
        _, body = self.post("/v1/query", {**query, "version": "2025.10"})
        assert body == {}
        _, body = self.post("/v1/query", {**query, "version": "2025.9"})
        assert [v["id"] for v in body["vulns"]] == [osv_id(self.server)]
        _, body = self.post("/v1/query", query)
        assert [v["id"] for v in body["vulns"]] == [osv_id(self.server)]

    def test_a_commit_named_as_affected_finds_the_advisory_and_the_fix_does_not(self) -> None:
        _, body = self.post("/v1/query", {"commit": SHA_A})
        assert [v["id"] for v in body["vulns"]] == [osv_id(self.proxy)]
        _, body = self.post("/v1/query", {"commit": SHA_B})
        assert body == {}

    def test_withdrawn_advisories_match_no_query_but_are_served_by_id(self) -> None:
        do_withdraw_advisory(self.sdk, acting_user=self.bob, reason="Duplicate.")
        _, body = self.post(
            "/v1/query",
            {"version": "1.4.1", "package": {"name": "northwind-sdk", "ecosystem": "PyPI"}},
        )
        assert body == {}
        response = self.client.get(f"/v1/vulns/{osv_id(self.sdk)}")
        assert response.status_code == 200
        assert "withdrawn" in response.json()

    def test_ids_from_before_the_prefix_still_answer_where_they_were_served(self) -> None:
        """Nothing already published moves: an advisory served under its identifier
        before OSV ids took x_ answers by both; one published since by its OSV id only."""
        with override_settings(HERALD_OSV_ID_PREFIX=""):
            old = self.published(title="Served before the prefix")
        regenerate([old])
        document = artifact(f"osv/{osv_id(old)}.json")
        answer = self.client.get(f"/v1/vulns/{old.identifier}")
        assert answer.status_code == 200 and answer.content == document
        assert artifact(f"osv/{old.identifier}.json") == document
        assert old.identifier in json.loads(document)["aliases"]
        assert self.client.get(f"/v1/vulns/{self.server.identifier}").status_code == 404
        # Not stored yet (a site regenerated later): rendered, by its OSV id.
        Artifact.objects.filter(path__startswith="osv/").delete()
        answer = self.client.get(f"/v1/vulns/{osv_id(self.server)}")
        assert answer.status_code == 200 and answer.json()["id"] == osv_id(self.server)

    @override_settings(HERALD_OSV_ID_PREFIX="")
    def test_a_registered_prefix_makes_the_identifier_the_id(self) -> None:
        another = self.published(title="Another", cve_ids=["CVE-2026-30000"])
        body = self.client.get(f"/v1/vulns/{another.identifier}").json()
        assert body["id"] == another.identifier
        assert body["aliases"] == ["CVE-2026-30000"]

    def test_get_by_id_serves_the_stored_bytes_and_drafts_do_not_exist(self) -> None:
        response = self.client.get(f"/v1/vulns/{osv_id(self.server)}")
        assert response.content == artifact(f"osv/{osv_id(self.server)}.json")
        assert response["Content-Type"] == "application/json"
        draft = self.draft(title="Embargoed")
        missing = self.client.get(f"/v1/vulns/{osv_id(draft)}")
        unknown = self.client.get("/v1/vulns/NW-2026-9999")
        assert missing.status_code == unknown.status_code == 404
        assert missing.json() == unknown.json() == {"code": 5, "message": "Bug not found."}

    def test_batch_answers_ids_and_modified_per_query_in_order(self) -> None:
        status, body = self.post(
            "/v1/querybatch",
            {
                "queries": [
                    {"package": {"name": "northwind-sdk", "ecosystem": "PyPI"}, "version": "1.0.0"},
                    {"package": {"name": "nothing", "ecosystem": "npm"}, "version": "1.0.0"},
                    {"commit": SHA_A},
                ]
            },
        )
        assert status == 200
        first, second, third = body["results"]
        assert first["vulns"] == [
            {
                "id": osv_id(self.sdk),
                "modified": json.loads(artifact(f"osv/{osv_id(self.sdk)}.json"))["modified"],
            }
        ]
        assert second == {}
        assert [v["id"] for v in third["vulns"]] == [osv_id(self.proxy)]

    def test_long_answers_are_paged_with_a_token_for_the_same_query(self) -> None:
        self.published(
            title="Second SDK issue",
            cve_ids=[],
            affected=[{"product": "sdk", "deployment": "sdk", "fixed": "3.0.0"}],
        )
        query = {"package": {"name": "northwind-sdk", "ecosystem": "PyPI"}, "version": "1.1.0"}
        with mock.patch.object(osv_api, "QUERY_PAGE_SIZE", 1):
            status, first = self.post("/v1/query", query)
            assert len(first["vulns"]) == 1 and first["next_page_token"]
            status, second = self.post(
                "/v1/query", {**query, "page_token": first["next_page_token"]}
            )
            assert len(second["vulns"]) == 1 and "next_page_token" not in second
            assert first["vulns"][0]["id"] != second["vulns"][0]["id"]
            status, other = self.post(
                "/v1/query",
                {"package": {"name": "northwind-sdk", "ecosystem": "PyPI"},
                 "page_token": first["next_page_token"]},
            )  # fmt: skip
            assert status == 400 and other["code"] == 3

    def test_the_api_answers_per_vulnerability_of_an_advisory_with_two_cves(self) -> None:
        both = self.published(
            title="Two flaws in the SDK",
            cve_ids=["CVE-2026-30001", "CVE-2026-30002"],
            affected=[{"product": "sdk", "deployment": "sdk", "introduced": "5.0.0"}],
        )
        ids = [osv_id(both), f"{osv_id(both)}-2"]
        query = {"package": {"name": "northwind-sdk", "ecosystem": "PyPI"}, "version": "5.1.0"}
        status, body = self.post("/v1/query", query)
        assert status == 200
        assert [v["id"] for v in body["vulns"]] == ids
        assert [v["aliases"] for v in body["vulns"]] == [["CVE-2026-30001"], ["CVE-2026-30002"]]
        second = self.client.get(f"/v1/vulns/{ids[1]}")
        assert second.status_code == 200 and second.json()["aliases"] == ["CVE-2026-30002"]
        # Not stored (yet): rendered from the advisory, the same document.
        Artifact.objects.filter(path=f"osv/{ids[1]}.json").delete()
        assert self.client.get(f"/v1/vulns/{ids[1]}").json() == second.json()
        assert self.client.get(f"/v1/vulns/{osv_id(both)}-3").status_code == 404

    def test_bad_queries_get_osv_dev_error_shape(self) -> None:
        bodies: tuple[Any, ...] = (
            {"version": "1.0"},
            {"commit": "not-a-sha"},
            {"package": {"purl": "pkg:pypi/x", "name": "x"}},
            {"package": {"name": 3}},
            [],
        )
        for body in bodies:
            status, answer = self.post("/v1/query", body)
            assert status == 400, body
            assert answer["code"] == 3 and answer["message"], body
        response = self.client.post("/v1/query", b"{nope", content_type="application/json")
        assert response.status_code == 400
        assert self.client.get("/v1/query").status_code == 405


def test_versions_compare_by_ecosystem_rules() -> None:
    entry = {
        "package": {"ecosystem": "Maven", "name": "org.example:lib"},
        "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "2.0-beta9"},
                                                       {"fixed": "2.15.0"}]}],
    }  # fmt: skip
    assert osv_api.affects("2.14.1", entry)
    assert osv_api.affects("2.0", entry)
    assert not osv_api.affects("2.15.0", entry)
    assert not osv_api.affects("2.3.1.Final", {**entry, "ranges": []})
    empty_fix = {
        "package": {"ecosystem": "PyPI", "name": "x"},
        "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": ""}]}],
    }
    assert osv_api.affects("99.0", empty_fix)

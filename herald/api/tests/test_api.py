"""The public REST API: only public advisories, filters, pages, errors, and its OpenAPI document."""

from __future__ import annotations

import datetime as dt
import json
from io import StringIO
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from herald.advisories.models import Advisory
from herald.advisories.serialize import advisory_to_dict
from herald.advisories.snapshot import snapshot_of
from herald.core.models import Product
from herald.publication.actions import (
    do_mark_fixed,
    do_resolve_advisory,
    do_update_advisory,
    do_withdraw_advisory,
)
from herald.test import HeraldTestCase

API = "/api/v1"


class ApiTestCase(HeraldTestCase):
    def setUp(self) -> None:
        self.client = Client(HTTP_HOST="localhost")

    def get(self, path: str, expect: int = 200, **params: Any) -> Any:
        response = self.client.get(f"{API}{path}", params)
        assert response.status_code == expect, response.content
        assert response["Content-Type"] == "application/json; charset=utf-8"
        return response.json()

    def listed(self, **params: Any) -> list[str]:
        return [a["identifier"] for a in self.get("/advisories", **params)["results"]]


class PublicOnlyTests(ApiTestCase):
    def test_the_list_holds_published_and_withdrawn_advisories_never_drafts(self) -> None:
        draft = self.draft(cve_ids=["CVE-2026-0001"])
        published = self.published(cve_ids=["CVE-2026-0002"])
        withdrawn = do_withdraw_advisory(
            self.published(cve_ids=["CVE-2026-0003"]), acting_user=self.bob, reason="Duplicate"
        )
        page = self.get("/advisories")
        assert page["count"] == 2
        assert sorted(self.listed()) == sorted([published.identifier, withdrawn.identifier])
        assert draft.identifier not in json.dumps(page)
        assert "CVE-2026-0001" not in json.dumps(page)

    def test_a_draft_is_not_found_exactly_like_an_unknown_identifier(self) -> None:
        draft = self.draft(cve_ids=["CVE-2026-0001"])
        self.published(cve_ids=["CVE-2026-0002"])
        for hidden, unknown in (
            (draft.identifier, "NW-2026-9999"),
            ("CVE-2026-0001", "CVE-2026-9999"),
        ):
            seen = self.client.get(f"{API}/advisories/{hidden}")
            missing = self.client.get(f"{API}/advisories/{unknown}")
            assert (seen.status_code, missing.status_code) == (404, 404)
            assert seen.content == missing.content
            assert sorted(seen.headers.items()) == sorted(missing.headers.items())
        assert json.loads(seen.content) == {
            "detail": "No published advisory has this identifier or CVE id.",
            "errors": [],
        }

    def test_a_published_advisory_is_found_by_identifier_or_cve_id(self) -> None:
        advisory = self.published(cve_ids=["CVE-2026-1111", "CVE-2026-2222"])
        by_identifier = self.get(f"/advisories/{advisory.identifier}")
        assert by_identifier["identifier"] == advisory.identifier
        assert self.get("/advisories/cve-2026-2222")["identifier"] == advisory.identifier

    def test_the_detail_is_what_the_cli_prints_without_the_desk_keys(self) -> None:
        advisory = self.published(
            cvss_v3_vector="CVSS:3.1/AV:N/AC:L/PR:L/UI:R/S:C/C:L/I:L/A:N",
            affected=[{"product": "cloud", "introduced": "1.0", "fixed": "1.4", "region": "US"}],
            credits=[{"name": "Jane", "type": "FINDER"}],
            references=[{"url": "https://github.com/example/app/pull/1", "type": "FIX"}],
        )
        api = self.get(f"/advisories/{advisory.identifier}")
        out = StringIO()
        call_command("advisory", "show", advisory.identifier, "--json", stdout=out)
        cli = json.loads(out.getvalue())
        for key in ("incident", "version", "embargo_until", "scheduled_publish_at"):
            cli.pop(key)
        assert api == cli
        assert api == advisory_to_dict(snapshot_of(advisory))
        assert api["cvss_v3_score"] == 5.4
        assert api["affected"][0]["version_range"] == ">= 1.0, < 1.4"
        assert [r["kind"] for r in api["revisions"]] == ["published"]
        assert "incident" not in api

    def test_list_items_carry_no_revision_history(self) -> None:
        self.published()
        assert "revisions" not in self.get("/advisories")["results"][0]


class FilterTests(ApiTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.sdk = Product.objects.create(name="Northwind SDK", slug="sdk")
        self.reported = self.published(
            title="Reported", status="reported", fixed_at=None, severity="high",
            cve_ids=["CVE-2026-12345"], affected=[{"product": "sdk", "deployment": "sdk"}],
        )  # fmt: skip
        self.fixed = self.published(title="Fixed", cve_ids=["CVE-2026-1234"])
        self.resolved = do_resolve_advisory(
            self.published(title="Resolved", cve_ids=["CVE-2026-5555"]),
            acting_user=self.bob,
        )
        self.withdrawn = do_withdraw_advisory(
            self.published(title="Withdrawn", cve_ids=["CVE-2026-6666"]),
            acting_user=self.bob,
            reason="Not a vulnerability",
        )
        self.draft(title="Draft", cve_ids=["CVE-2026-7777"], severity="high")

    def test_status_filter(self) -> None:
        assert self.listed(status="reported") == [self.reported.identifier]
        assert self.listed(status="resolved") == [self.resolved.identifier]

    def test_severity_filter(self) -> None:
        assert self.listed(severity="high") == [self.reported.identifier]

    def test_cve_filter_matches_whole_ids_only(self) -> None:
        assert self.listed(cve="CVE-2026-1234") == [self.fixed.identifier]
        assert self.listed(cve="cve-2026-12345") == [self.reported.identifier]
        assert self.listed(cve="CVE-2026-0404") == []
        assert self.listed(cve="CVE-2026-7777") == []  # a draft's

    def test_product_filter(self) -> None:
        assert self.listed(product="sdk") == [self.reported.identifier]

    def test_state_current_and_past(self) -> None:
        assert sorted(self.listed(state="current")) == sorted(
            [self.reported.identifier, self.fixed.identifier]
        )
        assert sorted(self.listed(state="past")) == sorted(
            [self.resolved.identifier, self.withdrawn.identifier]
        )
        page = self.get("/advisories", state="current")
        assert all(a["current"] for a in page["results"])

    def test_updated_since(self) -> None:
        cutoff = timezone.now()
        later = do_mark_fixed(
            self.reported, acting_user=self.bob, fixed_at="2026-01-12",
            resolution="Fixed in 2.1.", change_summary="Fixed.",
        )  # fmt: skip
        assert self.listed(updated_since=cutoff.isoformat()) == [later.identifier]
        # Without an offset the moment is UTC.
        naive = cutoff.astimezone(dt.UTC).replace(tzinfo=None).isoformat()
        assert self.listed(updated_since=naive) == [later.identifier]
        assert len(self.listed(updated_since="2000-01-01")) == 4

    def test_filters_combine(self) -> None:
        assert self.listed(state="current", severity="medium") == [self.fixed.identifier]
        assert self.listed(state="past", status="reported") == []


class PaginationTests(ApiTestCase):
    def test_limit_and_offset_walk_every_page_with_next_and_previous(self) -> None:
        advisories = [self.published(title=f"Advisory {i}") for i in range(5)]
        newest_first = [a.identifier for a in reversed(advisories)]
        page = self.get("/advisories", limit=2, severity="medium")
        assert page["count"] == 5
        assert page["previous"] is None
        seen = [a["identifier"] for a in page["results"]]
        while page["next"]:
            url = urlsplit(page["next"])
            assert url.netloc == "localhost"
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            assert query["severity"] == "medium"  # filters survive paging
            page = self.get("/advisories", **{k: v for k, v in query.items()})
            seen += [a["identifier"] for a in page["results"]]
        assert seen == newest_first
        previous = {k: v[0] for k, v in parse_qs(urlsplit(page["previous"]).query).items()}
        assert (previous["offset"], previous["limit"]) == ("2", "2")

    def test_an_offset_past_the_end_is_an_empty_page(self) -> None:
        self.published()
        page = self.get("/advisories", offset=10)
        assert (page["count"], page["results"], page["next"]) == (1, [], None)


class InvalidParameterTests(ApiTestCase):
    def assert_invalid(self, parameter: str, **params: Any) -> dict[str, Any]:
        body: dict[str, Any] = self.get("/advisories", expect=422, **params)
        assert [e["parameter"] for e in body["errors"]] == [parameter]
        assert f"'{parameter}'" in body["detail"]
        return body

    def test_each_invalid_parameter_is_named(self) -> None:
        self.assert_invalid("limit", limit=0)
        self.assert_invalid("limit", limit=101)
        self.assert_invalid("limit", limit="ten")
        self.assert_invalid("offset", offset=-1)
        self.assert_invalid("status", status="draft")
        self.assert_invalid("severity", severity="urgent")
        self.assert_invalid("state", state="draft")
        self.assert_invalid("updated_since", updated_since="last week")
        body = self.assert_invalid("cve", cve="CVE-26-1")
        assert body["errors"][0]["message"] == "Not a CVE id (CVE-YYYY-NNNN, four or more digits)"

    def test_an_unknown_product_is_named(self) -> None:
        body = self.assert_invalid("product", product="toaster")
        assert "No product 'toaster'" in body["detail"]

    def test_an_unknown_parameter_is_named_not_ignored(self) -> None:
        self.assert_invalid("sevrity", sevrity="high")


class ErrorShapeTests(ApiTestCase):
    def test_unknown_paths_under_the_api_get_a_json_404(self) -> None:
        assert self.get("/nothing-here", expect=404) == {"detail": "Not found.", "errors": []}

    def test_the_interactive_docs_page_is_not_served(self) -> None:
        response = self.client.get(f"{API}/docs")
        assert response.status_code == 404
        assert b"swagger" not in response.content.lower()


class ProductTests(ApiTestCase):
    def test_products_are_listed_by_name_with_their_slugs(self) -> None:
        Product.objects.create(
            name="Agent", slug="agent", ecosystem="PyPI", package_name="nw-agent"
        )
        body = self.get("/products")
        assert body["count"] == 2
        assert [p["slug"] for p in body["results"]] == ["agent", "cloud"]
        assert body["results"][0]["package_name"] == "nw-agent"


class OpenApiTests(ApiTestCase):
    def test_the_document_describes_every_path_and_schema(self) -> None:
        response = self.client.get(f"{API}/openapi.json")
        assert response.status_code == 200
        document = json.loads(response.content)
        assert document["openapi"].startswith("3.")
        assert {
            f"{API}/advisories",
            f"{API}/advisories/{{id}}",
            f"{API}/products",
        } <= set(document["paths"])
        assert f"{API}/reports" in document["paths"]  # the intake app's endpoints
        schemas = document["components"]["schemas"]
        for name in ("Advisory", "AdvisoryDetail", "AdvisoryPage", "Affected", "Credit",
                     "Reference", "Revision", "Product", "ProductList", "Error"):  # fmt: skip
            assert name in schemas
        # Every reference resolves, and the state admits no draft.
        text = json.dumps(document)
        for ref in {
            part.split('"')[0] for part in text.split('"$ref": "#/components/schemas/')[1:]
        }:
            assert ref in schemas
        assert schemas["Advisory"]["properties"]["state"]["enum"] == ["published", "withdrawn"]
        parameters = {
            p["name"] for p in document["paths"][f"{API}/advisories"]["get"]["parameters"]
        }
        assert parameters == {
            "status",
            "severity",
            "cve",
            "product",
            "state",
            "updated_since",
            "limit",
            "offset",
        }
        listing = document["paths"][f"{API}/advisories"]["get"]["responses"]
        assert set(listing) == {"200", "400", "404", "422"}

    def test_the_document_passes_the_openapi_validator(self) -> None:
        validator = pytest.importorskip("openapi_spec_validator")
        document = json.loads(self.client.get(f"{API}/openapi.json").content)
        validator.validate(document)

    def test_responses_match_the_documented_schemas(self) -> None:
        jsonschema = pytest.importorskip("jsonschema")
        document = json.loads(self.client.get(f"{API}/openapi.json").content)
        self.published(affected=[{"product": "cloud"}], credits=[{"name": "Jane"}])
        for path, name in (
            ("/advisories", "AdvisoryPage"),
            (f"/advisories/{Advisory.objects.get().identifier}", "AdvisoryDetail"),
            ("/products", "ProductList"),
        ):
            # The schema inside its document, so that its $refs resolve.
            schema = {**document["components"]["schemas"][name],
                      "components": document["components"]}  # fmt: skip
            jsonschema.validate(self.get(path), schema)

    def test_a_withdrawn_and_resolved_advisory_still_validates(self) -> None:
        advisory = self.published()
        do_update_advisory(
            advisory, acting_user=self.bob, change_summary="More detail", summary="Short."
        )
        do_withdraw_advisory(advisory, acting_user=self.bob, reason="Duplicate")
        body = self.get(f"/advisories/{advisory.identifier}")
        assert [r["kind"] for r in body["revisions"]] == ["published", "updated", "withdrawn"]
        assert body["state"] == "withdrawn"

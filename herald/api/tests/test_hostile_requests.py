"""Requests at the edges (huge numbers, the ends of the calendar, NUL characters) get a
clear 4xx in the documented shape, never a server error, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import json
from typing import Any, cast

from django.contrib.auth.models import User
from django.test import Client

from herald.accounts.actions import do_create_token
from herald.advisories.models import Advisory
from herald.test import HeraldTestCase

API = "/api/v1"


class HostileRequestTestCase(HeraldTestCase):
    def setUp(self) -> None:
        self.client = Client(HTTP_HOST="localhost", raise_request_exception=False)
        _, self.token = do_create_token(
            user=self.bob,
            name="edges",
            scopes=["read", "write", "publish"],
            days=1,
            acting_user=self.bob,
        )

    def bearer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def refused(self, response: Any, status: int) -> dict[str, Any]:
        assert response.status_code == status, response.content
        body: dict[str, Any] = response.json()
        assert set(body) == {"detail", "errors"}
        assert body["detail"]
        return body


class HugeNumbersAndDatesTests(HostileRequestTestCase):
    def test_an_offset_past_64_bits_is_a_422_naming_offset(self) -> None:
        for path in ("/advisories", "/desk/advisories"):
            with self.subTest(path=path):
                body = self.refused(
                    self.client.get(f"{API}{path}?offset={2**63}", headers=self.bearer()), 422
                )
                assert [e["parameter"] for e in body["errors"]] == ["offset"]

    def test_updated_since_at_the_ends_of_the_calendar_is_answered(self) -> None:
        self.published()
        for value, status in (
            ("0001-01-01T00:00:00+23:59", 422),
            ("9999-12-31T23:59:59-23:59", 422),
            ("0001-01-01T00:00:00", 200),
            ("9999-12-31T23:59:59Z", 200),
        ):
            with self.subTest(updated_since=value):
                response = self.client.get(f"{API}/advisories", {"updated_since": value})
                assert response.status_code == status, response.content
                if status == 422:
                    assert response.json()["errors"][0]["parameter"] == "updated_since"

    def test_an_expected_version_past_64_bits_is_a_422(self) -> None:
        draft = self.draft()
        response = self.client.patch(
            f"{API}/desk/advisories/{draft.identifier}",
            {"expected_version": 2**64, "title": "x"},
            content_type="application/json",
            headers=self.bearer(),
        )
        body = self.refused(response, 422)
        assert body["errors"][0]["parameter"] == "expected_version"

    def test_an_embargo_past_the_calendar_is_a_422_and_nothing_is_written(self) -> None:
        response = self.client.post(
            f"{API}/desk/advisories",
            {"title": "Edge", "embargo_until": "9999-12-31T23:59:59-12:00"},
            content_type="application/json",
            headers=self.bearer(),
        )
        body = self.refused(response, 422)
        assert body["errors"][0]["parameter"] == "embargo_until"
        assert not Advisory.objects.filter(title="Edge").exists()

    def test_a_year_past_9999_in_the_archive_is_not_found(self) -> None:
        for year in ("10000", str(2**63), "0"):
            with self.subTest(year=year):
                response = Client(raise_request_exception=False).get(
                    f"/security/advisories/archive/{year}/"
                )
                assert response.status_code == 404


class NulCharacterTests(HostileRequestTestCase):
    def test_a_nul_in_a_path_or_query_is_a_400_naming_where(self) -> None:
        for url, where in (
            (f"{API}/advisories/HRLD-2026-%00", "address"),
            (f"{API}/advisories?product=a%00b", "'product'"),
            (f"{API}/desk/advisories/NW-%00", "address"),
            (f"{API}/reports/thread/abc%00", "address"),
            (f"{API}/products?x%00=1", "'x'"),
        ):
            with self.subTest(url=url):
                body = self.refused(self.client.get(url, headers=self.bearer()), 400)
                assert where in body["detail"]
                assert "NUL" in body["detail"]

    def test_a_nul_in_a_json_body_is_a_400_and_nothing_is_written(self) -> None:
        for payload in ({"title": "Edge\u0000"}, {"title": "Edge", "summary": "a\\\u0000"}):
            with self.subTest(payload=payload):
                response = self.client.post(
                    f"{API}/desk/advisories",
                    json.dumps(payload),
                    content_type="application/json",
                    headers=self.bearer(),
                )
                assert "NUL" in self.refused(response, 400)["detail"]
        assert not Advisory.objects.filter(title__startswith="Edge").exists()

    def test_an_escaped_backslash_before_u0000_is_text_not_a_nul(self) -> None:
        response = self.client.post(
            f"{API}/desk/advisories",
            json.dumps({"title": "Edge \\u0000 as text"}),
            content_type="application/json",
            headers=self.bearer(),
        )
        assert response.status_code == 201, response.content
        assert response.json()["title"] == "Edge \\u0000 as text"

    def test_a_nul_in_pages_and_forms_is_a_400_page_that_says_so(self) -> None:
        client = Client(raise_request_exception=False)
        for response in (
            client.get("/security/advisories/NW-%00/"),
            client.get("/security/advisories/?q=%00"),
            client.post("/security/subscribe/", {"email": "a\x00@example.com"}),
            client.post("/security/report/", {"email": "a@example.com", "title": "\x00"}),
        ):
            with self.subTest(url=response.request["PATH_INFO"]):
                assert response.status_code == 400
                assert "NUL character" in response.content.decode()
                # A reporter is told the report was not taken, and how to keep their text.
                assert "Nothing was saved. Go back to change what you sent" in (
                    response.content.decode()
                )

    def test_a_refused_desk_post_keeps_the_desk_layout_and_a_way_back(self) -> None:
        client = Client(raise_request_exception=False)
        client.force_login(cast(User, self.bob))
        too_big = {"title": "x" * 2_700_000}
        for response in (
            client.post("/desk/incidents/new/", {"title": "\x00"}),
            client.post("/desk/incidents/new/", too_big),
            client.get("/desk/search/?q=%00"),  # refused before the session is read
        ):
            with self.subTest(status=response.status_code):
                assert response.status_code in (400, 413)
                page = response.content.decode()
                assert "Herald desk" in page and 'href="/desk/"' in page
                assert "Security contact:" not in page

    def test_a_refused_public_post_names_the_vendor_and_its_contact(self) -> None:
        from herald.core.models import VendorProfile

        vendor = VendorProfile.get()
        client = Client(raise_request_exception=False)
        response = client.post("/security/subscribe/", {"email": "a\x00@example.com"})
        assert response.status_code == 400
        page = response.content.decode()
        assert f"{vendor.name} · Security contact: <a" in page
        assert f"mailto:{vendor.security_contact}" in page

    def test_a_nul_in_an_osv_query_is_answered_in_osv_shape(self) -> None:
        response = Client(raise_request_exception=False).post(
            "/v1/query",
            json.dumps({"package": {"name": "a\u0000", "ecosystem": "PyPI"}}),
            content_type="application/json",
        )
        assert response.status_code == 400
        assert response.json()["code"] == 3
        assert "NUL" in response.json()["message"]

    def test_form_data_sent_to_json_apis_gets_their_own_error(self) -> None:
        client = Client(raise_request_exception=False)
        osv = client.post("/v1/query", {"package": "x"})
        assert osv.status_code == 400 and osv.json()["code"] == 3
        desk = client.post(f"{API}/desk/advisories", {"title": "x"}, headers=self.bearer())
        assert 400 <= desk.status_code < 500 and set(desk.json()) == {"detail", "errors"}

    def test_a_query_of_a_thousand_parameters_is_a_400_in_the_api_shape(self) -> None:
        query = "&".join(f"p{i}=1" for i in range(1001))
        body = self.refused(self.client.get(f"{API}/advisories?{query}"), 400)
        assert "Too many query parameters" in body["detail"]

    def test_unreadable_form_data_is_a_400_that_says_so(self) -> None:
        response = Client(raise_request_exception=False).post(
            "/security/subscribe/",
            b"--x\r\nbroken",
            content_type="multipart/form-data; boundary=",
        )
        assert response.status_code == 400
        assert b"The form data cannot be read" in response.content

    def test_a_malformed_report_names_the_field_as_the_reports_document_says(self) -> None:
        response = self.client.post(
            f"{API}/reports",
            json.dumps({"email": "a@example.com", "title": "t", "body": "b", "attachments": 1}),
            content_type="application/json",
        )
        body = self.refused(response, 422)
        assert body["errors"] == [{"field": "attachments", "message": body["errors"][0]["message"]}]

    def test_the_document_lists_the_refusals_on_every_operation(self) -> None:
        document = self.client.get(f"{API}/openapi.json").json()
        for path, methods in document["paths"].items():
            for method, operation in methods.items():
                with self.subTest(operation=f"{method} {path}"):
                    assert "400" in operation["responses"]
                    if method in ("post", "patch"):
                        assert "413" in operation["responses"]

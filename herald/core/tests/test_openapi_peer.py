"""The OpenAPI test peer catches what a real service would refuse, and only that."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import pytest

from herald.test import shared_path
from herald.test_openapi import OpenAPIPeer

DOC: dict[str, Any] = {
    "openapi": "3.0.2",
    "info": {"title": "t", "version": "1"},
    "paths": {
        "/things": {
            "post": {
                "operationId": "thingCreate",
                "parameters": [
                    {"$ref": "#/components/parameters/key"},
                    {
                        "in": "query",
                        "name": "amount",
                        "required": True,
                        "schema": {"type": "integer", "minimum": 1},
                    },
                ],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}
                    },
                },
                "responses": {
                    "200": {
                        "description": "made",
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/Thing"},
                                "example": {"name": "example", "note": None},
                            }
                        },
                    },
                    "503": {"description": "busy"},
                },
            }
        },
        "/things/{id}": {
            "get": {
                "operationId": "thingGet",
                "parameters": [
                    {"in": "path", "name": "id", "required": True, "schema": {"type": "integer"}}
                ],
                "responses": {"200": {"description": "one"}},
            }
        },
    },
    "components": {
        "parameters": {
            "key": {"in": "header", "name": "X-Key", "required": True, "schema": {"type": "string"}}
        },
        "schemas": {
            "Thing": {
                "type": "object",
                "required": ["name"],
                "properties": {
                    "name": {"type": "string"},
                    "note": {"type": "string", "nullable": True},
                },
                "additionalProperties": False,
            }
        },
    },
}


def send(
    url: str, method: str = "GET", body: Any = None, headers: dict[str, str] | None = None
) -> tuple[int, Any, dict[str, str]]:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})  # noqa: S310  (loopback)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:  # noqa: S310  (loopback)
            raw = resp.read()
            return resp.status, json.loads(raw) if raw else None, dict(resp.headers)
    except urllib.error.HTTPError as err:
        raw = err.read()
        return err.code, json.loads(raw) if raw else None, dict(err.headers)


def test_a_documented_request_passes_and_gets_the_documented_example() -> None:
    with OpenAPIPeer(DOC, base_path="/api") as peer:
        status, body, _ = send(
            peer.url + "/things?amount=2", "POST", {"name": "a", "note": None}, {"X-Key": "k"}
        )
        assert (status, body) == (200, {"name": "example", "note": None})
        assert send(peer.url + "/things/7")[0] == 200
    peer.assert_clean()
    first = peer.requests[0]
    assert (first.method, first.path, first.query, first.json) == (
        "POST",
        "/api/things",
        {"amount": ["2"]},
        {"name": "a", "note": None},
    )
    assert first.header("x-key") == "k" and first.operation_id == "thingCreate"


@pytest.mark.parametrize(
    ("method", "path", "body", "headers", "status", "expected"),
    [
        ("GET", "/nothing", None, {}, 404, "describes no such path"),
        ("DELETE", "/things/1", None, {}, 404, "describes no DELETE on this path"),
        ("POST", "/things?amount=1", {"name": "a"}, {}, 400, "'X-Key' is missing"),
        ("POST", "/things?amount=0", {"name": "a"}, {"X-Key": "k"}, 400, "less than the minimum"),
        ("POST", "/things?amount=x", {"name": "a"}, {"X-Key": "k"}, 400, "is not a integer"),
        (
            "POST",
            "/things?amount=1&x=2",
            {"name": "a"},
            {"X-Key": "k"},
            400,
            "'x' is not documented",
        ),
        ("POST", "/things?amount=1", {"nom": "a"}, {"X-Key": "k"}, 400, "'name' is a required"),
        ("POST", "/things?amount=1", {"name": 3}, {"X-Key": "k"}, 400, "3 is not of type 'string'"),
        ("POST", "/things?amount=1", None, {"X-Key": "k"}, 400, "required request body"),
        ("GET", "/things/abc", None, {}, 400, "'id'"),
    ],
)
def test_a_request_the_document_does_not_allow_is_a_violation(
    method: str, path: str, body: Any, headers: dict[str, str], status: int, expected: str
) -> None:
    with OpenAPIPeer(DOC) as peer:
        assert send(peer.url + path, method, body, headers)[0] == status
    assert len(peer.violations) >= 1
    assert expected in "\n".join(peer.violations), peer.violations
    assert method in peer.violations[0]
    with pytest.raises(AssertionError):
        peer.assert_clean()


def test_answers_are_used_in_order_and_the_last_one_stays() -> None:
    with OpenAPIPeer(DOC) as peer:
        peer.respond("thingCreate", status=503, headers={"Retry-After": "7"})
        peer.respond(("post", "/things"), status=200, body=lambda r: {"name": r.json["name"]})
        url, key = peer.url + "/things?amount=1", {"X-Key": "k"}
        status, _, headers = send(url, "POST", {"name": "a"}, key)
        assert (status, headers["Retry-After"]) == (503, "7")
        assert send(url, "POST", {"name": "b"}, key)[:2] == (200, {"name": "b"})
        assert send(url, "POST", {"name": "c"}, key)[:2] == (200, {"name": "c"})
        # An answer that stayed gives way to the next one queued.
        peer.respond("thingCreate", status=503)
        assert send(url, "POST", {"name": "d"}, key)[0] == 503
    peer.assert_clean()
    assert [r.json["name"] for r in peer.requests_to("thingCreate")] == ["a", "b", "c", "d"]


def test_the_peer_never_answers_what_the_service_cannot() -> None:
    with OpenAPIPeer(DOC) as peer:
        peer.respond("thingGet", status=429)
        peer.respond("thingCreate", status=200, body={"name": 1})
        send(peer.url + "/things/1")
        send(peer.url + "/things?amount=1", "POST", {"name": "a"}, {"X-Key": "k"})
    assert any("answer 429" in v for v in peer.violations)
    assert any("peer's own 200 answer" in v for v in peer.violations)
    with OpenAPIPeer(DOC, gateway_statuses={429}) as peer:
        peer.respond("thingGet", status=429)
        assert send(peer.url + "/things/1")[0] == 429
    peer.assert_clean()


def test_openapi_31_type_lists_are_json_schema() -> None:
    doc = json.loads(json.dumps(DOC).replace('"nullable": true', '"x-unused": true'))
    doc["openapi"] = "3.1.0"
    doc["components"]["schemas"]["Thing"]["properties"]["note"] = {"type": ["string", "null"]}
    with OpenAPIPeer(doc) as peer:
        url = peer.url + "/things?amount=1"
        assert send(url, "POST", {"name": "a", "note": None}, {"X-Key": "k"})[0] == 200
        assert send(url, "POST", {"name": "a", "note": 5}, {"X-Key": "k"})[0] == 400
    assert len(peer.violations) == 1


def test_the_cve_services_document_with_its_schema_files() -> None:
    spec = shared_path("specs", "cve-services", "api-docs", "openapi.json")
    with OpenAPIPeer.from_file(spec, base_path="/api") as peer:
        auth = {"CVE-API-ORG": "acme", "CVE-API-USER": "u@example.com", "CVE-API-KEY": "k"}
        peer.respond("cveCnaCreateSingle", status=200, body={"message": "ok"})
        good = {
            "cnaContainer": {
                "providerMetadata": {"orgId": "b3476cb9-2e3d-41a6-98d0-0f47421a65b6"},
                "problemTypes": [{"descriptions": [{"lang": "en", "description": "CWE-79"}]}],
                "affected": [
                    {
                        "vendor": "a",
                        "product": "b",
                        "versions": [{"version": "1.0", "status": "affected"}],
                    }
                ],
                "descriptions": [{"lang": "en", "value": "XSS in b."}],
                "references": [{"url": "https://example.com/a"}],
            }
        }
        assert send(peer.url + "/cve/CVE-2026-0001/cna", "POST", good, auth)[0] == 200
        peer.assert_clean()
        bad = {"cnaContainer": {"descriptions": [{"lang": "en", "value": "x"}]}}
        assert send(peer.url + "/cve/CVE-2026-0001/cna", "POST", bad, auth)[0] == 400
        assert any("'affected' is a required property" in v for v in peer.violations), (
            peer.violations
        )
        assert (
            send(peer.url + "/cve-id?amount=1&short_name=acme&cve_year=2026", "POST", None, auth)[0]
            == 200
        )
        assert not any("cve-id" in v for v in peer.violations)

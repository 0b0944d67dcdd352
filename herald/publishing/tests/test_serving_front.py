"""The WSGI front: artifacts answered from the site copy, everything else handed to Django."""

from __future__ import annotations

import gzip
import io
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import brotli
import pytest
from django.conf import settings
from django.test import override_settings

from herald.publication.actions import do_withdraw_advisory
from herald.publishing.site import builders
from herald.publishing.store import serving
from herald.publishing.store.serving import Front, SiteStore, choose_encoding, pack, sync
from herald.test import HeraldTestCase

SECURITY_HEADERS = (
    "Content-Security-Policy",
    "Permissions-Policy",
    "X-Content-Type-Options",
    "Referrer-Policy",
    "Cross-Origin-Opener-Policy",
    "X-Frame-Options",
)


class Response:
    def __init__(self, status: str, headers: list[tuple[str, str]], body: bytes) -> None:
        self.status = int(status.split()[0])
        self.headers = {name.lower(): value for name, value in headers}
        self.body = body


class FallThrough:
    """Stands for Django: records what reached it."""

    def __init__(self) -> None:
        self.paths: list[str] = []

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        self.paths.append(environ["PATH_INFO"])
        start_response("418 I'm a teapot", [("Content-Type", "text/plain")])
        return [b"django"]


class FrontTestCase(HeraldTestCase):
    @pytest.fixture(autouse=True)
    def _site(self, tmp_path: Path) -> None:
        self.store = SiteStore(tmp_path / "site")

    def setUp(self) -> None:
        super().setUp()
        self.advisory = self.published(title="Served as bytes")
        sync(self.store)
        self.django = FallThrough()
        self.front = Front(self.django, store=self.store, cache_bytes=1 << 20)

    def get(
        self, path: str, method: str = "GET", url_scheme: str = "http", **headers: str
    ) -> Response:
        environ: dict[str, Any] = {
            "REQUEST_METHOD": method,
            "PATH_INFO": path,
            "QUERY_STRING": "",
            "SERVER_NAME": "testserver",
            "SERVER_PORT": "80",
            "wsgi.input": io.BytesIO(),
            "wsgi.url_scheme": url_scheme,
        }
        environ.update({f"HTTP_{k.upper()}": v for k, v in headers.items()})
        seen: dict[str, Any] = {}

        def start_response(status: str, response_headers: list[tuple[str, str]]) -> None:
            seen.update(status=status, headers=response_headers)

        body = b"".join(self.front(environ, start_response))
        return Response(seen["status"], seen["headers"], body)

    @property
    def page(self) -> str:
        return f"/security/advisories/{self.advisory.identifier}/"


class ServingTest(FrontTestCase):
    def test_it_serves_an_artifact_with_a_strong_etag_last_modified_and_cache_control(self) -> None:
        response = self.get(self.page)
        assert response.status == 200
        assert b"Served as bytes" in response.body
        assert response.headers["content-type"] == "text/html; charset=utf-8"
        assert response.headers["etag"].startswith('"') and not response.headers["etag"].startswith(
            "W/"
        )
        assert response.headers["last-modified"].endswith(" GMT")
        assert response.headers["cache-control"] == self.front.common[0][1]
        assert response.headers["cache-control"].startswith("public, max-age=")
        assert response.headers["vary"] == "Accept-Encoding"
        assert response.headers["content-length"] == str(len(response.body))
        assert response.headers["x-content-type-options"] == "nosniff"
        assert self.django.paths == []

    def test_it_serves_the_bytes_django_would_render(self) -> None:
        assert self.get(self.page).body == self.client.get(self.page).content
        assert (
            self.get("/security/advisories/").body
            == self.client.get("/security/advisories/").content
        )

    def test_each_artifact_has_its_content_type(self) -> None:
        expected = {
            "/security/advisories/feed.atom": "application/atom+xml; charset=utf-8",
            "/security/advisories/feed.rss": "application/rss+xml; charset=utf-8",
            "/security/advisories.md": "text/markdown; charset=utf-8",
            "/.well-known/security.txt": "text/plain; charset=utf-8",
            "/static/herald/web.css": "text/css; charset=utf-8",
            "/static/herald/favicon.svg": "image/svg+xml",  # linked by every page: no 404
            "/favicon.ico": "image/svg+xml",  # asked for by browsers, feed readers, JSON views
        }
        for path, content_type in expected.items():
            response = self.get(path)
            assert response.status == 200, path
            assert response.headers["content-type"] == content_type, path

    def test_an_artifact_carries_the_security_headers_of_a_django_page(self) -> None:
        served = self.get(self.page).headers
        rendered = self.client.get("/security/report/")  # a page only Django renders
        for name in SECURITY_HEADERS:
            assert served[name.lower()] == rendered[name], name
        assert "style-src 'self'" in served["content-security-policy"]
        assert "camera=()" in served["permissions-policy"]
        assert "strict-transport-security" not in served  # plain HTTP

    def test_over_https_an_artifact_carries_hsts_as_a_django_page_does(self) -> None:
        with override_settings(SECURE_HSTS_SECONDS=31536000, SESSION_COOKIE_SECURE=True):
            self.front = Front(self.django, store=self.store, cache_bytes=1 << 20)
            rendered = self.client.get("/security/report/", secure=True)
            served = self.get(self.page, url_scheme="https").headers
            assert served["strict-transport-security"] == "max-age=31536000"
            assert served["strict-transport-security"] == rendered["Strict-Transport-Security"]
            etag = served["etag"]
            unchanged = self.get(self.page, url_scheme="https", if_none_match=etag)
            assert unchanged.status == 304
            assert unchanged.headers["strict-transport-security"] == "max-age=31536000"
            assert "strict-transport-security" not in self.get(self.page).headers

    def test_a_matching_if_none_match_gets_a_304_without_a_body(self) -> None:
        etag = self.get(self.page).headers["etag"]
        response = self.get(self.page, if_none_match=f'"other", {etag}')
        assert response.status == 304
        assert response.body == b""
        assert response.headers["etag"] == etag
        assert "content-length" not in response.headers
        assert self.get(self.page, if_none_match='"other"').status == 200
        assert self.get(self.page, if_none_match="*").status == 304

    def test_if_modified_since_gets_a_304_until_the_file_changes(self) -> None:
        modified = self.get(self.page).headers["last-modified"]
        assert self.get(self.page, if_modified_since=modified).status == 304
        older = "Mon, 01 Jan 2001 00:00:00 GMT"
        assert self.get(self.page, if_modified_since=older).status == 200
        assert self.get(self.page, if_modified_since="not a date").status == 200
        # If-None-Match wins over If-Modified-Since (RFC 9110 §13.2.2).
        assert self.get(self.page, if_none_match='"x"', if_modified_since=modified).status == 200

    def test_head_has_the_headers_of_get_and_no_body(self) -> None:
        got = self.get(self.page)
        head = self.get(self.page, method="HEAD")
        assert head.status == 200
        assert head.body == b""
        assert head.headers == got.headers

    def test_gzip_and_brotli_are_sent_precompressed_to_clients_that_accept_them(self) -> None:
        plain = self.get(self.page).body
        br = self.get(self.page, accept_encoding="gzip, deflate, br")
        assert br.headers["content-encoding"] == "br"
        assert brotli.decompress(br.body) == plain
        gz = self.get(self.page, accept_encoding="gzip")
        assert gz.headers["content-encoding"] == "gzip"
        assert gzip.decompress(gz.body) == plain
        tags = {self.get(self.page).headers["etag"], br.headers["etag"], gz.headers["etag"]}
        assert len(tags) == 3  # one strong ETag per representation
        assert (
            self.get(self.page, accept_encoding="gzip", if_none_match=gz.headers["etag"]).status
            == 304
        )

    def test_an_encoding_with_q_zero_is_never_chosen(self) -> None:
        assert choose_encoding("br;q=0, gzip") == "gzip"
        assert choose_encoding("gzip;q=0.5, br;q=0.9") == "br"
        assert choose_encoding("*;q=0") == "identity"
        assert choose_encoding("identity") == "identity"
        assert choose_encoding("*") == "br"

    def test_anything_that_is_not_an_artifact_goes_to_django(self) -> None:
        draft = self.draft(title="Embargoed")
        for path in (
            "/desk/",
            "/security/advisories/NW-2026-9999/",
            f"/security/advisories/{draft.identifier}/",
            "/security/advisories",
            "/security/../secret_key",
            "/security/advisories/%2e%2e/",
            "/",
        ):
            assert self.get(path).status == 418, path
        assert self.get("/security/advisories/", method="POST").status == 418
        assert len(self.django.paths) == 8

    def test_a_page_requested_with_a_session_goes_to_django_and_a_feed_does_not(self) -> None:
        cookie = f"{settings.SESSION_COOKIE_NAME}=abc"
        assert self.get(self.page, cookie=cookie).status == 418
        assert self.get("/security/advisories/feed.atom", cookie=cookie).status == 200
        assert self.get(self.page, cookie="theme=dark").status == 200

    def test_a_sync_replaces_what_a_serving_process_holds(self) -> None:
        assert b"Withdrawn" not in self.get(self.page).body  # now cached in the process
        do_withdraw_advisory(self.advisory, acting_user=self.bob, reason="Duplicate.")
        sync(self.store)
        self.front._next_check = 0.0  # the next request looks at STATE now
        assert b"Duplicate." in self.get(self.page).body
        assert b"[Withdrawn]" in self.get("/security/advisories/feed.rss").body

    def test_a_new_machine_or_a_replaced_database_gets_a_full_comparison(self) -> None:
        self.store.write("security/gone.html", pack(b"old", "text/html", "0" * 32, 0))
        self.store.state_path.unlink()
        result = sync(self.store)
        assert result is not None and result.full
        assert result.written == ()  # every bundle already matched its ETag
        assert result.removed == ("security/gone.html",)
        assert self.get("/security/gone.html").status == 418
        assert self.store.bundle_path(builders.INDEX_PATH).is_file()


def test_files_under_a_kilobyte_get_no_compressed_forms() -> None:
    small = b"-----BEGIN PGP SIGNATURE-----\n" + b"iQIzBAABCAAdFiEE" * 40
    assert len(small) < serving.COMPRESS_FROM
    assert serving.compress(small, "application/pgp-signature") == (b"", b"")
    large = small * 3
    gz, br = serving.compress(large, "application/pgp-signature")
    assert gzip.decompress(gz) == large and br

"""Feeds and security.txt as a feed reader, a scanner or a researcher fetches them."""

from __future__ import annotations

import datetime as dt
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import sectxt
from django.conf import settings
from django.utils import timezone

from herald.core.models import Product, VendorProfile
from herald.publication.actions import do_resolve_advisory, do_withdraw_advisory
from herald.publishing.render.securitytxt import parse_security_txt
from herald.publishing.store import signing
from herald.publishing.tests.test_signing import gpg_verify
from herald.test import HeraldTestCase

ATOM = "{http://www.w3.org/2005/Atom}"


class Feeds(HeraldTestCase):
    def test_the_atom_feed_lists_published_advisories_and_never_drafts(self) -> None:
        self.published(title="Public & <escaped>")
        self.draft(title="EMBARGO-CANARY-5512", cve_ids=[])
        response = self.client.get("/security/advisories/feed.atom")
        assert response["Content-Type"].startswith("application/atom+xml")
        body = response.content.decode()
        assert "EMBARGO-CANARY-5512" not in body
        root = ET.fromstring(response.content)
        titles = [e.findtext(f"{ATOM}title") for e in root.iter(f"{ATOM}entry")]
        assert len(titles) == 1
        assert (titles[0] or "").endswith(": Public & <escaped> (CVE-2026-12345)")

    def test_an_update_moves_the_entry_and_keeps_its_id(self) -> None:
        advisory = self.published()
        first = ET.fromstring(self.client.get("/security/advisories/feed.atom").content)
        entry = next(first.iter(f"{ATOM}entry"))
        do_resolve_advisory(advisory, acting_user=self.bob, change_summary="Resolved.")
        second = ET.fromstring(self.client.get("/security/advisories/feed.atom").content)
        updated = next(second.iter(f"{ATOM}entry"))
        assert updated.findtext(f"{ATOM}id") == entry.findtext(f"{ATOM}id")
        assert (updated.findtext(f"{ATOM}updated") or "") > (entry.findtext(f"{ATOM}updated") or "")

    def test_the_site_icon_is_at_the_address_browsers_ask_for_first(self) -> None:
        from django.contrib.staticfiles import finders

        response = self.client.get("/favicon.ico")
        assert response.status_code == 200 and response["Content-Type"] == "image/svg+xml"
        found = finders.find("herald/favicon.svg")
        assert isinstance(found, str)
        assert response.content == Path(found).read_bytes()
        # The CSP lets a page show it: img-src takes 'self'.
        assert "img-src 'self'" in response["Content-Security-Policy"]

    def test_withdrawn_advisories_say_so_in_the_feed(self) -> None:
        do_withdraw_advisory(self.published(), acting_user=self.bob, reason="Duplicate of NW-1.")
        rss = ET.fromstring(self.client.get("/security/advisories/feed.rss").content)
        item = rss.find("channel/item")
        assert item is not None
        assert (item.findtext("title") or "").startswith("[Withdrawn]")
        description = item.findtext("description") or ""
        assert "Withdrawn: Duplicate of NW-1.</p>" in description, description
        assert ".." not in description

    def test_a_product_feed_has_only_that_products_advisories(self) -> None:
        Product.objects.create(name="Other", slug="other")
        self.published(title="Cloud one", affected=[{"product": "cloud"}])
        self.published(title="Other one", cve_ids=[], affected=[{"product": "other"}])
        root = ET.fromstring(
            self.client.get("/security/advisories/products/other/feed.atom").content
        )
        titles = [e.findtext(f"{ATOM}title") or "" for e in root.iter(f"{ATOM}entry")]
        assert len(titles) == 1 and "Other one" in titles[0]
        assert self.client.get("/security/advisories/products/nope/feed.atom").status_code == 404


class SecurityTxt(HeraldTestCase):
    @pytest.fixture(autouse=True)
    def _keydir(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.tmp = tmp_path
        monkeypatch.setitem(settings.HERALD_ENV, "HERALD_SIGNING_KEY_DIR", str(tmp_path / "keys"))

    def test_it_has_the_rfc_9116_fields_and_expires_in_the_future(self) -> None:
        response = self.client.get("/.well-known/security.txt")
        assert response.status_code == 200
        assert response["Content-Type"] == "text/plain; charset=utf-8"
        fields = parse_security_txt(response.content.decode())
        assert "mailto:security@example.com" in fields["contact"]
        expires = dt.datetime.fromisoformat(fields["expires"][0].replace("Z", "+00:00"))
        assert (
            timezone.now() + dt.timedelta(days=80)
            < expires
            < timezone.now() + dt.timedelta(days=365)
        )
        assert fields["canonical"] == ["http://127.0.0.1:8000/.well-known/security.txt"]
        for name in ("encryption", "policy", "acknowledgments", "preferred-languages"):
            assert fields.get(name), name

    @pytest.mark.skipif(shutil.which("gpg") is None, reason="GnuPG is not installed")
    def test_it_is_signed_with_the_published_key(self) -> None:
        signing.do_generate_signing_key(acting_user=self.alice)
        text = self.client.get("/.well-known/security.txt").content.decode()
        assert text.startswith("-----BEGIN PGP SIGNED MESSAGE-----")
        signed = self.tmp / "security.txt"
        signed.write_text(text)
        keys = self.client.get("/security/pgp-key.asc").content.decode()
        assert "Good signature" in gpg_verify(self.tmp, keys, signed)

    def test_the_signed_file_passes_sectxt(self) -> None:
        """sectxt (internet.nl's parser) read the em dash of the comment as a broken
        signed block; the file is ASCII now, and its URIs https on an https site."""
        profile = VendorProfile.get()
        profile.base_url = "https://security.northwind.example"
        profile.save()
        signing.do_generate_signing_key(acting_user=self.alice)
        content = self.client.get("/.well-known/security.txt").content
        assert content.startswith(b"-----BEGIN PGP SIGNED MESSAGE-----")
        assert content.isascii()
        parser = sectxt.Parser(content)
        assert parser.errors == []
        assert parser.is_valid()

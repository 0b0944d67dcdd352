"""Hostile but legitimate text, from every door, through every format Herald writes.

The corpus (``hostile.py``) is published through the actions; the feeds are read
with a raw XML parser and the HTML in them checked for live markup; the handbook
page is rendered by CommonMark with raw HTML allowed and checked the same way;
the page imports back into an empty desk and exports to the same bytes.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import random
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import cast

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.db import transaction
from django.test import override_settings

from herald.advisories.models import Advisory
from herald.advisories.snapshot import AdvisorySnapshot
from herald.core.errors import ValidationError
from herald.intake.actions import do_submit_report
from herald.publication.actions import do_accept_report, do_create_advisory, do_import_documents
from herald.publishing.actions import markdown_page
from herald.publishing.importers.mdimport import FIELD_ORDER, default_headings, parse_page
from herald.publishing.render import mdescape
from herald.publishing.render.markdown import PageContent, render_page
from herald.publishing.render.mdescape import (
    LABELS,
    escape_markdown,
    escape_title,
    unescape_markdown,
    unescape_title,
)
from herald.publishing.store import signing
from herald.publishing.tests.hostile import (
    REFUSED,
    commonmark_html,
    hostile_values,
    html_tags,
    html_text,
    injected,
    live_markup,
    publish_hostile_corpus,
)
from herald.publishing.tests.surfaces_support import CNA_ORG_ID, WiredArtifacts
from herald.test import HeraldTestCase, publishable

ATOM = "{http://www.w3.org/2005/Atom}"


class _Rollback(Exception):
    """Leaves a savepoint so that the desk is empty again, as on a fresh install."""


class HostileCorpusTests(HeraldTestCase):
    def publish(self) -> list[Advisory]:
        return publish_hostile_corpus(acting_user=self.bob, incident=self.declare())

    def test_every_refused_text_is_refused_by_the_action_naming_the_field(self) -> None:
        for field, text, named in REFUSED:
            with self.subTest(field=field, text=text), pytest.raises(ValidationError) as exc:
                do_create_advisory(
                    acting_user=self.bob, incident=self.declare(), **publishable(**{field: text})
                )
            assert named in " ".join(exc.value.message_dict[field])
        assert not Advisory.objects.exists()

    def test_the_cli_refuses_a_bell_in_a_title_with_an_error_not_a_traceback(self) -> None:
        incident = self.declare()
        err = io.StringIO()
        with pytest.raises(CommandError):
            call_command(
                "advisory", "create", "--incident", incident.identifier,
                "--title", "Bell \x07", "--as", "bob", stdout=io.StringIO(), stderr=err,
            )  # fmt: skip
        assert "error: --title: Contains U+0007" in err.getvalue()
        assert not Advisory.objects.exists()

    def test_an_osv_document_with_a_bell_in_its_details_is_refused_naming_file_and_field(
        self,
    ) -> None:
        doc = {
            "schema_version": "1.6.0",
            "id": "GHSA-aaaa-bbbb-cccc",
            "modified": "2024-01-02T00:00:00Z",
            "published": "2024-01-01T00:00:00Z",
            "summary": "A summary",
            "details": "Details with a bell \x07 inside.",
            "affected": [{"package": {"ecosystem": "PyPI", "name": "hostile"},
                          "ranges": [{"type": "ECOSYSTEM",
                                      "events": [{"introduced": "0"}, {"fixed": "1.0"}]}]}],
        }  # fmt: skip
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "bell.json"
            path.write_text(json.dumps(doc), encoding="utf-8")
            err = io.StringIO()
            with pytest.raises(CommandError) as caught:
                call_command("import", "osv", str(path), stdout=io.StringIO(), stderr=err)
        assert caught.value.returncode == 2
        assert "bell.json" in err.getvalue() and "U+0007" in err.getvalue()
        assert "Traceback" not in err.getvalue()
        assert not Advisory.objects.exists()

    def test_a_mailed_report_keeps_its_text_and_accepting_it_gives_a_clean_title(self) -> None:
        report = do_submit_report(
            source="email", email="eve@example.com", title="Crash \x1b[31m on \u202eupload",
            body="Terminal output: \x1b[31mred\x1b[0m", strict=False, acknowledge=False,
        )  # fmt: skip
        assert "\x1b[31mred" in report.body
        assert report.title == "Crash \u241b[31m on \ufffdupload"
        do_accept_report(report, acting_user=self.bob, declare_incident=True)
        assert Advisory.objects.get().title == report.title

    def test_the_report_form_and_api_refuse_a_control_character_in_the_title(self) -> None:
        with pytest.raises(ValidationError) as exc:
            do_submit_report(source="web", email="eve@example.com", title="Bell \x07", body="b")
        assert "U+0007" in exc.value.message_dict["title"][0]

    def test_the_corpus_publishes_and_every_public_page_and_file_renders(self) -> None:
        advisories = self.publish()
        urls = [
            "/security/advisories/",
            "/security/advisories.md",
            "/security/advisories/feed.atom",
            "/security/advisories/feed.rss",
            "/security/advisories/products/hostile-0/feed.atom",
        ] + [f"/security/advisories/{a.identifier}/" for a in advisories]
        for url in urls:
            with self.subTest(url):
                response = self.client.get(url)
                assert response.status_code == 200
                if response["Content-Type"].startswith("text/html"):
                    assert injected(response.content.decode()) == []
        self.client.force_login(cast(User, self.bob))
        for advisory in advisories:
            response = self.client.get(f"/desk/advisories/{advisory.identifier}/")
            assert response.status_code == 200
            assert injected(response.content.decode()) == []

    def test_an_imported_product_name_with_a_control_character_names_its_file(self) -> None:
        doc = {
            "schema_version": "1.6.0",
            "id": "GHSA-aaaa-bbbb-dddd",
            "modified": "2024-01-02T00:00:00Z",
            "published": "2024-01-01T00:00:00Z",
            "summary": "A summary",
            "details": "Details.",
            "affected": [{"package": {"ecosystem": "PyPI", "name": "host\x1bile"},
                          "ranges": [{"type": "ECOSYSTEM",
                                      "events": [{"introduced": "0"}, {"fixed": "1.0"}]}]}],
        }  # fmt: skip
        with pytest.raises(ValidationError) as exc:
            do_import_documents(
                [("esc.json", json.dumps(doc).encode())], "osv", acting_user=self.bob
            )
        assert "U+001B" in " ".join(exc.value.message_dict["esc.json"])
        assert not Advisory.objects.exists()

    def test_feeds_parse_as_xml_and_their_html_has_no_live_markup(self) -> None:
        advisories = self.publish()
        atom = ET.fromstring(self.client.get("/security/advisories/feed.atom").content)
        summaries = [e.findtext(f"{ATOM}summary") or "" for e in atom.iter(f"{ATOM}entry")]
        titles = [e.findtext(f"{ATOM}title") or "" for e in atom.iter(f"{ATOM}entry")]
        rss = ET.fromstring(self.client.get("/security/advisories/feed.rss").content)
        summaries += [i.findtext("description") or "" for i in rss.iter("item")]
        assert len(summaries) == 2 * len(advisories)
        for html in summaries:
            assert live_markup(html) == [], html
            assert set(html_tags(html)) <= {"p"}, html
        assert any("<script>alert(1)</script>" in t for t in titles)  # text, shown as written
        shown = [html_text(html) for html in summaries]
        assert any('Withdrawn: <img src=x onerror="alert(2)">' in s for s in shown)
        assert any("Products: <b>Product</b> 0 & \"Co\" ]]> 'x'" in s for s in shown)
        assert any("]]></summary><entry>" in s for s in shown)

    def test_the_handbook_page_has_no_live_markup_and_keeps_its_structure(self) -> None:
        advisories = self.publish()
        html = commonmark_html(markdown_page())
        assert live_markup(html) == []
        headings = [t for t in html_tags(html) if t in ("h1", "h2", "h3", "h4", "h5", "h6")]
        # Four prose sections, then current advisories (five) and past ones (the
        # withdrawn one and the template), an h3 each: no heading from the text.
        assert headings == ["h2"] * 5 + ["h3"] * 5 + ["h2"] + ["h3"] * 2
        # One label of each kind per advisory; the template's are in its code block.
        assert html.count("<strong>Status:</strong>") == len(advisories)
        assert html.count("<strong>Resolution:</strong>") == len(advisories)
        assert html.count("<strong>Timeline:</strong>") == len(advisories)
        assert "<h3>&lt;script&gt;alert(1)&lt;/script&gt; &lt;img src=x" in html

    def test_the_page_imports_into_an_empty_desk_and_exports_to_the_same_bytes(self) -> None:
        try:
            with transaction.atomic():
                self.publish()
                page = markdown_page()
                raise _Rollback
        except _Rollback:
            pass
        assert not Advisory.objects.exists()
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "page.md"
            path.write_text(page, encoding="utf-8")
            call_command("import", "markdown", str(path), stdout=io.StringIO())
        assert Advisory.objects.count() == len(hostile_values())
        assert markdown_page() == page

    def test_importing_its_own_page_again_changes_nothing(self) -> None:
        self.publish()
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "page.md"
            path.write_text(markdown_page(), encoding="utf-8")
            out = io.StringIO()
            call_command("import", "markdown", str(path), stdout=out)
        assert out.getvalue().startswith("Nothing to change"), out.getvalue()


@override_settings(HERALD_CNA_ORG_ID=CNA_ORG_ID)
class HostileSiteTests(WiredArtifacts, HeraldTestCase):
    """Every file of the site, as published with a signing key, for the corpus."""

    @pytest.fixture(autouse=True)
    def _keys(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setitem(settings.HERALD_ENV, "HERALD_SIGNING_KEY_DIR", str(tmp_path / "keys"))

    def setUp(self) -> None:
        super().setUp()
        signing.do_generate_signing_key(acting_user=None)

    def test_the_site_export_writes_files_that_parse_and_herald_validate_passes(self) -> None:
        publish_hostile_corpus(acting_user=self.bob, incident=self.declare())
        with tempfile.TemporaryDirectory() as tmp:
            call_command("export", "site", tmp, "--no-compress", stdout=io.StringIO())
            written = [p for p in Path(tmp).rglob("*") if p.is_file()]
            for path in written:
                if path.suffix == ".json":
                    json.loads(path.read_bytes())
                elif path.suffix in (".atom", ".rss", ".xml"):
                    ET.fromstring(path.read_bytes())
        assert any(p.suffix == ".json" for p in written)
        out, err = io.StringIO(), io.StringIO()
        try:
            call_command("validate", stdout=out, stderr=err)
        except CommandError:
            raise AssertionError(out.getvalue() + err.getvalue()) from None
        assert " 0 problem(s)" in out.getvalue(), out.getvalue() + err.getvalue()


# ---------------------------------------------------------------- the escapes alone

PIECES = (
    "<", ">", "\\", "`", "```", "~~~", "#", "## ", "### ", "**", "*", "_", "[", "]", "(",
    ")", "!", "&", "&amp;", ";", "-", "---", "===", "> ", "- ", "1. ", "    ", "\n", "\n\n",
    "**Status:**", "**Timeline:** ", "<b>", "</script>", "<https://x.y>", "word", " ", "é", "🔥",
)  # fmt: skip


def _rng(seed: int) -> random.Random:
    # Fuzzing, not secrets: a fixed seed keeps every run the same.
    return random.Random(seed)  # noqa: S311


def _fuzz(rng: random.Random) -> str:
    return "".join(rng.choice(PIECES) for _ in range(rng.randint(1, 30)))


def _field(rng: random.Random) -> str:
    text = _fuzz(rng).strip("\n")
    return text if text.strip() else "x"


def test_the_escaper_knows_every_label_the_importer_reads() -> None:
    assert set(LABELS) == set(FIELD_ORDER)


def test_titles_come_back_exactly_from_their_escaped_form() -> None:
    rng = _rng(12)
    for _ in range(2000):
        title = " ".join(_fuzz(rng).split()) or "x"
        assert unescape_title(escape_title(title)) == title, title


def test_markdown_escapes_settle_and_survive_a_round_trip_through_the_page() -> None:
    rng = _rng(7)
    for _ in range(600):
        text = _fuzz(rng).strip("\n") or "x"
        escaped = escape_markdown(text)
        assert escape_markdown(escaped) == escaped, text
        assert escape_markdown(unescape_markdown(escaped)) == escaped, text
        assert live_markup(commonmark_html(escaped)) == [], text


def test_a_fuzzed_advisory_renders_parses_and_renders_to_the_same_page() -> None:
    rng = _rng(3)
    for _ in range(300):
        snapshot = AdvisorySnapshot.build(
            identifier="NW-2026-0001",
            title=" ".join(_fuzz(rng).split()) or "x",
            state="published",
            status="reported",
            severity="high",
            description=_field(rng),
            affected_users=_field(rng),
            resolution=_fuzz(rng).strip("\n"),
            reported_at=dt.date(2026, 1, 2),
            published_at=dt.datetime(2026, 1, 3, tzinfo=dt.UTC),
        )
        content = PageContent(**{f"{k}_heading": v[0] for k, v in default_headings().items()})
        page = render_page(content, [snapshot], [])
        parsed = parse_page(page)
        again = render_page(content, [parsed.current[0].snapshot("NW-2026-0001")], [])
        assert again == page, snapshot


def test_a_text_whose_escapes_would_not_settle_loses_its_code_blocks_not_the_page(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(mdescape, "_MAX_PASSES", 1)
    text = "```\n## Past advisories\n<b>\n```\n~~~\n<i>"
    escaped = escape_markdown(text)
    assert escaped == "\\```\n\\## Past advisories\n\\<b>\n\\```\n\\~~~\n\\<i>"
    assert escape_markdown(escaped) == escaped

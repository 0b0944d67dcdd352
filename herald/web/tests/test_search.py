"""Desk search: identifiers, CVE ids, titles and text, over advisories, reports and incidents."""

from __future__ import annotations

import pytest
from django.db import connection

from herald.intake.actions import do_submit_report
from herald.publication.actions import do_update_advisory
from herald.web.search import POSTGRES_VECTOR, engine, fts5_query, search
from herald.web.tests.base import WebTestCase


class SearchTest(WebTestCase):
    def test_it_finds_an_advisory_by_identifier_cve_title_and_text(self) -> None:
        a = self.published(
            title="Stored XSS in dashboard names",
            description="A crafted widget label runs script for every viewer.",
            cve_ids=["CVE-2026-31337"],
        )
        self.published(title="Unrelated token leak", cve_ids=["CVE-2026-40000"])
        for query in (a.identifier, a.identifier.lower(), "CVE-2026-31337", "dashboard xss",
                      "crafted widget", "dashb"):  # fmt: skip
            found = [h.identifier for h in search(query).advisories]
            assert found[:1] == [a.identifier], (query, found)

    def test_the_index_follows_edits(self) -> None:
        draft = self.draft(title="Open redirect in login")
        assert [h.identifier for h in search("redirect").advisories] == [draft.identifier]
        do_update_advisory(draft, acting_user=self.bob, title="Header injection in login")
        assert search("redirect").advisories == []
        assert [h.identifier for h in search("injection").advisories] == [draft.identifier]

    def test_drafts_are_found_on_the_desk_but_the_page_is_staff_only(self) -> None:
        draft = self.draft(title="Embargoed RCE in importer")
        self.assertContains(self.client.get("/desk/search/?q=importer"), draft.identifier)
        assert self.client_for(self.charlie).get("/desk/search/?q=importer").status_code == 403
        self.client.logout()
        assert self.client.get("/desk/search/?q=importer").status_code == 302

    def test_it_finds_reports_and_incidents(self) -> None:
        incident = self.declare("Credential stuffing wave")
        report = do_submit_report(
            source="web",
            email="ada@researcher.example",
            title="Password reset poisoning",
            body="The Host header decides the reset link.",
            acknowledge=False,
        )
        results = search("stuffing")
        assert [h.identifier for h in results.incidents] == [incident.identifier]
        assert [h.identifier for h in search("host header").reports or []] == [report.tracking_id]
        assert [h.identifier for h in search(report.tracking_id).reports or []] == [
            report.tracking_id
        ]

    def test_go_opens_the_one_match(self) -> None:
        a = self.published()
        response = self.client.get(f"/desk/search/?q={a.identifier}&go=1")
        assert response.status_code == 302
        assert response["Location"] == f"/desk/advisories/{a.identifier}/"

    def test_hostile_input_is_only_text(self) -> None:
        self.published(title='Quote " and star * in a title')
        for query in ('"', "*", "NEAR(a b)", "a OR", "') OR 1=1 --", "x" * 5000, "-"):
            response = self.client.get("/desk/search/", {"q": query})
            assert response.status_code == 200, query
        # A NUL is refused before any view, with a page that says where it was.
        response = self.client.get("/desk/search/", {"q": "\x00"})
        assert response.status_code == 400 and b"NUL" in response.content
        assert fts5_query('say "hi"') == '"say"* """hi"""*'

    def test_postgresql_uses_the_gin_index(self) -> None:
        if connection.vendor != "postgresql":
            pytest.skip("the GIN index exists on PostgreSQL only")
        assert engine() == "postgresql"
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute(
                f"EXPLAIN SELECT id FROM advisories_advisory WHERE {POSTGRES_VECTOR} "  # noqa: S608
                "@@ to_tsquery('english'::regconfig, %s)",
                ["xss:*"],
            )
            plan = "\n".join(row[0] for row in cursor.fetchall())
        assert "web_advisory_search" in plan, plan

    def test_sqlite_uses_fts5(self) -> None:
        if connection.vendor != "sqlite":
            pytest.skip("FTS5 is SQLite's")
        assert engine() == "fts5"

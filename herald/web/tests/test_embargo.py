"""DESIGN.md rule 3 on the web: a draft reaches no public page, not even through a 404."""

from __future__ import annotations

import datetime as dt

from django.test import Client
from django.utils import timezone

from herald.web.tests.base import WebTestCase

SECRET = "ZEBRA-EMBARGO-7731"


class EmbargoTest(WebTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.secret = self.draft(
            title=f"Remote code execution {SECRET}",
            description=f"Details {SECRET} under embargo.",
            cve_ids=["CVE-2026-99999"],
            embargo_until=timezone.now() + dt.timedelta(days=7),
        )
        self.public = self.published(title="An older public advisory")
        self.visitor = Client()

    def test_a_draft_never_appears_on_the_public_index(self) -> None:
        html = self.visitor.get("/security/advisories/").content.decode()
        assert "An older public advisory" in html
        assert SECRET not in html
        assert self.secret.identifier not in html
        assert "CVE-2026-99999" not in html

    def test_a_drafts_page_answers_exactly_like_a_random_identifier(self) -> None:
        draft = self.visitor.get(f"/security/advisories/{self.secret.identifier}/")
        random = self.visitor.get("/security/advisories/NW-2026-9876/")
        assert draft.status_code == 404
        assert random.status_code == 404
        assert draft.content == random.content
        assert draft["Content-Type"] == random["Content-Type"]
        assert SECRET.encode() not in draft.content
        assert self.secret.identifier.encode() not in draft.content

    def test_a_drafts_cve_id_answers_exactly_like_an_unknown_one(self) -> None:
        draft = self.visitor.get("/security/advisories/CVE-2026-99999/")
        unknown = self.visitor.get("/security/advisories/CVE-2026-11111/")
        assert draft.status_code == 404
        assert draft.content == unknown.content

    def test_a_signed_in_responder_gets_the_same_404_on_the_public_site(self) -> None:
        # Staff see drafts on the desk (preview), never on the public address.
        draft = self.client.get(f"/security/advisories/{self.secret.identifier}/")
        random = self.client.get("/security/advisories/NW-2026-9876/")
        assert draft.status_code == 404
        assert draft.content == random.content

    def test_the_preview_of_a_draft_is_for_the_desk_only(self) -> None:
        url = f"/desk/advisories/{self.secret.identifier}/preview/"
        self.assertRedirects(
            self.visitor.get(url), f"/desk/login/?next={url}", fetch_redirect_response=False
        )
        response = self.client.get(url)
        self.assertContains(response, "<strong>PREVIEW</strong>")
        self.assertContains(response, '<meta name="robots" content="noindex">')
        self.assertContains(response, SECRET)
        assert response["X-Robots-Tag"] == "noindex"
        assert "no-cache" in response["Cache-Control"]

"""The advisory's desk page: link a repository, see what GitHub said and what is pending."""

from __future__ import annotations

from django.test import override_settings

from herald.advisories.models import Advisory
from herald.github.models import RepositoryLink
from herald.github.tests.peer import advisory_answer, answer_now, github_peer, settings_for
from herald.github.tests.test_repository_advisory import CREATE, drain
from herald.publication.actions import do_update_advisory
from herald.web.tests.base import WebTestCase, section


class DeskTests(WebTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.peer = github_peer()
        overridden = override_settings(**settings_for(self.peer))
        overridden.enable()
        self.addCleanup(overridden.disable)

    def test_a_responder_links_a_repository_and_sees_githubs_answer(self) -> None:
        advisory = self.draft(cve_ids=[])
        page = f"/desk/advisories/{advisory.identifier}/"
        assert "Link a repository" in section(self.client.get(page).content.decode(), "github")
        response = self.client.post(
            page + "github/", {"version": advisory.version, "repository": "northwind/sdk"}
        )
        assert response.status_code == 302
        html = section(self.client.get(page).content.decode(), "github")
        assert "northwind/sdk" in html and "not created there yet" in html
        assert "pending" in html
        answer_now(self.peer, CREATE, status=201, body=advisory_answer(state="draft", cve_id=None))
        drain()
        self.peer.assert_clean()
        html = section(self.client.get(page).content.decode(), "github")
        assert "GHSA-abcd-1234-efgh" in html and "(draft)" in html
        assert "Request a CVE from GitHub" in html
        # Once the advisory has its CVE (from CVE Services, say), GitHub's CNA is not offered.
        do_update_advisory(
            Advisory.objects.get(pk=advisory.pk), acting_user=self.bob, cve_ids=["CVE-2050-12345"]
        )
        html = section(self.client.get(page).content.decode(), "github")
        assert "Request a CVE from GitHub" not in html
        # The publish page says what the worker does on GitHub.
        publish = self.client.get(page + "publish/").content.decode()
        assert "GitHub: the repository advisory GHSA-abcd-1234-efgh on northwind/sdk is " in publish

    def test_a_bad_repository_is_named_on_the_form(self) -> None:
        advisory = self.draft()
        response = self.client.post(
            f"/desk/advisories/{advisory.identifier}/github/",
            {"version": advisory.version, "repository": "not a repository"},
        )
        assert response.status_code == 400
        assert "is not a GitHub repository" in response.content.decode()
        assert not RepositoryLink.objects.exists()

    def test_a_failed_call_shows_why_and_when_it_is_tried_again(self) -> None:
        advisory = self.draft()
        self.client.post(
            f"/desk/advisories/{advisory.identifier}/github/",
            {"version": advisory.version, "repository": "northwind/sdk"},
        )
        answer_now(self.peer, CREATE, status=503, body={"message": "unavailable"})
        drain()
        html = section(
            self.client.get(f"/desk/advisories/{advisory.identifier}/").content.decode(), "github"
        )
        assert "failed" in html and "HTTP 503" in html
        self.peer.assert_clean()

    def test_an_answers_link_that_is_not_http_never_becomes_a_link(self) -> None:
        advisory = self.draft()
        self.client.post(
            f"/desk/advisories/{advisory.identifier}/github/",
            {"version": advisory.version, "repository": "northwind/sdk"},
        )
        hostile = advisory_answer(state="draft", cve_id=None, html_url="javascript:alert(1)")
        answer_now(self.peer, CREATE, status=201, body=hostile)
        drain()
        assert RepositoryLink.objects.get().html_url == ""
        html = self.client.get(f"/desk/advisories/{advisory.identifier}/").content.decode()
        assert "javascript:" not in html and "GHSA-abcd-1234-efgh" in html

    def test_a_cve_request_shows_when_github_is_asked_next_or_that_it_is_not(self) -> None:
        from django_tasks_db.models import DBTaskResult

        from herald.publication.actions import do_request_github_cve

        advisory = self.draft(cve_ids=[])
        page = f"/desk/advisories/{advisory.identifier}/"
        self.client.post(page + "github/", {"version": advisory.version, "repository": "o/r"})
        answer_now(self.peer, CREATE, status=201, body=advisory_answer(state="draft", cve_id=None))
        drain()
        with self.captureOnCommitCallbacks(execute=True):
            do_request_github_cve(Advisory.objects.get(pk=advisory.pk), acting_user=self.bob)
        (look,) = DBTaskResult.objects.filter(task_path__endswith="take_github_cve")
        html = section(self.client.get(page).content.decode(), "github")
        assert f"Herald asks GitHub again at {look.run_after:%Y-%m-%d %H:%M} UTC" in html
        DBTaskResult.objects.filter(pk=look.pk).delete()  # the looks ran out
        html = section(self.client.get(page).content.decode(), "github")
        assert "Herald no longer asks by itself; press Ask GitHub now" in html

    def test_without_a_token_nothing_is_linked_and_the_desk_says_what_to_set(self) -> None:
        advisory = self.draft()
        page = f"/desk/advisories/{advisory.identifier}/"
        with override_settings(HERALD_GITHUB_TOKEN=""):
            html = section(self.client.get(page).content.decode(), "github")
            assert "HERALD_GITHUB_TOKEN is not set" in html and "Link a repository" not in html
            response = self.client.post(
                page + "github/", {"version": advisory.version, "repository": "northwind/sdk"}
            )
            assert response.status_code == 400
            assert "HERALD_GITHUB_TOKEN is not set" in response.content.decode()
        assert not RepositoryLink.objects.exists()
        self.peer.assert_clean()
        assert self.peer.requests == []

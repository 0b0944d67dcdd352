"""Issue 16's "done when", walked on the desk: a responder takes an advisory from draft to
a published CVE record, a published GitHub repository advisory and an open handbook pull
request without leaving Herald. CVE Services and GitHub are loopback peers that check
every request against the services' official OpenAPI descriptions."""

from __future__ import annotations

import io
import subprocess
import tempfile
from pathlib import Path

from django.core.management import call_command
from django.test import override_settings

from herald.advisories.models import Advisory
from herald.cna.tests.test_cve_services import (
    cna_settings,
    cve_services,
    record_answer,
    reserved_answer,
)
from herald.github.models import HandbookPullRequest, RepositoryLink
from herald.github.tests.peer import advisory_answer, answer_now, github_peer, settings_for
from herald.github.tests.test_handbook_pull_request import CREATE as PULL_CREATE
from herald.github.tests.test_handbook_pull_request import pull_answer
from herald.github.tests.test_repository_advisory import CREATE, UPDATE, drain
from herald.publishing.tests.test_markdown_git import PAGE, git, make_repo
from herald.web.tests.base import WebTestCase, form_data, section

CVE = "CVE-2026-50900"


class IssueACveJourneyTest(WebTestCase):
    def test_draft_to_cve_record_github_advisory_and_handbook_pull_request(self) -> None:
        scratch = tempfile.TemporaryDirectory(prefix="herald-journey-")
        self.addCleanup(scratch.cleanup)
        remote = Path(scratch.name) / "website.git"
        subprocess.run(["git", "init", "--quiet", "--bare", str(remote)], check=True)
        site = make_repo(Path(scratch.name) / "site")
        git(site, "remote", "add", "origin", str(remote))
        git(site, "push", "--quiet", "origin", "main")
        github = github_peer()
        handbook = override_settings(
            HERALD_HANDBOOK_GIT_REPO=str(site),
            HERALD_HANDBOOK_PAGE=PAGE,
            HERALD_HANDBOOK_REPOSITORY="northwind/website",
        )
        with (
            cve_services() as cna,
            cna_settings(cna.url),
            override_settings(**settings_for(github)),
            handbook,
        ):
            # 1. Reserve the CVE id at CVE Services.
            cna.respond("cveIdReserve", status=200, body=reserved_answer(CVE))
            call_command("cve", "reserve", "--year", "2026", "--as", "alice", stdout=io.StringIO())
            # 2. Write the draft with it, and keep it on the SDK's repository.
            incident = self.declare("Stored XSS in dashboards")
            draft = self.draft(incident, cve_ids=[CVE])
            desk = f"/desk/advisories/{draft.identifier}/"
            response = self.client.post(
                desk + "github/", {"version": draft.version, "repository": "northwind/sdk"}
            )
            assert response.status_code == 302
            answer_now(github, CREATE, status=201, body=advisory_answer(state="draft", cve_id=None))
            assert drain()["sent"] == 1
            # 3. Publish from the desk, told first what goes to CVE Services and GitHub.
            page = self.client.get(desk + "publish/")
            text = page.content.decode()
            assert f"CVE Services: the record of {CVE} is published by the worker" in text
            assert "GitHub: the repository advisory GHSA-abcd-1234-efgh on northwind/sdk" in text
            response = self.client.post(desk + "publish/", form_data(page))
            assert response.status_code == 302
            published = Advisory.objects.get(pk=draft.pk)
            assert published.state == "published"
            # 4. The worker sends both; neither held the publication up.
            cna.respond("cveCnaCreateSingle", body=record_answer(CVE, "PUBLISHED"))
            answer_now(github, UPDATE, status=200, body=advisory_answer(state="published"))
            assert drain()["sent"] == 2
            html = self.client.get(f"/desk/advisories/{published.identifier}/").content.decode()
            assert "Published at CVE Services." in section(html, "cve-services")
            assert "GHSA-abcd-1234-efgh</a> (published)" in section(html, "github")
            assert RepositoryLink.objects.get().state == "published"
            # 5. The handbook page as a pull request, from the incident's page.
            answer_now(github, PULL_CREATE, status=201, body=pull_answer(number=42, state="open"))
            incident_page = f"/desk/incidents/{incident.identifier}/"
            self.client.post(incident_page + "handbook-pull-request/")
            pull = HandbookPullRequest.objects.get()
            html = section(self.client.get(incident_page).content.decode(), "pull-requests")
            assert pull.html_url in html and "open" in html
        # Every request went by the services' own descriptions.
        cna.assert_clean()
        github.assert_clean()
        (posted,) = cna.requests_to("cveCnaCreateSingle")
        assert posted.path == f"/api/cve/{CVE}/cna"
        (publish,) = github.requests_to(UPDATE)
        assert publish.json["state"] == "published" and publish.json["cve_id"] == CVE
        (opened,) = github.requests_to(PULL_CREATE)
        assert incident.identifier in opened.json["title"]
        assert git(remote, "rev-parse", pull.branch) == git(site, "rev-parse", "HEAD")

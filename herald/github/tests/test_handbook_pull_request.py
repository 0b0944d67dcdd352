"""The handbook page as a pull request: committed on a branch, pushed to the checkout's
remote (a local bare repository here), opened on GitHub with the incident named, its
link and state kept on the incident."""

from __future__ import annotations

import subprocess
import tempfile
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.test import override_settings

from herald.core.errors import HeraldError
from herald.github.models import HandbookPullRequest
from herald.github.pulls import do_open_handbook_pull_request, do_refresh_pull_requests
from herald.github.tests.peer import answer_now, example, github_peer, settings_for
from herald.publishing.tests.test_markdown_git import PAGE, git, make_repo
from herald.web.tests.base import WebTestCase, section

CREATE = "pulls/create"
GET = "pulls/get"


def pull_answer(**changes: Any) -> dict[str, Any]:
    answer = example("pull-request")
    # GitHub's example lists teams without the "type" its schema requires, and is merged.
    answer.update(requested_teams=[], merged=False, merged_at=None)
    answer.update(changes)
    return answer


class HandbookPullRequestTests(WebTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.peer = github_peer()
        overridden = override_settings(**settings_for(self.peer))
        overridden.enable()
        self.addCleanup(overridden.disable)
        scratch = tempfile.TemporaryDirectory(prefix="herald-pr-")
        self.addCleanup(scratch.cleanup)
        root = Path(scratch.name)
        self.remote = root / "website.git"
        subprocess.run(["git", "init", "--quiet", "--bare", str(self.remote)], check=True)
        self.site = make_repo(root / "site")
        git(self.site, "remote", "add", "origin", str(self.remote))
        git(self.site, "push", "--quiet", "origin", "main")
        self.incident = self.declare("Token leak in logs")
        self.published(self.incident)

    def open(self) -> HandbookPullRequest:
        return do_open_handbook_pull_request(
            repo_dir=self.site,
            rel_path=PAGE,
            incident=self.incident,
            repository="northwind/website",
            acting_user=self.bob,
        )

    def test_the_branch_is_pushed_and_the_pull_request_names_the_incident(self) -> None:
        answer_now(self.peer, CREATE, status=201, body=pull_answer(number=42, state="open"))
        pull = self.open()
        self.peer.assert_clean()
        (sent,) = self.peer.requests_to(CREATE)
        assert sent.path == "/repos/northwind/website/pulls"
        assert self.incident.identifier in sent.json["title"]
        assert "Token leak in logs" in sent.json["title"]
        assert self.incident.identifier in sent.json["body"]
        assert sent.json["base"] == "main"
        assert sent.json["head"] == pull.branch and pull.branch.startswith("herald/")
        # The bare remote has the branch, with the page.
        assert git(self.remote, "rev-parse", pull.branch) == git(self.site, "rev-parse", "HEAD")
        assert (pull.number, pull.state) == (42, "open")
        html = section(
            self.client.get(f"/desk/incidents/{self.incident.identifier}/").content.decode(),
            "pull-requests",
        )
        assert pull.html_url in html and "open" in html

    def test_its_state_is_read_again(self) -> None:
        answer_now(self.peer, CREATE, status=201, body=pull_answer(number=42, state="open"))
        self.open()
        answer_now(
            self.peer,
            GET,
            status=200,
            body=pull_answer(number=42, state="closed", merged=True),
        )
        (pull,) = do_refresh_pull_requests(self.incident, acting_user=self.bob)
        self.peer.assert_clean()
        assert self.peer.requests_to(GET)[0].path == "/repos/northwind/website/pulls/42"
        assert pull.shown_state == "merged"

    def test_a_refusal_keeps_the_pushed_branch_and_says_how_to_try_again(self) -> None:
        answer_now(
            self.peer,
            CREATE,
            status=422,
            body={"message": "Validation Failed", "documentation_url": "https://docs.github.com",
                  "errors": [{"resource": "PullRequest", "code": "custom",
                              "message": "No commits between main and herald/x"}]},
        )  # fmt: skip
        with pytest.raises(HeraldError, match=r"is pushed.*handbook-refresh"):
            self.open()
        pull = HandbookPullRequest.objects.get()
        assert pull.number is None and "No commits" in pull.last_answer
        answer_now(self.peer, CREATE, status=201, body=pull_answer(number=7, state="open"))
        (pull,) = do_refresh_pull_requests(self.incident, acting_user=self.bob)
        assert pull.number == 7
        self.peer.assert_clean()

    def test_the_command_prints_the_link(self) -> None:
        answer_now(self.peer, CREATE, status=201, body=pull_answer(number=42, state="open"))
        out = StringIO()
        call_command(
            "github", "handbook", "northwind/website", "--git-repo", str(self.site),
            "--path", PAGE, "--incident", self.incident.identifier, "--as", "bob", stdout=out,
        )  # fmt: skip
        assert "(open)" in out.getvalue() and "github.com" in out.getvalue()
        self.peer.assert_clean()

    def handbook_settings(self) -> Any:
        return override_settings(
            HERALD_HANDBOOK_GIT_REPO=str(self.site),
            HERALD_HANDBOOK_PAGE=PAGE,
            HERALD_HANDBOOK_REPOSITORY="northwind/website",
        )

    def test_the_desk_opens_it_and_reads_its_state_without_leaving_herald(self) -> None:
        page = f"/desk/incidents/{self.incident.identifier}/"
        # Not configured: no button, and the endpoint says which settings to give.
        assert "Open the handbook pull request" not in self.client.get(page).content.decode()
        response = self.client.post(page + "handbook-pull-request/", follow=True)
        assert "Set HERALD_HANDBOOK_GIT_REPO" in response.content.decode()
        with self.handbook_settings():
            html = section(self.client.get(page).content.decode(), "pull-requests")
            assert "Open the handbook pull request" in html and "northwind/website" in html
            answer_now(self.peer, CREATE, status=201, body=pull_answer(number=42, state="open"))
            response = self.client.post(page + "handbook-pull-request/", follow=True)
            pull = HandbookPullRequest.objects.get()
            assert f"Pull request opened: {pull.html_url}" in response.content.decode()
            assert git(self.remote, "rev-parse", pull.branch) == git(self.site, "rev-parse", "HEAD")
            answer_now(self.peer, GET, status=200, body=pull_answer(number=42, state="closed",
                                                                    merged=True))  # fmt: skip
            response = self.client.post(page + "handbook-pull-request/refresh/", follow=True)
            assert "#42 merged" in response.content.decode()
        self.peer.assert_clean()
        assert HandbookPullRequest.objects.get().shown_state == "merged"

    def test_github_refusing_it_is_said_on_the_desk_in_plain_words(self) -> None:
        answer_now(self.peer, CREATE, status=503, body={"message": "Service unavailable"})
        with self.handbook_settings():
            response = self.client.post(
                f"/desk/incidents/{self.incident.identifier}/handbook-pull-request/", follow=True
            )
        html = response.content.decode()
        assert response.status_code == 200 and "handbook-refresh" in html
        assert "Traceback" not in html
        self.peer.assert_clean()

    def test_the_command_takes_what_the_settings_give_and_names_what_is_missing(self) -> None:
        from django.core.management.base import CommandError

        with pytest.raises(CommandError) as caught:
            call_command("github", "handbook", "--incident", self.incident.identifier,
                         "--as", "bob")  # fmt: skip
        message = str(caught.value)
        for setting in (
            "HERALD_HANDBOOK_REPOSITORY",
            "HERALD_HANDBOOK_GIT_REPO",
            "HERALD_HANDBOOK_PAGE",
        ):
            assert setting in message
        answer_now(self.peer, CREATE, status=201, body=pull_answer(number=42, state="open"))
        out = StringIO()
        with self.handbook_settings():
            call_command("github", "handbook", "--incident", self.incident.identifier,
                         "--as", "bob", stdout=out)  # fmt: skip
        assert "(open)" in out.getvalue()
        self.peer.assert_clean()
